"""The CE codes: unique, documented with the required sections, each triggered by a scenario."""

from __future__ import annotations

import re
from pathlib import Path

from mtls_doctor.certs.codes import CODES
from mtls_doctor.checks.catalog import BY_CODE, page
from tests.certs.cert_scenarios import SCENARIOS

SECTIONS = ["## What it means", "## What you see", "## How to fix", "## Example"]


def test_codes_are_unique_well_formed_and_in_the_catalog() -> None:
    assert len({c.code for c in CODES}) == len(CODES)
    assert len({c.name for c in CODES}) == len(CODES)
    for c in CODES:
        assert re.fullmatch(r"CE\d{3}", c.code)
        assert re.fullmatch(r"[a-z0-9-]+", c.name)
        assert c.fix.endswith(".")
        assert BY_CODE[c.code] is c


def test_every_code_has_its_page_with_exactly_the_sections() -> None:
    for c in CODES:
        text = page(c.code)
        assert text is not None, c.code
        lines = text.splitlines()
        assert lines[0] == f"# {c.code} {c.name}"
        assert [ln for ln in lines if ln.startswith("## ")] == SECTIONS
        assert [ln for ln in lines if ln.startswith("# ")] == [lines[0]]


def test_every_code_is_triggered_by_a_scenario(tmp_path: Path) -> None:
    triggered = set()
    for name, build in SCENARIOS.items():
        triggered |= {code for code, _ in build(tmp_path / name).expect}
    assert triggered == {c.code for c in CODES}
