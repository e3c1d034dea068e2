"""Endpoints and identities the registry gives: the tricky rules of §3.5 and §4."""

from pathlib import Path

from mtls_doctor.edges.engine import EdgeEngine
from mtls_doctor.model.load import load_mesh

FIX = Path(__file__).parent.parent / "fixtures" / "mesh"


def test_workloadentry_identity_is_read_in_its_own_namespace() -> None:
    mesh = load_mesh([str(FIX / "serviceentry-san-mismatch.yaml")]).mesh
    engine = EdgeEngine(mesh)
    reg = engine.registries["default"]
    svc = reg.by_host["global-echo"][0]
    (ep,) = reg.endpoints(svc, svc.ports[0])
    assert ep.tls_mode == "istio"
    assert ep.identity == "spiffe://cluster.local/ns/curl/sa/client"
    assert ep.server is not None and ep.server.key == "echo/echo"  # the pod at that address
    assert reg.service_accounts(svc) == ("spiffe://cluster.local/ns/curl/sa/client",)


def test_serviceentry_subject_alt_names_join_the_list() -> None:
    mesh = load_mesh([str(FIX / "serviceentry-fixed.yaml")]).mesh
    reg = EdgeEngine(mesh).registries["default"]
    svc = reg.by_host["global-echo"][0]
    assert reg.service_accounts(svc) == (
        "spiffe://cluster.local/ns/curl/sa/client",
        "spiffe://cluster.local/ns/echo/sa/default",
    )


def test_auto_mtls_with_mixed_endpoints(tmp_path: Path) -> None:
    f = tmp_path / "mixed.yaml"
    f.write_text("""
apiVersion: v1
kind: Namespace
metadata: {name: b, labels: {istio-injection: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: v1, namespace: b}
spec: {template: {metadata: {labels: {app: echo, v: "1"}}, spec: {containers: [{name: e}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: v2, namespace: b}
spec:
  template:
    metadata: {labels: {app: echo, v: "2", sidecar.istio.io/inject: "false"}}
    spec: {containers: [{name: e}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: sleep, namespace: b}
spec: {template: {metadata: {labels: {app: sleep}}, spec: {containers: [{name: s}]}}}
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: b}
spec: {selector: {app: echo}, ports: [{name: http, port: 80, targetPort: 8080}]}
""")
    engine = EdgeEngine(load_mesh([str(f)]).mesh)
    client = next(c for c in engine.clients("default") if c.name == "b/sleep")
    target = engine.resolve(client, "echo.b.svc.cluster.local:80")
    assert not isinstance(target, str)
    edge = engine.target_edge(client, target)
    per = {e.workload: (e.verdict, e.cause) for e in edge.outcome.endpoints}
    assert per == {"b/v1": ("mtls", None), "b/v2": ("plaintext", "no-server-sidecar")}
    assert edge.outcome.verdict == "mixed"
