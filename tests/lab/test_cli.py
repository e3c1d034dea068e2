"""`mtls-doctor lab --case FILE`: text and JSON output, exit codes, bad input, missing Envoy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mtls_doctor.lab.case import Prediction, encode_case
from tests.lab.reference_cases import CASES

BY_NAME = {c.name: c for c, _, _ in CASES}


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mtls_doctor", "lab", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.lab
@pytest.mark.usefixtures("envoy")
def test_json_output_and_agreement(tmp_path: Path) -> None:
    case = _write(tmp_path, "g1.yaml", encode_case(BY_NAME["g1-http-rbac-deny"]))
    done = _cli("--case", str(case), "-o", "json")
    assert done.returncode == 0, done.stderr
    [replay] = json.loads(done.stdout)["replays"]
    assert replay["agree"] is True
    assert replay["observed"]["verdict"] == "denied"
    assert replay["observed"]["cause"] == "authz-denied"
    assert replay["observed"]["http_status"] == 403
    assert "rbac_access_denied_matched_policy" in replay["observed"]["server_log_line"]


@pytest.mark.lab
@pytest.mark.usefixtures("envoy")
def test_disagreement_exits_1_and_says_so(tmp_path: Path) -> None:
    wrong = BY_NAME["c-plaintext-strict"]
    import msgspec

    wrong = msgspec.structs.replace(wrong, predicted=Prediction("mtls"))
    case = _write(tmp_path, "c.yaml", encode_case(wrong))
    done = _cli("--case", str(case))
    assert done.returncode == 1, done.stderr
    assert "DISAGREE" in done.stdout
    assert "plaintext-rejected" in done.stdout


def test_bad_case_file_names_the_file(tmp_path: Path) -> None:
    bad = _write(
        tmp_path, "bad.yaml", b"client: {}\nserver: {mode: LOOSE}\npredicted: {verdict: mtls}\n"
    )
    done = _cli("--case", str(bad))
    assert done.returncode == 3
    assert "bad.yaml" in done.stderr and "server.mode" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_envoy_is_a_clear_error(tmp_path: Path) -> None:
    case = _write(tmp_path, "a.yaml", encode_case(BY_NAME["a-mtls-strict"]))
    env = dict(os.environ, MTLS_DOCTOR_ENVOY=str(tmp_path / "no-envoy-here"))
    done = _cli("--case", str(case), env=env)
    assert done.returncode == 3
    assert "the lab needs Envoy" in done.stderr
    assert "no-envoy-here" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.lab
@pytest.mark.usefixtures("envoy")
def test_sigterm_stops_every_process_and_removes_the_keys(tmp_path: Path) -> None:
    import signal
    import time

    from mtls_doctor.lab.envoyproc import find_envoy

    real, _ = find_envoy()
    pidfile = tmp_path / "pids"
    wrapper = tmp_path / "slow-envoy"
    # A wrapper that records its PID and working directory, then becomes Envoy after a pause,
    # so that the signal arrives while the lab waits for the Envoys to be ready.
    wrapper.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = --version ] && exec {real} --version\n'
        f'echo "$$ $(pwd)" >> {pidfile}\n'
        "sleep 0.5\n"
        f'exec {real} "$@"\n'
    )
    wrapper.chmod(0o755)
    case = _write(tmp_path, "a.yaml", encode_case(BY_NAME["a-mtls-strict"]))
    env = dict(os.environ, MTLS_DOCTOR_ENVOY=str(wrapper))
    proc = subprocess.Popen(
        [sys.executable, "-m", "mtls_doctor", "lab", "--case", str(case)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if pidfile.exists() and len(pidfile.read_text().splitlines()) == 2:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    entries = [line.split(" ", 1) for line in pidfile.read_text().splitlines()]
    assert len(entries) == 2
    time.sleep(0.2)
    for pid, cwd in entries:
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)
        assert not Path(cwd).exists()  # the lab directory with the keys is gone
