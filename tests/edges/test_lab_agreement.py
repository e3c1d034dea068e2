"""Agreement as a test: every expected edge of every scenario (the project's own, the bundled
example and, when present, ../shared/scenarios) is replayed through two real Envoy processes,
and what Envoy did must be what the engine predicted. A disagreement is a bug in the
prediction or in the lab: fix it, do not loosen this test."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtls_doctor.edges.clients import apiserver, kubelet
from mtls_doctor.edges.lab_case import lab_cases
from mtls_doctor.lab.case import LabCase
from tests.scenarios.runner import Case, cases_in, run_case

ROOT = Path(__file__).resolve().parent.parent.parent
SHARED = ROOT.parent / "shared" / "scenarios"
CASES = cases_in(ROOT / "tests" / "scenarios") + cases_in(ROOT / "examples")
if SHARED.is_dir():
    CASES += cases_in(SHARED)

pytestmark = [pytest.mark.lab]


def _lab_cases(case: Case) -> list[LabCase]:
    a = run_case(case)
    engine = a.engine
    out: list[LabCase] = []
    for exp in case.spec.get("edges", []) or []:
        for cluster, idx in a.load.mesh.clusters.items():
            frm = exp["from"]
            if frm == "external/kube-apiserver":
                clients = [apiserver(idx)]
            elif frm == "external/kubelet":
                clients = [kubelet(idx)]
            else:
                clients = [c for c in engine.clients(cluster) if c.name == frm]
            for client in clients:
                target = engine.resolve(client, exp["to"])
                if isinstance(target, str):
                    continue
                got, _ = lab_cases(engine, client, target)
                out.extend(got)
    return out


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_envoy_agrees_with_the_prediction(case: Case, envoy: str) -> None:
    from mtls_doctor.lab.result import run_case as replay

    disagreements = []
    for lc in _lab_cases(case):
        r = replay(lc)
        if not r.agrees:
            disagreements.append(
                f"{lc.name}: predicted {lc.predicted.verdict}/{lc.predicted.cause}, Envoy "
                f"{r.outcome.verdict}/{r.outcome.cause} ({r.observation})"
            )
    assert disagreements == []
