"""Replay one LabCase: certificates, bootstraps, the app, the Envoys, one request, then stop all.

Everything listens on 127.0.0.1 only. Everything started is stopped in `finally`, which also
runs on Ctrl-C (KeyboardInterrupt). Without `keep`, the lab directory (with the private keys) is
a fresh temporary directory with mode 0700 that is removed at the end.
"""

from __future__ import annotations

import contextlib
import errno
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import msgspec

from mtls_doctor.lab import bootstrap as bs
from mtls_doctor.lab.apps import ClientResult, EchoApp, send
from mtls_doctor.lab.case import LabCase, SimpleTls, encode_case
from mtls_doctor.lab.envoyproc import (
    LabError,
    envoy_command,
    find_envoy,
    settled_stats,
    start,
    stop,
    wait_ready,
)
from mtls_doctor.lab.logs import LogLine, evidence, read_access_log
from mtls_doctor.lab.pki import LabPki, make_private_dir
from mtls_doctor.record import Record

OS_STORE_STAND_IN = "os-trust-store-stand-in"
FALLBACK_IDENTITY = "spiffe://cluster.local/ns/default/sa/default"


class LabRun(Record):
    """Everything one replay saw, before interpretation."""

    case: LabCase
    envoy_version: str
    ports: bs.Ports
    client_sidecar: bool
    server_sidecar: bool
    dialled_port: int
    client_status: int | None
    client_body: str
    client_error: str | None
    client_app_info: dict[str, Any] | None
    app_records: list[dict[str, Any]]
    client_lines: list[LogLine]
    server_lines: list[LogLine]
    client_evidence: list[str]
    server_evidence: list[str]
    exit_codes: dict[str, int]
    seconds: float
    stats: dict[str, dict[str, int]] = msgspec.field(default_factory=dict)
    kept: str | None = None


def request_path(case: LabCase) -> str:
    """The request path names the case, so log lines say which replay they belong to."""
    return "/" + urllib.parse.quote(case.name, safe="")


def free_ports(count: int) -> list[int]:
    """`count` distinct free TCP ports on 127.0.0.1 (all held open until all are chosen)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def prepare(case: LabCase, lab_dir: Path, ports: bs.Ports) -> dict[str, str]:
    """Write certificates and bootstraps into `lab_dir`; return the config file per sidecar."""
    pki = LabPki(lab_dir)
    make_private_dir(lab_dir / "logs")
    configs: dict[str, str] = {}
    if case.server_proxied:
        srv = case.server
        pki.workload(
            "server", srv.identity or FALLBACK_IDENTITY, srv.root, expired=srv.cert_expired
        )
        pki.bundle("server-roots", [srv.root, *srv.trusts])
        (lab_dir / "server.yaml").write_text(bs.dump(bs.server_bootstrap(case, ports)))
        configs["server"] = "server.yaml"
    if case.client.sidecar:
        cli = case.client
        pki.workload(
            "client", cli.identity or FALLBACK_IDENTITY, cli.root, expired=cli.cert_expired
        )
        pki.bundle("client-roots", [cli.root, *cli.trusts])
        if isinstance(cli.cluster_tls, SimpleTls) and cli.cluster_tls.ca == "system":
            # Stands in for the OS trust store, which never holds a mesh root.
            pki.bundle("system-roots", [OS_STORE_STAND_IN])
        (lab_dir / "client.yaml").write_text(bs.dump(bs.client_bootstrap(case, ports)))
        configs["client"] = "client.yaml"
    if case.server.app_tls:
        pki.app_server(case.host)
    return configs


def _log_tails(lab_dir: Path, sides: list[str], lines: int = 5) -> str:
    out: list[str] = []
    for side in sides:
        for name in (f"logs/{side}-stdout.log", f"logs/{side}-envoy.log"):
            path = lab_dir / name
            if path.exists():
                tail = path.read_text("utf-8", "replace").strip().splitlines()[-lines:]
                out += [f"{side}: {line}" for line in tail]
    return "\n".join(out)


class PortClash(LabError):
    """A port chosen as free was taken before Envoy or the app could bind it."""


def replay(case: LabCase, *, keep: Path | None = None) -> LabRun:
    """Run the case through real Envoy and return what was observed.

    Without `keep` the lab directory is a fresh 0700 temporary directory, removed at the end
    whatever happens. A port taken between choosing and binding it (another process on the
    machine), or a dialled port that refuses the connection, gets one retry with new ports.
    """
    t0 = time.monotonic()
    binary, version = find_envoy()
    if keep is not None:
        lab_dir = keep
        if not keep.exists():
            make_private_dir(keep)
        elif any(keep.iterdir()) and not (keep / "case.yaml").exists():
            raise LabError(f"--keep {keep}: exists, is not empty and is not a lab directory")
        (keep / "case.yaml").write_bytes(encode_case(case))
    else:
        lab_dir = Path(tempfile.mkdtemp(prefix="mtls-doctor-lab-"))
        lab_dir.chmod(0o700)
    try:
        for attempt in range(2):
            for side in ("client", "server"):  # a kept directory may hold an earlier replay
                (lab_dir / f"{side}.yaml").unlink(missing_ok=True)
                for kind in ("access", "envoy", "stdout"):
                    (lab_dir / f"logs/{side}-{kind}.log").unlink(missing_ok=True)
            try:
                return _attempt(case, lab_dir, binary, version, keep, t0)
            except PortClash:
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")
    finally:
        if keep is None:
            shutil.rmtree(lab_dir, ignore_errors=True)


def _attempt(
    case: LabCase, lab_dir: Path, binary: Path, version: str, keep: Path | None, t0: float
) -> LabRun:
    procs: dict[str, subprocess.Popen[bytes]] = {}
    exit_codes: dict[str, int] = {}
    app: EchoApp | None = None
    try:
        ports = bs.Ports(*free_ports(5))
        configs = prepare(case, lab_dir, ports)
        app = EchoApp(
            ports.app,
            str(lab_dir / "certs/app.crt") if case.server.app_tls else None,
            str(lab_dir / "certs/app.key") if case.server.app_tls else None,
        )
        try:
            app.start()
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortClash(f"app port {ports.app} taken") from exc
            raise
        admin = {"server": ports.server_admin, "client": ports.client_admin}
        for side, config in configs.items():
            cmd = envoy_command(binary, config, f"logs/{side}-envoy.log")
            procs[side] = start(cmd, lab_dir, lab_dir / f"logs/{side}-stdout.log")
        try:
            wait_ready({side: (proc, admin[side]) for side, proc in procs.items()})
        except LabError as exc:
            tails = _log_tails(lab_dir, list(procs))
            kind = PortClash if "Address already in use" in tails else LabError
            raise kind(f"{exc}\n{tails}") from None
        if case.client.sidecar:
            dialled = ports.client_listener
        elif case.server_proxied:
            dialled = ports.server_listener
        else:
            dialled = ports.app
        result: ClientResult = send(dialled, case.app_protocol, case.host, path=request_path(case))
        if result.error == "connection refused":
            # The dialled port is one of the lab's own listeners, which accept every connection:
            # a refusal means the port was lost to another process meanwhile (or the listener
            # was not listening yet), never an outcome of the case. One retry, as for a clash.
            raise PortClash(f"port {dialled}, dialled by the client app, refused the connection")
        stats = {side: settled_stats(admin[side]) for side in procs}
        # Stop the client first: its upstream connections close, so the server writes its
        # connection-level log lines; Envoy flushes its access logs when it exits.
        for side in ("client", "server"):
            if side in procs:
                exit_codes[side] = stop(procs[side])
                del procs[side]
        app.stop()
        if keep is not None:
            from mtls_doctor.lab.keep import write_replay_script

            write_replay_script(case, lab_dir, ports, configs, binary, dialled)
        return LabRun(
            case=case,
            envoy_version=version,
            ports=ports,
            client_sidecar=case.client.sidecar,
            server_sidecar=case.server_proxied,
            dialled_port=dialled,
            client_status=result.status,
            client_body=result.body[:2000],
            client_error=result.error,
            client_app_info=result.app_info,
            app_records=list(app.records),
            client_lines=read_access_log(lab_dir / bs.CLIENT_ACCESS_LOG),
            server_lines=read_access_log(lab_dir / bs.SERVER_ACCESS_LOG),
            client_evidence=evidence(lab_dir / "logs/client-envoy.log"),
            server_evidence=evidence(lab_dir / "logs/server-envoy.log"),
            exit_codes=exit_codes,
            stats=stats,
            seconds=time.monotonic() - t0,
            kept=str(lab_dir) if keep is not None else None,
        )
    finally:
        for proc in procs.values():
            with contextlib.suppress(Exception):
                stop(proc)
        if app is not None:
            app.stop()
