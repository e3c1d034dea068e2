"""The test predictor agrees with every hand-written reference expectation (no Envoy needed).

This keeps the generated test honest: its oracle reproduces the cases envoy-behaviour.md records.
"""

from __future__ import annotations

import pytest

from mtls_doctor.lab.case import LabCase
from tests.lab.predictor import predict
from tests.lab.reference_cases import CASES


@pytest.mark.parametrize(("case", "verdict", "cause"), CASES, ids=[c[0].name for c in CASES])
def test_predictor_matches_reference(case: LabCase, verdict: str, cause: str | None) -> None:
    assert predict(case) == (verdict, cause)
