"""Every EV/LG code is produced by its declared fixture on its subject (and line)."""

from __future__ import annotations

import pytest

from mtls_doctor.envoy.codes import CODES
from tests.envoy.triggers_envoy import ENVOY_TRIGGERS


def test_every_envoy_code_has_a_trigger() -> None:
    assert sorted(ENVOY_TRIGGERS) == sorted(c.code for c in CODES)


@pytest.mark.parametrize("code", sorted(ENVOY_TRIGGERS))
def test_trigger_produces_the_code(code: str) -> None:
    for t in ENVOY_TRIGGERS[code]:
        found = list(t.run(t.path))
        hits = [f for f in found if f.code == code and str(f.subject) == t.subject]
        assert hits, f"{code}: {t.fixture}: " + ", ".join(f"{f.code} {f.subject}" for f in found)
        if t.line is not None:
            assert t.line in {f.origin.line for f in hits if f.origin is not None}
