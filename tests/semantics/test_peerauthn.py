from mtls_doctor.semantics.peerauthn import PAIndex
from tests.semantics.helpers import objs, pa


def index(text: str) -> PAIndex:
    return PAIndex(objs(text), "istio-system")


def test_no_policy_is_permissive() -> None:
    r = PAIndex([], "istio-system").mode_for("b", {"app": "echo"}, 8080)
    assert r.mode == "PERMISSIVE"
    assert r.resources == ()


def test_mesh_then_namespace_then_workload() -> None:
    idx = index(
        pa("default", "istio-system", "{mtls: {mode: STRICT}}")
        + pa("ns", "b", "{mtls: {mode: PERMISSIVE}}")
        + pa("wl", "b", "{selector: {matchLabels: {app: echo}}, mtls: {mode: DISABLE}}")
    )
    assert idx.mode_for("b", {"app": "echo"}, 8080).mode == "DISABLE"
    assert idx.mode_for("b", {"app": "other"}, 8080).mode == "PERMISSIVE"
    assert idx.mode_for("c", {"app": "echo"}, 8080).mode == "STRICT"


def test_unset_inherits_and_mesh_unset_is_permissive() -> None:
    idx = index(pa("default", "istio-system", "{mtls: {mode: STRICT}}") + pa("ns", "b", "{}"))
    assert idx.mode_for("b", {}, 80).mode == "STRICT"
    idx = index(pa("default", "istio-system", "{mtls: {mode: UNSET}}"))
    assert idx.mode_for("b", {}, 80).mode == "PERMISSIVE"


def test_selector_policy_in_root_namespace_is_ignored() -> None:
    idx = index(
        pa("only", "istio-system", "{selector: {matchLabels: {app: echo}}, mtls: {mode: STRICT}}")
    )
    assert idx.mode_for("b", {"app": "echo"}, 8080).mode == "PERMISSIVE"
    assert [p.name for p in idx.root_selector_ignored] == ["only"]


def test_oldest_namespace_policy_wins_ties_by_name() -> None:
    same = "2026-01-01T00:00:00Z"
    idx = index(
        pa("beta", "b", "{mtls: {mode: STRICT}}", same)
        + pa("alpha", "b", "{mtls: {mode: DISABLE}}", same)
    )
    assert idx.mode_for("b", {}, 80).mode == "DISABLE"
    older = index(
        pa("beta", "b", "{mtls: {mode: STRICT}}", "2025-01-01T00:00:00Z")
        + pa("alpha", "b", "{mtls: {mode: DISABLE}}", same)
    )
    assert older.mode_for("b", {}, 80).mode == "STRICT"


def test_port_level_is_keyed_by_container_port() -> None:
    idx = index(
        pa("default", "istio-system", "{mtls: {mode: STRICT}}")
        + pa(
            "wl",
            "b",
            "{selector: {matchLabels: {app: echo}}, portLevelMtls: {8080: {mode: DISABLE}}}",
        )
    )
    assert idx.mode_for("b", {"app": "echo"}, 8080).mode == "DISABLE"
    assert idx.mode_for("b", {"app": "echo"}, 80).mode == "STRICT"  # the Service port: no match


def test_port_level_unset_inherits_workload_mode() -> None:
    idx = index(
        pa(
            "wl",
            "b",
            "{selector: {matchLabels: {app: echo}}, mtls: {mode: STRICT}, portLevelMtls: {8080: {mode: UNSET}}}",
        )
    )
    assert idx.mode_for("b", {"app": "echo"}, 8080).mode == "STRICT"


def test_namespace_mode_ignores_workload_policies() -> None:
    idx = index(
        pa("ns", "b", "{mtls: {mode: DISABLE}}")
        + pa("wl", "b", "{selector: {matchLabels: {app: echo}}, mtls: {mode: STRICT}}")
    )
    assert idx.namespace_mode("b").mode == "DISABLE"
