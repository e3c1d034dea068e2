"""Lab tests run real Envoy; they skip, with the reason, where Envoy cannot run.

Modules that start Envoy use `pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("envoy")]`.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def envoy() -> str:
    """The Envoy version line; skips the test when Envoy cannot run on this platform."""
    from mtls_doctor.lab.envoyproc import LabUnavailable, find_envoy

    try:
        _, version = find_envoy()
    except LabUnavailable as exc:
        pytest.skip(f"{exc}")
    return version
