"""Endpoints decided once for all pods of a workload must really be alike: two inline
ServiceEntry endpoints share their ServiceEntry, port, tlsMode and identity but not their
labels, and a workload PeerAuthentication that picks one of them by label (DISABLE) turns
auto mTLS off for that endpoint alone (istio-semantics.md §3: the endpoint's own mode)."""

from __future__ import annotations

from pathlib import Path

from mtls_doctor.edges.engine import EdgeEngine
from mtls_doctor.model.load import load_mesh

MESH = """
apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ext}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: sleep, namespace: a}
spec:
  selector: {matchLabels: {app: sleep}}
  template:
    metadata: {labels: {app: sleep}}
    spec: {containers: [{name: sleep, image: curl}]}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: legacy, namespace: ext}
spec:
  hosts: [legacy.example.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}]
  endpoints:
  - {address: 10.9.0.1, labels: {app: one, security.istio.io/tlsMode: istio}, serviceAccount: legacy}
  - {address: 10.9.0.2, labels: {app: two, security.istio.io/tlsMode: istio}, serviceAccount: legacy}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: two-plain, namespace: ext}
spec:
  selector: {matchLabels: {app: two}}
  mtls: {mode: DISABLE}
"""


def test_endpoints_with_other_labels_are_decided_apart(tmp_path: Path) -> None:
    path = tmp_path / "mesh.yaml"
    path.write_text(MESH)
    engine = EdgeEngine.with_policies(load_mesh([str(path)]).mesh)
    client = next(c for c in engine.clients("default") if c.name == "a/sleep")
    target = engine.resolve(client, "legacy.example.internal:80")
    assert not isinstance(target, str)
    o = engine.target_edge(client, target).outcome
    got = {(e.address, e.verdict, e.cause) for e in o.endpoints}
    assert got == {("10.9.0.1", "mtls", None), ("10.9.0.2", "plaintext", "peer-auth-disable")}
    assert o.verdict == "mixed"
