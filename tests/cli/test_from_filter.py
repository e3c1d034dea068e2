"""`edges --from NS/WORKLOAD` looks the client's edges up (its class's outcome per destination)
instead of building every edge of the mesh and filtering them: the answer must be the same
edges, in the same order, as that filter; with or without a cluster prefix and with --to."""

from __future__ import annotations

import json

import pytest

from mtls_doctor.analysis import Analysis, analyze
from mtls_doctor.cli.pipeline import selected_edges
from mtls_doctor.model.load import load_mesh
from tests.cli.run import STAGES, mtls_doctor
from tests.generated import generate_mesh


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Analysis:
    dump = tmp_path_factory.mktemp("mesh") / "mesh.json"
    generate_mesh(400, dump)
    return analyze(load_mesh([str(dump)]))


def _every_edge_from(a: Analysis, name: str, to: str | None = None) -> list[object]:
    return [
        e
        for r in a.results
        if to is None or r.to == to
        for e in r.edges(a.engine)
        if e.from_ == name
    ]


def test_from_is_every_edge_of_that_client(mesh: Analysis) -> None:
    c = mesh.load.mesh.clusters["default"]
    injected = next(w for w in c.workloads if c.injection(w).injected)
    plain = next(w for w in c.workloads if not c.injection(w).injected)
    for w in (injected, plain):
        got, errors = selected_edges(mesh, w.key, None)
        assert errors == []
        assert got == _every_edge_from(mesh, w.key)
        assert {e.from_ for e in got} == {w.key}
        prefixed, errors = selected_edges(mesh, f"default:{w.key}", None)
        assert errors == [] and prefixed == got


def test_from_and_to_on_a_known_destination(mesh: Analysis) -> None:
    r = mesh.results[len(mesh.results) // 2]
    client = next(iter(r.classes[-1].clients))  # a client of the smallest class
    got, errors = selected_edges(mesh, client.name, r.to)
    assert errors == []
    assert got == _every_edge_from(mesh, client.name, r.to)
    assert [(e.outcome.verdict, e.outcome.cause) for e in got] == [
        (r.classes[-1].outcome.verdict, r.classes[-1].outcome.cause)
    ]


def test_pseudo_clients_keep_their_edges() -> None:
    table = "tests/scenarios/semantics-table"
    r = mtls_doctor(
        "edges", f"{table}/base.yaml", f"{table}/row55b.yaml", "--from", "external/kubelet",
        "-o", "json", "--fail-on", "never",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    got = [(e["from"], e["to"], e["cause"]) for e in json.loads(r.stdout)["edges"]]
    assert got == [("external/kubelet", "b/echo:8080", "plaintext-rejected")]


def test_unknown_cluster_prefix_is_an_error() -> None:
    r = mtls_doctor("edges", *STAGES[1], "--from", "nowhere:curl/client")
    assert r.returncode == 2 and "nowhere:curl/client" in r.stderr
