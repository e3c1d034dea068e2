"""`ClusterIndex.selected_workloads` and `selecting_services` (the label lookups the registry,
the server side and the protocol checks use) pick exactly what a scan of every workload or
Service of the namespace picks, in the same order."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtls_doctor.model.load import load_mesh
from mtls_doctor.model.mesh import ClusterIndex
from mtls_doctor.semantics.trace import selects
from tests.generated import generate_mesh

# Pods share labels across apps and tiers; Services select one label, two labels, a label no
# pod has, or nothing (frontend comes first but is filed under a label pods list last); a
# namespace next door has pods with the same labels.
CRAFTED = """
apiVersion: v1
kind: List
items:
{pods}
- {{apiVersion: v1, kind: Service, metadata: {{name: frontend, namespace: shop}},
   spec: {{selector: {{tier: front}}, ports: [{{name: http, port: 80}}]}}}}
- {{apiVersion: v1, kind: Service, metadata: {{name: web, namespace: shop}},
   spec: {{selector: {{app: web}}, ports: [{{name: http, port: 80}}]}}}}
- {{apiVersion: v1, kind: Service, metadata: {{name: web-v2, namespace: shop}},
   spec: {{selector: {{app: web, version: v2}}, ports: [{{name: http, port: 80}}]}}}}
- {{apiVersion: v1, kind: Service, metadata: {{name: ghost, namespace: shop}},
   spec: {{selector: {{app: ghost}}, ports: [{{name: http, port: 80}}]}}}}
- {{apiVersion: v1, kind: Service, metadata: {{name: manual, namespace: shop}},
   spec: {{ports: [{{name: http, port: 80}}]}}}}
- {{apiVersion: v1, kind: Service, metadata: {{name: web, namespace: other}},
   spec: {{selector: {{app: web}}, ports: [{{name: http, port: 80}}]}}}}
"""
POD = (
    "- {{apiVersion: v1, kind: Pod, metadata: {{name: {name}, namespace: {ns}, labels: {labels}}},"
    " spec: {{containers: [{{name: app, image: x}}]}}, status: {{podIP: {ip}}}}}"
)
PODS = [
    ("shop", "web-1", "{app: web, version: v1, tier: front}"),
    ("shop", "web-2", "{app: web, version: v2, tier: front}"),
    ("shop", "api-1", "{app: api, version: v2, tier: back}"),
    ("shop", "db-1", "{app: db}"),
    ("shop", "bare", "{}"),
    ("other", "web-1", "{app: web, version: v2, tier: front}"),
]


def _scan_workloads(c: ClusterIndex, ns: str, selector: dict[str, str]) -> list[str]:
    return [w.key for w in c.workloads_by_ns.get(ns, []) if selects(selector, w.labels)]


def _check(c: ClusterIndex) -> int:
    compared = 0
    for ns, services in c.services_by_ns.items():
        for s in services:
            sel = s.obj.spec.selector
            got = [w.key for w in c.selected_workloads(ns, sel)]
            assert got == _scan_workloads(c, ns, sel or {}), f"{ns}/{s.name}"
            compared += bool(got)
    for w in c.workloads:
        scan = [
            s.name
            for s in c.services_by_ns.get(w.namespace, [])
            if s.obj.spec.selector and selects(s.obj.spec.selector, w.labels)
        ]
        assert [s.name for s in c.selecting_services(w)] == scan, w.key
        compared += bool(scan)
    return compared


def test_crafted_selectors(tmp_path: Path) -> None:
    pods = "\n".join(
        POD.format(ns=ns, name=name, labels=labels, ip=f"10.0.0.{i + 1}")
        for i, (ns, name, labels) in enumerate(PODS)
    )
    path = tmp_path / "mesh.yaml"
    path.write_text(CRAFTED.format(pods=pods), encoding="utf-8")
    loaded = load_mesh([str(path)])
    assert not loaded.problems
    c = next(iter(loaded.mesh.clusters.values()))
    assert _check(c) > 0
    # the identities, not only the agreement with the scan
    assert [w.name for w in c.selected_workloads("shop", {"app": "web"})] == ["web-1", "web-2"]
    assert [w.name for w in c.selected_workloads("shop", {"app": "web", "version": "v2"})] == [
        "web-2"
    ]
    assert c.selected_workloads("shop", {"app": "ghost"}) == []
    web2 = next(w for w in c.workloads_by_ns["shop"] if w.name == "web-2")
    assert [s.name for s in c.selecting_services(web2)] == ["frontend", "web", "web-v2"]
    svc = c.service_named("other", "web")
    assert svc is not None and svc.namespace == "other"
    assert c.service_named("shop", "nothing") is None


@pytest.mark.parametrize("options", [{}, {"with_entries": True}])
def test_generated_mesh_selectors(tmp_path: Path, options: dict[str, bool]) -> None:
    path = tmp_path / "mesh.json"
    generate_mesh(1500, path, **options)
    for c in load_mesh([str(path)]).mesh.clusters.values():
        assert _check(c) > 100
