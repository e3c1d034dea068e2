"""The cause vocabulary is a contract: DESIGN.md's table, the code's list and what the engine
really emits over every scenario must agree."""

from __future__ import annotations

import re
from pathlib import Path

from mtls_doctor.edges.records import CAUSES
from tests.scenarios.runner import cases_in, run_case

ROOT = Path(__file__).resolve().parent.parent.parent


def test_design_table_lists_exactly_the_causes() -> None:
    text = (ROOT / "DESIGN.md").read_text()
    table = text[text.index("| cause | verdict |") : text.index("New causes may be added")]
    listed = re.findall(r"^\| `([a-z-]+)` \|", table, re.MULTILINE)
    assert listed == list(CAUSES)


def test_every_emitted_cause_is_in_the_vocabulary() -> None:
    seen: set[str] = set()
    for case in cases_in(ROOT / "tests" / "scenarios") + cases_in(ROOT / "examples"):
        a = run_case(case)
        for r in a.results:
            for cls in r.classes:
                seen.update(e.cause for e in cls.outcome.endpoints if e.cause)
                if cls.outcome.cause:
                    seen.add(cls.outcome.cause)
        seen.update(e.outcome.cause for e in a.pseudo if e.outcome.cause)
    assert seen <= set(CAUSES), seen - set(CAUSES)
    # the scenarios exercise the causes the runbooks are about
    assert {"plaintext-rejected", "san-mismatch", "endpoint-not-mtls", "no-client-sidecar",
            "no-server-sidecar", "authz-denied", "untrusted-root", "client-cert-missing",
            "tls-to-plaintext-server", "blackholed", "mesh-external"} <= seen  # fmt: skip
