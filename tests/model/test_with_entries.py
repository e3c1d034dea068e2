"""ServiceEntries and WorkloadEntries by namespace: `ClusterIndex.with_entries` (the patched
copy a verified patch is checked on) decides every edge as a cluster rebuilt from all its
objects does, and `selected_entries` picks what a scan of every entry picks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mtls_doctor.checks.serviceentry import _rebuild, _with_account, _with_sans
from mtls_doctor.edges.engine import EdgeEngine
from mtls_doctor.model.load import load_mesh
from mtls_doctor.model.mesh import ClusterIndex, Mesh
from mtls_doctor.model.objects import Loaded
from mtls_doctor.semantics.trace import selects
from tests.cli.run import ROOT, STAGES
from tests.generated import generate_mesh

PRESENTED = "spiffe://cluster.local/ns/echo/sa/default"


def _stage(n: int) -> Mesh:
    args = []
    for a in STAGES[n]:
        name, _, path = a.partition("=")
        args.append(f"{name}={ROOT / path}")
    return load_mesh(args).mesh


def _from_scratch(mesh: Mesh, cluster: str, patched: list[Loaded[Any]]) -> Mesh:
    swap = {(p.kind, p.namespace, p.name): p for p in patched}
    clusters: dict[str, ClusterIndex] = {}
    for name, c in mesh.clusters.items():
        objs = [swap.get((o.kind, o.namespace, o.name), o) for v in c.by_kind.values() for o in v]
        clusters[name] = ClusterIndex(name, objs, c.mesh, []) if name == cluster else c
    out = Mesh(clusters)
    out.discovery = dict(mesh.discovery)
    return out


def _verdicts(mesh: Mesh, cluster: str) -> dict[tuple[str, str, int], tuple[object, ...]]:
    engine = EdgeEngine.with_policies(mesh)
    out: dict[tuple[str, str, int], tuple[object, ...]] = {}
    for svc, port in engine.destinations(cluster):
        for client in engine.clients(cluster):
            o = engine.outcome(client, svc, port)
            eps = tuple((e.address, e.verdict, e.cause, e.presented) for e in o.endpoints)
            out[(client.name, svc.hostname, port.number)] = (o.verdict, o.cause, eps)
    return out


def test_the_copy_shares_what_entries_do_not_decide() -> None:
    c = _stage(3).clusters["cluster1"]
    se = c.service_entries[0]
    patched = _with_sans(se, [PRESENTED])
    p = c.with_entries([patched])
    assert p.workloads is c.workloads and p.pa is c.pa and p.dr is c.dr
    assert p.service_entries == [patched] and p.service_entries[0] is patched
    assert p.service_entries_by_ns[se.namespace] == [patched]
    assert c.service_entries[0] is se and c.by_kind["ServiceEntry"][0] is se  # untouched
    assert p.workload_entries is c.workload_entries  # no entry patched: the same list
    with pytest.raises(ValueError, match="ServiceEntries and WorkloadEntries"):
        c.with_entries([c.services[0]])


@pytest.mark.parametrize("patch", ["sans", "account"])
def test_patched_copy_decides_like_a_rebuilt_cluster(patch: str) -> None:
    mesh = _stage(3)
    c = mesh.clusters["cluster1"]
    patched: list[Loaded[Any]]
    if patch == "sans":
        patched = [_with_sans(c.service_entries[0], [PRESENTED])]
    else:
        # no serviceAccount: the entries are plaintext again (stage 2's plaintext-rejected)
        patched = [_with_account(we, "") for we in c.workload_entries]
    before = _verdicts(mesh, "cluster1")
    copied = _verdicts(_rebuild(mesh, "cluster1", patched), "cluster1")
    assert copied == _verdicts(_from_scratch(mesh, "cluster1", patched), "cluster1")
    edge = ("curl/client", "global-echo", 80)
    assert before[edge][:2] == ("fail", "san-mismatch")
    assert copied[edge][:2] != before[edge][:2]  # the patch is seen


def test_selected_entries_picks_what_a_scan_picks(tmp_path: Path) -> None:
    path = tmp_path / "mesh.json"
    generate_mesh(400, path, with_entries=True)
    c = load_mesh([str(path)]).mesh.clusters["default"]
    assert c.service_entries and c.workload_entries
    for se in c.service_entries:
        sel = se.obj.spec.workload_selector.labels if se.obj.spec.workload_selector else {}
        scanned = [
            we for we in c.workload_entries
            if we.namespace == se.namespace and selects(sel, {**we.obj.spec.labels, **we.meta.labels})
        ]  # fmt: skip
        assert c.selected_entries(se.namespace, sel) == scanned
        assert len(scanned) == 2
