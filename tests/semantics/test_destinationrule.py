from mtls_doctor.semantics.destinationrule import (
    DRIndex,
    cluster_tls,
    endpoint_tls_mode,
    resolve_host,
)
from tests.semantics.helpers import objs


def dr(name: str, ns: str, spec: str, created: str = "2026-01-01T00:00:00Z") -> str:
    return f"""
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: {name}, namespace: {ns}, creationTimestamp: '{created}'}}
spec: {spec}
---"""


HOST = "echo.b.svc.cluster.local"


def index(text: str) -> DRIndex:
    return DRIndex(objs(text), "istio-system")


def test_short_host_is_qualified_with_the_rule_namespace() -> None:
    assert resolve_host("echo", "b") == HOST
    assert resolve_host("global-echo", "curl") == "global-echo.curl.svc.cluster.local"
    assert resolve_host("*.local", "b") == "*.local"
    assert resolve_host("10.0.0.1", "b") == "10.0.0.1"


def test_client_namespace_wins_over_service_and_root() -> None:
    idx = index(
        dr("a-rule", "a", "{host: echo.b.svc.cluster.local, trafficPolicy: {tls: {mode: DISABLE}}}")
        + dr("b-rule", "b", "{host: echo, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}")
        + dr("root", "istio-system", "{host: '*.local', trafficPolicy: {tls: {mode: SIMPLE}}}")
    )
    assert idx.lookup("a", {}, HOST, "b").rules[0].name == "a-rule"  # type: ignore[union-attr]
    assert idx.lookup("c", {}, HOST, "b").rules[0].name == "b-rule"  # type: ignore[union-attr]
    other = "x.y.svc.cluster.local"
    assert idx.lookup("c", {}, other, "y").rules[0].name == "root"  # type: ignore[union-attr]


def test_export_to_dot_hides_the_rule_from_other_namespaces() -> None:
    idx = index(
        dr("private", "b", "{host: echo, exportTo: ['.'], trafficPolicy: {tls: {mode: DISABLE}}}")
    )
    assert idx.lookup("a", {}, HOST, "b") is None
    assert idx.lookup("b", {}, HOST, "b") is not None


def test_rules_in_other_namespaces_are_never_used() -> None:
    idx = index(
        dr(
            "elsewhere",
            "c",
            "{host: echo.b.svc.cluster.local, exportTo: ['a'], trafficPolicy: {tls: {mode: DISABLE}}}",
        )
    )
    assert idx.lookup("a", {}, HOST, "b") is None


def test_most_specific_host_wins() -> None:
    idx = index(
        dr("wide", "a", "{host: '*.svc.cluster.local', trafficPolicy: {tls: {mode: DISABLE}}}")
        + dr(
            "narrow",
            "a",
            "{host: '*.b.svc.cluster.local', trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}",
        )
    )
    assert idx.lookup("a", {}, HOST, "b").rules[0].name == "narrow"  # type: ignore[union-attr]


def test_same_host_rules_merge_oldest_policy_first() -> None:
    idx = index(
        dr(
            "newer",
            "a",
            "{host: echo.b.svc.cluster.local, trafficPolicy: {tls: {mode: DISABLE}}, subsets: [{name: v2}]}",
            "2026-02-01T00:00:00Z",
        )
        + dr(
            "older",
            "a",
            "{host: echo.b.svc.cluster.local, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}, subsets: [{name: v1}]}",
        )
    )
    choice = idx.lookup("a", {}, HOST, "b")
    assert choice is not None
    assert [r.name for r in choice.rules] == ["older", "newer"]
    assert cluster_tls(choice, 80).tls.mode == "ISTIO_MUTUAL"  # type: ignore[union-attr]


def test_selector_rule_applies_alone_to_selected_clients() -> None:
    idx = index(
        dr(
            "sel",
            "a",
            "{host: echo.b.svc.cluster.local, workloadSelector: {matchLabels: {app: sleep}}, trafficPolicy: {tls: {mode: DISABLE}}}",
        )
        + dr(
            "all",
            "a",
            "{host: echo.b.svc.cluster.local, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}",
        )
    )
    assert idx.lookup("a", {"app": "sleep"}, HOST, "b").rules[0].name == "sel"  # type: ignore[union-attr]
    assert idx.lookup("a", {"app": "other"}, HOST, "b").rules[0].name == "all"  # type: ignore[union-attr]


def test_port_level_entry_replaces_top_level_tls_for_clusters_only() -> None:
    idx = index(
        dr(
            "r",
            "a",
            "{host: echo.b.svc.cluster.local, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}, portLevelSettings: [{port: {number: 80}}]}}",
        )
    )
    choice = idx.lookup("a", {}, HOST, "b")
    assert cluster_tls(choice, 80).tls is None  # the cluster: auto mTLS decides
    assert cluster_tls(choice, 81).tls.mode == "ISTIO_MUTUAL"  # type: ignore[union-attr]
    assert endpoint_tls_mode(choice, 80) == "ISTIO_MUTUAL"  # EDS keeps the top-level mode
