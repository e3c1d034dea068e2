"""The runner stops everything it started — after a replay, on error and on Ctrl-C — and
`--keep` leaves a replayable directory."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from mtls_doctor.lab import LabError, runner
from mtls_doctor.lab.result import run_case
from tests.lab.reference_cases import CASES

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("envoy")]

BY_NAME = {c.name: c for c, _, _ in CASES}


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    seen: dict[str, list[Any]] = {"procs": [], "dirs": []}
    real_start, real_mkdtemp = runner.start, tempfile.mkdtemp

    def start(*args: Any, **kw: Any) -> subprocess.Popen[bytes]:
        proc = real_start(*args, **kw)
        seen["procs"].append(proc)
        return proc

    def mkdtemp(*args: Any, **kw: Any) -> str:
        path = real_mkdtemp(*args, **kw)
        seen["dirs"].append(Path(path))
        return path

    monkeypatch.setattr(runner, "start", start)
    monkeypatch.setattr(runner.tempfile, "mkdtemp", mkdtemp)
    return seen


def test_replay_stops_everything_and_removes_the_keys(spy: dict[str, list[Any]]) -> None:
    result = run_case(BY_NAME["a-mtls-strict"])
    assert result.agrees
    assert len(spy["procs"]) == 2
    assert all(p.returncode == 0 for p in spy["procs"])
    [lab_dir] = spy["dirs"]
    assert not lab_dir.exists()
    assert result.seconds < 2.0


def test_ctrl_c_during_the_request_stops_everything(
    spy: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen_mode: list[int] = []

    def interrupted(*args: Any, **kw: Any) -> Any:
        [lab_dir] = spy["dirs"]
        seen_mode.append(stat.S_IMODE(lab_dir.stat().st_mode))
        assert all(p.poll() is None for p in spy["procs"])  # the Envoys are up
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "send", interrupted)
    with pytest.raises(KeyboardInterrupt):
        runner.replay(BY_NAME["a-mtls-strict"])
    assert seen_mode == [0o700]
    assert len(spy["procs"]) == 2
    assert all(p.poll() is not None for p in spy["procs"])
    assert not spy["dirs"][0].exists()


def test_envoy_that_cannot_start_is_reported_and_cleaned_up(
    spy: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = runner.envoy_command
    monkeypatch.setattr(
        runner, "envoy_command", lambda b, c, log: [*real(b, c, log), "--no-such-flag"]
    )
    with pytest.raises(LabError, match="exited with code") as info:
        runner.replay(BY_NAME["a-mtls-strict"])
    assert "no-such-flag" in str(info.value)  # Envoy's own complaint is in the message
    assert all(p.poll() is not None for p in spy["procs"])
    assert not spy["dirs"][0].exists()


def test_keep_leaves_a_replayable_directory(tmp_path: Path) -> None:
    keep = tmp_path / "kept"
    result = run_case(BY_NAME["b-san-mismatch"], keep=keep)
    assert result.kept == str(keep)
    for name in (
        "server.yaml",
        "client.yaml",
        "case.yaml",
        "apps.py",
        "replay.sh",
        "certs/server.crt",
    ):
        assert (keep / name).is_file(), name
    assert stat.S_IMODE((keep / "certs/client.key").stat().st_mode) == 0o600
    assert "SAN_matcher" in (keep / "logs/client-access.log").read_text()
    before = (keep / "logs/client-access.log").read_text().count("[cli:http]")
    env = dict(os.environ, PYTHON=sys.executable)
    done = subprocess.run(
        ["sh", str(keep / "replay.sh")],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert '"status": 503' in done.stdout
    log = (keep / "logs/client-access.log").read_text()
    assert log.count("[cli:http]") == before + 1
    assert "SAN_matcher" in log.splitlines()[-1] or "SAN_matcher" in log


def test_a_port_taken_meanwhile_gets_one_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    taken = holder.getsockname()[1]
    calls: list[list[int]] = []
    real = runner.free_ports

    def first_clashes(count: int) -> list[int]:
        ports = real(count)
        if not calls:
            ports[1] = taken  # the server listener
        calls.append(ports)
        return ports

    monkeypatch.setattr(runner, "free_ports", first_clashes)
    try:
        result = run_case(BY_NAME["a-mtls-strict"])
    finally:
        holder.close()
    assert len(calls) == 2
    assert result.agrees


def test_a_dialled_port_that_refuses_gets_one_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client app's port is one of the lab's listeners: a refusal is the lab's failure,
    not the case's outcome (seen once in CI, with two workers replaying at once)."""
    import socket

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    nobody = closed.getsockname()[1]  # bound, never listening: connecting is refused
    dialled: list[int] = []
    real = runner.send

    def first_refused(port: int, *args: Any, **kwargs: Any) -> Any:
        dialled.append(port)
        return real(nobody if len(dialled) == 1 else port, *args, **kwargs)

    monkeypatch.setattr(runner, "send", first_refused)
    try:
        result = run_case(BY_NAME["a-mtls-strict"])
    finally:
        closed.close()
    assert len(dialled) == 2
    assert result.agrees


def test_keep_refuses_a_directory_that_is_not_a_lab(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("mine")
    with pytest.raises(LabError, match="not a lab directory"):
        run_case(BY_NAME["a-mtls-strict"], keep=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious.txt"]
