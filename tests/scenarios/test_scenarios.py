"""Every scenario: the project's own (tests/scenarios), the bundled example, and, when the
shared folder is beside the project (as in CI), every case in ../shared/scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scenarios.runner import Case, cases_in, check_case

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
SHARED = ROOT.parent / "shared" / "scenarios"

OWN = cases_in(HERE) + cases_in(ROOT / "examples")
SHARED_CASES = cases_in(SHARED) if SHARED.is_dir() else []


@pytest.mark.parametrize("case", OWN, ids=lambda c: c.id)
def test_own_scenario(case: Case) -> None:
    assert check_case(case) == []


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/scenarios is not beside the project")
@pytest.mark.parametrize("case", SHARED_CASES, ids=lambda c: c.id)
def test_shared_scenario(case: Case) -> None:
    assert check_case(case) == []


def test_scenarios_were_found() -> None:
    assert {c.folder.name for c in OWN} >= {"pod-ip-multicluster"}
