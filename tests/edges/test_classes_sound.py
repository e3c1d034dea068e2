"""Classes of clients are only a shortcut: every client of a class must get, edge for edge,
what evaluating that client alone gives (same verdict, cause, endpoints, trace and fix, with
the client's own names filled in). Checked on every scenario case and on a generated mesh with
the bench's policy mix (REGISTRY_ONLY Sidecars naming a neighbour namespace, DestinationRules,
port-level PeerAuthentication, namespaces without injection)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtls_doctor.analysis import Analysis, analyze
from mtls_doctor.edges.engine import EdgeEngine
from mtls_doctor.model.load import load_mesh
from tests.generated import generate_mesh
from tests.scenarios.runner import Case, cases_in, run_case

ROOT = Path(__file__).resolve().parent.parent.parent
CASES = cases_in(ROOT / "tests" / "scenarios")


def _differences(a: Analysis) -> list[str]:
    seam = next(iter(a.engine.evaluators.values())).authz
    alone = EdgeEngine(a.engine.mesh, seam, trust=a.engine.trust)
    out: list[str] = []
    for r in a.results:
        for cls in r.classes:
            for client in cls.clients:
                own = alone.evaluators[client.cluster].evaluate(client, r.service, r.port)
                want = alone.materialize(client, r.service, r.port, own)
                got = a.engine.materialize(client, r.service, r.port, cls.outcome)
                if got != want:
                    out.append(
                        f"{client.name} -> {r.to} ({r.cluster}): class says "
                        f"{got.outcome.verdict}/{got.outcome.cause}, alone "
                        f"{want.outcome.verdict}/{want.outcome.cause}"
                        + ("" if got.outcome.trace == want.outcome.trace else " (traces differ)")
                    )
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_client_of_a_class_gets_its_own_answer(case: Case) -> None:
    assert _differences(run_case(case)) == []


def test_generated_mesh_classes_are_sound(tmp_path: Path) -> None:
    dump = tmp_path / "mesh.json"
    generate_mesh(400, dump)
    a = analyze(load_mesh([str(dump)]))
    assert a.engine.evaluations < sum(r.client_count for r in a.results)  # classes were shared
    assert _differences(a) == []
