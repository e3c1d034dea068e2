"""Generated meshes through the engine and through real Envoy: the lab's observed outcome must
equal the engine's predicted verdict and cause. Each example writes manifests (PeerAuthentication
at mesh, namespace, workload and port level; DestinationRule modes; sidecars on either side;
port protocols; WorkloadEntry identities and ServiceEntry SANs; AuthorizationPolicies), lets
mtls-doctor predict `a/sleep`'s edge, turns every endpoint into a LabCase and replays it.

A disagreement is a bug in the prediction or in the lab: fix it, do not loosen the test.
Derandomised, so CI explores the same few hundred configurations every run."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtls_doctor.edges.engine import EdgeEngine
from mtls_doctor.edges.lab_case import lab_cases
from mtls_doctor.model.load import load_mesh

pytestmark = [pytest.mark.lab]

SETTINGS = settings(
    max_examples=70,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
MODES = st.sampled_from(["STRICT", "PERMISSIVE", "DISABLE"])
SIDECAR_STATUS = '{"containers":["istio-proxy"]}'


def _ns(name: str, injected: bool) -> dict[str, Any]:
    labels = {"istio-injection": "enabled" if injected else "disabled"}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def _sleep() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "sleep", "namespace": "a"},
        "spec": {"template": {"metadata": {"labels": {"app": "sleep"}},
                              "spec": {"serviceAccountName": "sleep",
                                       "containers": [{"name": "sleep"}]}}},
    }  # fmt: skip


def _echo_pod(sidecar: bool, port_name: str | None) -> dict[str, Any]:
    labels = {"app": "echo", "pod-template-hash": "5f7d9c8b4"}
    meta: dict[str, Any] = {
        "name": "echo-5f7d9c8b4-q8w2m", "namespace": "b", "labels": labels,
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                             "name": "echo-5f7d9c8b4", "controller": True}],
    }  # fmt: skip
    containers: list[dict[str, Any]] = [{"name": "echo", "ports": [{"containerPort": 8080}]}]
    if port_name:
        containers[0]["ports"][0]["name"] = port_name
    if sidecar:
        labels["security.istio.io/tlsMode"] = "istio"
        meta["annotations"] = {"sidecar.istio.io/status": SIDECAR_STATUS}
        containers.append({"name": "istio-proxy", "args": ["proxy", "sidecar"]})
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": meta,
        "spec": {"serviceAccountName": "default", "containers": containers},
        "status": {"phase": "Running", "podIP": "10.8.0.10"},
    }  # fmt: skip


def _service(port_name: str | None) -> dict[str, Any]:
    port: dict[str, Any] = {"port": 80, "targetPort": 8080}
    if port_name:
        port["name"] = port_name
    return {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "echo", "namespace": "b"},
        "spec": {"clusterIP": "10.96.0.10", "selector": {"app": "echo"}, "ports": [port]},
    }  # fmt: skip


def _pa(name: str, ns: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}  # fmt: skip


def _dr(host: str, tls: dict[str, Any], port_level: bool) -> dict[str, Any]:
    policy: dict[str, Any] = {"tls": tls}
    if port_level:
        policy["portLevelSettings"] = [{"port": {"number": 80}, "tls": tls}]
        policy.pop("tls")
    return {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
            "metadata": {"name": "echo", "namespace": "a"},
            "spec": {"host": host, "trafficPolicy": policy}}  # fmt: skip


@st.composite
def service_meshes(draw: st.DrawFn) -> tuple[list[dict[str, Any]], str]:
    client_sidecar = draw(st.booleans())
    server_sidecar = draw(st.booleans())
    port_name = draw(st.sampled_from(["http", "http-web", "tcp", "grpc", None]))
    objs = [_ns("a", client_sidecar), _ns("b", True), _sleep(), _echo_pod(server_sidecar, None),
            _service(port_name)]  # fmt: skip
    mesh = draw(st.none() | MODES)
    if mesh:
        objs.append(_pa("default", "istio-system", {"mtls": {"mode": mesh}}))
    ns_mode = draw(st.none() | MODES)
    if ns_mode:
        objs.append(_pa("default", "b", {"mtls": {"mode": ns_mode}}))
    wl = draw(st.none() | MODES)
    port = draw(st.none() | MODES)
    if wl or port:
        spec: dict[str, Any] = {"selector": {"matchLabels": {"app": "echo"}}}
        if wl:
            spec["mtls"] = {"mode": wl}
        if port:
            spec["portLevelMtls"] = {8080: {"mode": port}}
        objs.append(_pa("echo", "b", spec))
    dr = draw(st.sampled_from([None, "DISABLE", "ISTIO_MUTUAL", "SIMPLE", "SIMPLE-skip"]))
    if dr:
        tls: dict[str, Any] = {"mode": dr.split("-")[0]}
        if dr == "SIMPLE-skip":
            tls["insecureSkipVerify"] = True
        objs.append(_dr("echo.b.svc.cluster.local", tls, draw(st.booleans())))
    return objs, "echo.b.svc.cluster.local:80"


@st.composite
def serviceentry_meshes(draw: st.DrawFn) -> tuple[list[dict[str, Any]], str]:
    """The blog's shape: a ServiceEntry in `a` whose WorkloadEntry points at echo's pod IP."""
    objs = [_ns("a", True), _ns("b", True), _sleep(), _echo_pod(draw(st.booleans()), None),
            _service("http")]  # fmt: skip
    mesh = draw(st.none() | MODES)
    if mesh:
        objs.append(_pa("default", "istio-system", {"mtls": {"mode": mesh}}))
    we_ns = draw(st.sampled_from(["a", "b"]))
    we_spec: dict[str, Any] = {"address": "10.8.0.10", "labels": {"svc": "global-echo"}}
    sa = draw(st.sampled_from([None, "default", "client"]))
    if sa:
        we_spec["serviceAccount"] = sa
    if draw(st.booleans()) and sa is None:
        we_spec["labels"]["security.istio.io/tlsMode"] = "istio"
    objs.append({"apiVersion": "networking.istio.io/v1", "kind": "WorkloadEntry",
                 "metadata": {"name": "echo-pod", "namespace": we_ns}, "spec": we_spec})  # fmt: skip
    se: dict[str, Any] = {
        "hosts": ["global-echo"], "location": "MESH_INTERNAL", "resolution": "STATIC",
        "ports": [{"name": "http", "number": 80, "protocol": "HTTP", "targetPort": 8080}],
        "workloadSelector": {"labels": {"svc": "global-echo"}},
    }  # fmt: skip
    if draw(st.booleans()):
        se["subjectAltNames"] = ["spiffe://cluster.local/ns/b/sa/default"]
    objs.append({"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
                 "metadata": {"name": "global-echo", "namespace": we_ns}, "spec": se})  # fmt: skip
    return objs, "global-echo:80"


@st.composite
def authz_meshes(draw: st.DrawFn) -> tuple[list[dict[str, Any]], str]:
    objs, to = draw(service_meshes())
    rule = draw(st.sampled_from([
        ("ALLOW", [{"from": [{"source": {"principals": ["cluster.local/ns/a/sa/sleep"]}}]}]),
        ("ALLOW", [{"from": [{"source": {"principals": ["cluster.local/ns/x/sa/other"]}}]}]),
        ("DENY", [{"from": [{"source": {"principals": ["cluster.local/ns/a/sa/sleep"]}}]}]),
        ("DENY", [{"from": [{"source": {"namespaces": ["a"]}}]}]),
        ("DENY", [{"from": [{"source": {"notNamespaces": ["a"]}}]}]),
        ("ALLOW", None),
        ("ALLOW", [{}]),
    ]))  # fmt: skip
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": "echo"}}, "action": rule[0]}
    if rule[1] is not None:
        spec["rules"] = rule[1]
    objs.append({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
                 "metadata": {"name": "policy", "namespace": "b"}, "spec": spec})  # fmt: skip
    return objs, to


def _replay(objs: list[dict[str, Any]], to: str) -> None:
    from mtls_doctor.lab.result import run_case

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mesh.yaml"
        path.write_text(yaml.safe_dump_all(objs, sort_keys=False))
        engine = EdgeEngine.with_policies(load_mesh([str(path)]).mesh)
        client = next(c for c in engine.clients("default") if c.name == "a/sleep")
        target = engine.resolve(client, to)
        assert not isinstance(target, str), target
        cases, _ = lab_cases(engine, client, target)
        for case in cases:
            r = run_case(case)
            assert r.agrees, (
                f"predicted {case.predicted.verdict}/{case.predicted.cause}, Envoy "
                f"{r.outcome.verdict}/{r.outcome.cause}\n{r.observation}\n"
                + yaml.safe_dump_all(objs, sort_keys=False)
            )


@SETTINGS
@given(service_meshes())
def test_services(envoy: str, mesh: tuple[list[dict[str, Any]], str]) -> None:
    _replay(*mesh)


@SETTINGS
@given(serviceentry_meshes())
def test_serviceentries(envoy: str, mesh: tuple[list[dict[str, Any]], str]) -> None:
    _replay(*mesh)


@SETTINGS
@given(authz_meshes())
def test_authorization(envoy: str, mesh: tuple[list[dict[str, Any]], str]) -> None:
    _replay(*mesh)
