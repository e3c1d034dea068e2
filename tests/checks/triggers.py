"""Which fixture triggers each finding code: the table `tests/checks/test_catalog.py` checks.

Every code in `mtls_doctor.checks.catalog.CATALOG` needs at least one entry here; the test
fails, code by code, for any code without one, and for an entry whose fixture does not produce
the code on the expected subject.

How to add an entry (one per code, more are welcome):

    TRIGGERS["PA101"] = (
        Trigger(
            fixture="scenarios/strict-without-sidecar/mesh.yaml",   # under tests/fixtures/
            subject="PeerAuthentication/prod/default",              # Kind/namespace/name
            run=analyze_manifests,                                  # Path -> findings
            line=12,                                                # optional: origin line
        ),
    )

`run` takes the fixture's absolute path (a file or a directory) and returns the findings the
tool produces for it: the real reader and checks of the family, nothing stubbed. Put small
runner functions below, one per kind of input, and keep the table sorted by code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from mtls_doctor.checks.finding import Finding

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

Runner = Callable[[Path], Iterable[Finding]]


@dataclass(frozen=True)
class Trigger:
    fixture: str  # path relative to tests/fixtures/
    subject: str  # the expected subject, Kind/namespace/name
    run: Runner  # fixture path -> the findings the tool reports for it
    line: int | None = None  # when set, a finding must also point at this line of the fixture

    @property
    def path(self) -> Path:
        return FIXTURES / self.fixture


# --- runners (one per kind of input; the real code of each family) --------------------------


# --- the table, sorted by code --------------------------------------------------------------

TRIGGERS: dict[str, tuple[Trigger, ...]] = {}
