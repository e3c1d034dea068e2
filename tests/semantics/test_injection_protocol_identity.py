from mtls_doctor.model.load import load_mesh
from mtls_doctor.model.meshconfig import MeshConfig
from mtls_doctor.semantics import protocol
from mtls_doctor.semantics.identity import (
    expand_with_aliases,
    parse_spiffe,
    server_accepts_client,
    spiffe_id,
)
from mtls_doctor.semantics.injection import decide
from mtls_doctor.semantics.scope import CompiledScope, sidecar_allows
from tests.semantics.helpers import objs


def _workload(tmp_path, ns_labels: str, pod_labels: str = "{}", extra: str = ""):  # type: ignore[no-untyped-def]
    f = tmp_path / "m.yaml"
    f.write_text(f"""
apiVersion: v1
kind: Namespace
metadata: {{name: b, labels: {ns_labels}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: echo, namespace: b}}
spec:
  template:
    metadata: {{labels: {pod_labels}}}
    spec: {{{extra} containers: [{{name: echo}}]}}
""")
    c = load_mesh([str(f)]).mesh.clusters["default"]
    w = c.workloads[0]
    return c.injection(w)


def test_namespace_label_injects_unless_pod_opts_out(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert _workload(tmp_path, "{istio-injection: enabled}").injected
    assert not _workload(
        tmp_path, "{istio-injection: enabled}", '{sidecar.istio.io/inject: "false"}'
    ).injected


def test_disabled_namespace_blocks_pod_opt_in(tmp_path) -> None:  # type: ignore[no-untyped-def]
    inj = _workload(tmp_path, "{istio-injection: disabled}", '{sidecar.istio.io/inject: "true"}')
    assert not inj.injected
    assert "blocks" in inj.why


def test_revision_label_and_pod_opt_in(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert _workload(tmp_path, "{istio.io/rev: canary}").injected
    assert _workload(tmp_path, "{}", '{sidecar.istio.io/inject: "true"}').injected
    assert not _workload(tmp_path, "{}").injected


def test_host_network_is_never_injected(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert not _workload(
        tmp_path, "{istio-injection: enabled}", "{}", "hostNetwork: true,"
    ).injected


def test_pods_from_a_dump_say_it_themselves() -> None:
    from mtls_doctor.model.workloads import build_workloads

    pods = objs("""
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: b}
spec: {containers: [{name: app}]}
status: {phase: Running, podIP: 10.0.0.1}
""")
    w = build_workloads(pods, [])[0]
    inj = decide(w, {"istio-injection": "enabled"}, None)
    assert inj.observed and not inj.injected  # the namespace label came too late for this pod


def test_protocol_selection() -> None:
    assert protocol.kube_port("http-web", None, "TCP", 80).port_class == "http"
    assert protocol.kube_port("web", None, "TCP", 80).port_class == "auto"
    assert protocol.kube_port(None, None, "TCP", 3306).port_class == "tcp"
    assert protocol.kube_port("grpc-web-x", None, "TCP", 80).name == "GRPC-WEB"
    https = protocol.kube_port("https", None, "TCP", 443)
    assert https.port_class == "tcp" and https.app_tls
    assert protocol.kube_port("web", "kubernetes.io/h2c", "TCP", 80).port_class == "http"
    assert protocol.kube_port("tcp", "http", "TCP", 80).port_class == "http"  # appProtocol wins
    assert protocol.service_entry_port(None).port_class == "auto"
    assert protocol.service_entry_port("TLS").app_tls


def test_spiffe_and_aliases() -> None:
    sid = spiffe_id("cluster.local", "b", "default")
    assert sid == "spiffe://cluster.local/ns/b/sa/default"
    assert parse_spiffe(sid) == ("cluster.local", "b", "default")
    assert parse_spiffe("spiffe://td/ns/b") is None
    assert expand_with_aliases((sid, "dns.example.com"), ("foo.com",)) == (
        "dns.example.com", sid, "spiffe://foo.com/ns/b/sa/default",
    )  # fmt: skip
    assert server_accepts_client(sid, ("foo.com", "cluster.local"))
    assert not server_accepts_client(sid, ("foo.com",))
    assert not server_accepts_client(None, ("cluster.local",))


def test_sidecar_egress_scope() -> None:
    side = objs("""
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: a}
spec:
  egress: [{hosts: ["./*", "istio-system/*", "b/echo.b.svc.cluster.local"]}]
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
""")[0]
    assert sidecar_allows(side, "a", "a", "x.a.svc.cluster.local", 80).visible
    assert sidecar_allows(side, "a", "b", "echo.b.svc.cluster.local", 80).visible
    assert not sidecar_allows(side, "a", "b", "other.b.svc.cluster.local", 80).visible
    fast = CompiledScope(side, MeshConfig())
    assert fast.mode == "REGISTRY_ONLY"
    assert fast.sees("a", "a", "x.a.svc.cluster.local", 80)
    assert fast.sees("a", "b", "echo.b.svc.cluster.local", 80)
    assert not fast.sees("a", "b", "other.b.svc.cluster.local", 80)
    assert not fast.sees("c", "b", "other.b.svc.cluster.local", 80)
