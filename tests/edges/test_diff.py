"""`whatif` compares two analyses class by class; the answer must be exactly the per-edge
comparison: the same (destination, client, before, after) for every edge that moved. Checked on
a generated mesh with changes that keep the client groups (a mesh-wide mode, a DestinationRule
that singles out another namespace), one that regroups clients (a Sidecar), and one that adds
and removes destinations (a Service's ports replaced)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtls_doctor.analysis import Analysis, analyze
from mtls_doctor.edges import diff
from mtls_doctor.edges.diff import Moved, Side, moved
from mtls_doctor.model.load import load_mesh
from tests.generated import generate_mesh

Row = tuple[str, str, object, object]

PERMISSIVE = """
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: PERMISSIVE}}
"""
DR_ELSEWHERE = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: plain-to-svc-01, namespace: team-0003}
spec:
  host: svc-01.team-0001.svc.cluster.local
  trafficPolicy: {tls: {mode: DISABLE}}
"""
SIDECAR = """
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: team-0004}
spec:
  egress: [{hosts: ["./*", "istio-system/*"]}]
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
"""
PORTS = """
apiVersion: v1
kind: Service
metadata: {name: svc-02, namespace: team-0001}
spec:
  selector: {app: svc-02}
  ports: [{name: http, port: 80, targetPort: 8080}, {name: http-admin, port: 8081}]
"""


@pytest.fixture(scope="module")
def dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mesh") / "mesh.json"
    generate_mesh(400, path)
    return path


def _edges(a: Analysis) -> dict[tuple[str, str], object]:
    """(destination, client) -> (verdict, cause), edge by edge."""
    out: dict[tuple[str, str], object] = {}
    for r in a.results:
        for cls in r.classes:
            for c in cls.clients:
                out[(r.to, c.name)] = (cls.outcome.verdict, cls.outcome.cause)
    for e in a.pseudo:
        out[(e.to, e.from_)] = (e.outcome.verdict, e.outcome.cause)
    return out


def _oracle(before: Analysis, after: Analysis) -> set[Row]:
    was, now = _edges(before), _edges(after)
    rows = {(to, c, was.get((to, c)), d) for (to, c), d in now.items() if was.get((to, c)) != d}
    rows |= {(to, c, d, None) for (to, c), d in was.items() if (to, c) not in now}
    return rows


def _expand(changes: list[Moved], before: Analysis, after: Analysis) -> list[Row]:
    """Every edge the groups stand for, `ns/*` read as every client of that namespace."""

    def clients_of(a: Analysis, ns: str) -> list[str]:
        return [c.name for c in a.engine.clients("default") if c.namespace == ns]

    rows: list[Row] = []
    for m in changes:
        names: list[str] = []
        for entry in m.clients:
            if entry.endswith("/*"):
                names += clients_of(after if m.after is not None else before, entry[:-2])
            else:
                names.append(entry)
        assert len(names) == m.count, m
        rows += [(m.to, n, m.before, m.after) for n in names]
    return rows


@pytest.mark.parametrize(
    ("change", "aligned"),
    [(PERMISSIVE, True), (DR_ELSEWHERE, True), (SIDECAR, False), (PORTS, True)],
    ids=["mesh-wide-mode", "dr-in-another-namespace", "sidecar-regroups", "ports-replaced"],
)
def test_moved_is_the_edge_by_edge_difference(
    dump: Path, tmp_path: Path, change: str, aligned: bool
) -> None:
    extra = tmp_path / "change.yaml"
    extra.write_text(change)
    before = analyze(load_mesh([str(dump)]))
    after = analyze(load_mesh([str(dump), str(extra)]))
    changes = moved(
        Side(before.engine, before.results, before.pseudo),
        Side(after.engine, after.results, after.pseudo),
    )
    rows = _expand(changes, before, after)
    assert len(rows) == len(set(rows))  # no edge in two groups
    want = _oracle(before, after)
    assert want  # every change above moves something
    assert set(rows) == want
    regrouped = [g.key for g in before.engine.groups("default")] != [
        g.key for g in after.engine.groups("default")
    ]
    assert regrouped is not aligned


def test_a_mesh_wide_mode_is_compared_by_class_members(
    dump: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No destination falls back to client-by-client when the client groups stay."""
    extra = tmp_path / "change.yaml"
    extra.write_text(PERMISSIVE)
    before = analyze(load_mesh([str(dump)]))
    after = analyze(load_mesh([str(dump), str(extra)]))

    def refuse(*_: object) -> None:
        raise AssertionError("compared client by client")

    monkeypatch.setattr(diff, "_by_clients", refuse)
    changes = diff.moved(
        Side(before.engine, before.results, before.pseudo),
        Side(after.engine, after.results, after.pseudo),
    )
    assert set(_expand(changes, before, after)) == _oracle(before, after)


def test_nothing_moves_without_a_change(dump: Path) -> None:
    before = analyze(load_mesh([str(dump)]))
    after = analyze(load_mesh([str(dump)]))
    side = Side(before.engine, before.results, before.pseudo)
    assert moved(side, Side(after.engine, after.results, after.pseudo)) == []
