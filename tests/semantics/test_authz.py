"""AuthorizationPolicy evaluation (istio-semantics.md §8), rule by rule. Case names follow
istio's builder tests (`pilot/pkg/security/authz/builder/builder_test.go`, testdata/tcp)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from mtls_doctor.analysis import analyze
from mtls_doctor.edges.authz_seam import make_authz
from mtls_doctor.model.load import load_mesh
from mtls_doctor.semantics.authz import (
    BAD_CUSTOM_SUFFIX,
    AuthzResult,
    Request,
    applicable,
    decide,
    expand_trust_domains,
    identity_dependent,
)
from tests.scenarios.runner import Case, cases_in, run_case
from tests.semantics.helpers import objs

SLEEP = "spiffe://cluster.local/ns/a/sa/sleep"
OTHER = "spiffe://cluster.local/ns/c/sa/other"


def ap(name: str, spec: str, ns: str = "b", extra: str = "") -> str:
    return f"""
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: {name}
  namespace: {ns}{extra}
spec: {spec}
---"""


def run(
    text: str,
    principal: str | None = SLEEP,
    chain: str = "http",
    port: int | None = 8080,
    **kw: Any,
) -> AuthzResult:
    return decide(objs(text), Request(principal, port, chain), **kw)  # type: ignore[arg-type]


# -- empty and nil rules, order --------------------------------------------------------------


def test_allow_nil_rule_denies_everything() -> None:
    r = run(ap("allow-nothing", "{action: ALLOW}"))
    assert (r.decision, r.policy) == ("denied", "none")
    assert [p.name for p in r.resources] == ["allow-nothing"]
    assert run(ap("allow-nothing", "{action: ALLOW}"), None, "tcp").decision == "denied"


def test_allow_empty_rule_allows_everything() -> None:
    assert run(ap("allow-all", "{action: ALLOW, rules: [{}]}")).decision == "allowed"
    assert run(ap("allow-all", "{action: ALLOW, rules: [{}]}"), None, "tcp").decision == "allowed"


def test_deny_empty_rule_denies_everything_with_envoy_name() -> None:
    r = run(ap("deny-all", "{action: DENY, rules: [{}]}"), None)
    assert (r.decision, r.policy) == ("denied", "ns[b]-policy[deny-all]-rule[0]")


def test_deny_without_rules_matches_nothing() -> None:
    assert run(ap("deny-none", "{action: DENY}")).decision == "allowed"


def test_deny_and_allow_deny_wins() -> None:
    text = ap("allow-all", "{action: ALLOW, rules: [{}]}") + ap(
        "deny-sleep",
        "{action: DENY, rules: [{from: [{source: {principals: ['cluster.local/ns/a/sa/sleep']}}]}]}",
    )
    r = run(text)
    assert (r.decision, r.policy) == ("denied", "ns[b]-policy[deny-sleep]-rule[0]")
    assert run(text, OTHER).decision == "allowed"


def test_first_matching_deny_rule_in_name_order_is_reported() -> None:
    text = ap("zz", "{action: DENY, rules: [{}]}") + ap("aa", "{action: DENY, rules: [{}, {}]}")
    assert run(text).policy == "ns[b]-policy[aa]-rule[0]"


def test_audit_is_not_enforced() -> None:
    assert run(ap("audit", "{action: AUDIT, rules: [{}]}")).decision == "allowed"


def test_no_allow_policy_allows() -> None:
    text = ap("deny-other", "{action: DENY, rules: [{from: [{source: {namespaces: [c]}}]}]}")
    assert run(text).decision == "allowed"
    assert run(text, OTHER).decision == "denied"


# -- identities and plaintext ------------------------------------------------------------------

DENY_SLEEP = ap(
    "deny-sleep",
    "{action: DENY, rules: [{from: [{source: {principals: ['cluster.local/ns/a/sa/sleep']}}]}]}",
)


def test_deny_principals_mtls_denied_plaintext_not() -> None:
    assert run(DENY_SLEEP, SLEEP).decision == "denied"
    assert run(DENY_SLEEP, None).decision == "allowed"


def test_deny_not_principals_denies_plaintext() -> None:
    text = ap(
        "deny-others",
        "{action: DENY, rules: [{from: [{source: {notPrincipals: ['cluster.local/ns/a/sa/sleep']}}]}]}",
    )
    assert run(text, SLEEP).decision == "allowed"
    assert run(text, OTHER).decision == "denied"
    assert run(text, None).decision == "denied"


def test_deny_not_namespaces_denies_plaintext() -> None:
    text = ap("deny-outside", "{action: DENY, rules: [{from: [{source: {notNamespaces: [a]}}]}]}")
    assert run(text, SLEEP).decision == "allowed"
    assert run(text, None).decision == "denied"


def test_allow_principals_denies_plaintext() -> None:
    text = ap(
        "allow-sleep",
        "{action: ALLOW, rules: [{from: [{source: {principals: ['cluster.local/ns/a/sa/sleep']}}]}]}",
    )
    assert run(text, SLEEP).decision == "allowed"
    r = run(text, None)
    assert (r.decision, r.policy) == ("denied", "none")
    assert "plaintext" in r.reason or "no peer identity" in r.reason
    assert run(text, OTHER).decision == "denied"


@pytest.mark.parametrize(
    ("value", "principal", "hit"),
    [
        ("cluster.local/ns/a/sa/sleep", SLEEP, True),
        ("cluster.local/ns/a/sa/sle", SLEEP, False),
        ("cluster.local/ns/a/*", SLEEP, True),
        ("cluster.local/ns/c/*", SLEEP, False),
        ("*/sa/sleep", SLEEP, True),
        ("*/sa/other", SLEEP, False),
        ("*", SLEEP, True),
        ("*", None, False),
    ],
)
def test_principal_value_forms(value: str, principal: str | None, hit: bool) -> None:
    text = ap(
        "p", f"{{action: ALLOW, rules: [{{from: [{{source: {{principals: ['{value}']}}}}]}}]}}"
    )
    assert run(text, principal).decision == ("allowed" if hit else "denied")


@pytest.mark.parametrize(
    ("value", "hit"), [("a", True), ("c", False), ("a*", True), ("*a", True), ("*", True)]
)
def test_namespaces(value: str, hit: bool) -> None:
    text = ap(
        "n", f"{{action: ALLOW, rules: [{{from: [{{source: {{namespaces: ['{value}']}}}}]}}]}}"
    )
    assert run(text).decision == ("allowed" if hit else "denied")
    assert run(text, None).decision == "denied"


def test_service_accounts_default_to_the_policy_namespace() -> None:
    text = ap("sa", "{action: ALLOW, rules: [{from: [{source: {serviceAccounts: [a/sleep]}}]}]}")
    assert run(text, SLEEP).decision == "allowed"
    assert run(text, "spiffe://cluster.local/ns/c/sa/sleep").decision == "denied"
    bare = ap("sa", "{action: ALLOW, rules: [{from: [{source: {serviceAccounts: [sleep]}}]}]}", "a")
    assert run(bare, SLEEP).decision == "allowed"


def test_from_entries_or_and_fields_and() -> None:
    text = ap(
        "or",
        "{action: ALLOW, rules: [{from: [{source: {namespaces: [c]}}, {source: {namespaces: [a], principals: ['cluster.local/ns/a/sa/x']}}]}]}",
    )
    assert run(text, OTHER).decision == "allowed"  # first entry
    assert run(text, SLEEP).decision == "denied"  # second entry: namespace yes, principal no


def test_when_source_namespace_and_principal() -> None:
    text = ap("w", "{action: DENY, rules: [{when: [{key: source.namespace, values: [a]}]}]}")
    assert run(text, SLEEP).decision == "denied"
    assert run(text, OTHER).decision == "allowed"
    text = ap(
        "w",
        "{action: DENY, rules: [{when: [{key: source.principal, notValues: ['cluster.local/ns/a/sa/sleep']}]}]}",
    )
    assert run(text, SLEEP).decision == "allowed"
    assert run(text, None).decision == "denied"


# -- trust domains ------------------------------------------------------------------------------


def test_trust_domain_one_alias() -> None:
    tds = ("td1", "cluster.local")
    assert expand_trust_domains(["cluster.local/ns/a/sa/sleep"], tds) == [
        "td1/ns/a/sa/sleep",
        "cluster.local/ns/a/sa/sleep",
    ]
    text = ap(
        "p",
        "{action: ALLOW, rules: [{from: [{source: {principals: ['cluster.local/ns/a/sa/sleep']}}]}]}",
    )
    assert run(text, "spiffe://td1/ns/a/sa/sleep", trust_domains=tds).decision == "allowed"


def test_trust_domain_multiple_aliases_and_foreign_domains() -> None:
    tds = ("td1", "td2", "td3")
    got = expand_trust_domains(["td2/ns/a/sa/x", "other/ns/a/sa/x", "*/sa/x", "td1/bad"], tds)
    assert got == [
        "td1/ns/a/sa/x", "td2/ns/a/sa/x", "td3/ns/a/sa/x", "other/ns/a/sa/x", "*/sa/x", "td1/bad"
    ]  # fmt: skip
    # cluster.local is expanded even when it is not in the bundle
    assert expand_trust_domains(["cluster.local/ns/a/sa/x"], ("td1",)) == ["td1/ns/a/sa/x"]
    text = ap(
        "p", "{action: ALLOW, rules: [{from: [{source: {principals: ['other/ns/a/sa/sleep']}}]}]}"
    )
    assert run(text, "spiffe://td1/ns/a/sa/sleep", trust_domains=tds).decision == "denied"


# -- HTTP-only fields, TCP chains --------------------------------------------------------------


def test_tcp_allow_only_http_drops_the_rule() -> None:
    text = ap("allow-get", "{action: ALLOW, rules: [{to: [{operation: {methods: [GET]}}]}]}")
    r = run(text, SLEEP, "tcp")
    assert (r.decision, r.policy) == ("denied", "none")
    assert any("HTTP only" in n for n in r.notes)
    h = run(text, SLEEP, "http")
    assert h.decision == "conditional"
    assert [(c.action, c.effect, c.condition) for c in h.conditions] == [
        ("ALLOW", "allowed only when", "methods in ['GET']")
    ]


def test_tcp_allow_both_http_tcp_keeps_the_tcp_rule() -> None:
    text = ap(
        "both",
        "{action: ALLOW, rules: [{to: [{operation: {methods: [GET]}}]}, {to: [{operation: {ports: ['8080']}}]}]}",
    )
    assert run(text, SLEEP, "tcp").decision == "allowed"
    assert run(text, SLEEP, "tcp", port=9090).decision == "denied"


def test_tcp_deny_both_http_tcp_drops_only_the_condition() -> None:
    text = ap("deny-get", "{action: DENY, rules: [{to: [{operation: {methods: [GET]}}]}]}")
    r = run(text, SLEEP, "tcp")
    assert (r.decision, r.policy) == ("denied", "ns[b]-policy[deny-get]-rule[0]")
    h = run(text, SLEEP, "http")
    assert h.decision == "conditional"
    assert [(c.effect, c.condition) for c in h.conditions] == [
        ("denied when", "methods in ['GET']")
    ]


def test_tcp_deny_scoped_by_ports() -> None:
    text = ap(
        "deny", "{action: DENY, rules: [{to: [{operation: {methods: [GET], ports: ['9090']}}]}]}"
    )
    assert run(text, SLEEP, "tcp", port=8080).decision == "allowed"
    assert run(text, SLEEP, "tcp", port=9090).decision == "denied"


def test_http_paths_condition_is_conditional_not_denied() -> None:
    text = ap(
        "paths",
        "{action: ALLOW, rules: [{to: [{operation: {paths: ['/api/*'], notMethods: [DELETE]}}]}]}",
    )
    r = run(text)
    assert r.decision == "conditional"
    assert r.conditions[0].condition == "methods not in ['DELETE'] and paths in ['/api/*']"
    assert r.conditions[0].policy == "ns[b]-policy[paths]-rule[0]"


def test_http_condition_with_a_principal_that_never_matches_is_denied() -> None:
    text = ap(
        "p",
        "{action: ALLOW, rules: [{from: [{source: {principals: ['cluster.local/ns/c/sa/other']}}], to: [{operation: {paths: ['/x']}}]}]}",
    )
    assert run(text, SLEEP).decision == "denied"
    assert run(text, OTHER).decision == "conditional"


def test_request_headers_when_is_http_only() -> None:
    text = ap(
        "h", "{action: ALLOW, rules: [{when: [{key: 'request.headers[x-user]', values: [admin]}]}]}"
    )
    assert run(text, chain="http").decision == "conditional"
    assert run(text, chain="tcp").decision == "denied"


# -- ports, IPs and keys the inputs cannot decide ----------------------------------------------


def test_ports_and_destination_port() -> None:
    text = ap("ports", "{action: ALLOW, rules: [{to: [{operation: {ports: ['8080']}}]}]}")
    assert run(text, port=8080).decision == "allowed"
    assert run(text, port=9090).decision == "denied"
    assert run(text, port=None).decision == "unknown"
    text = ap(
        "dp", "{action: DENY, rules: [{when: [{key: destination.port, notValues: ['8080']}]}]}"
    )
    assert run(text, port=8080).decision == "allowed"
    assert run(text, port=9090).decision == "denied"


def test_ip_blocks_are_unknown_with_the_reason() -> None:
    text = ap("ips", "{action: ALLOW, rules: [{from: [{source: {ipBlocks: ['10.0.0.0/8']}}]}]}")
    r = run(text)
    assert (r.decision, r.policy) == ("unknown", "ns[b]-policy[ips]-rule[0]")
    assert "source IP" in r.reason
    text = ap("rips", "{action: DENY, rules: [{from: [{source: {remoteIpBlocks: ['1.2.3.4']}}]}]}")
    assert run(text).decision == "unknown"
    text = ap("sip", "{action: DENY, rules: [{when: [{key: source.ip, values: ['1.2.3.4']}]}]}")
    assert run(text).decision == "unknown"


def test_unknown_ip_but_certain_denial_is_denied() -> None:
    text = ap(
        "ips", "{action: DENY, rules: [{from: [{source: {ipBlocks: ['10.0.0.0/8']}}]}]}"
    ) + ap("allow-c", "{action: ALLOW, rules: [{from: [{source: {namespaces: [c]}}]}]}")
    assert run(text, SLEEP).decision == "denied"
    assert run(text, OTHER).decision == "unknown"


def test_unknown_when_key_makes_the_rule_invalid() -> None:
    text = ap("bad", "{action: ALLOW, rules: [{when: [{key: request.nonsense, values: [x]}]}]}")
    r = run(text)
    assert r.decision == "denied"
    assert any("unknown when key" in n for n in r.notes)


# -- CUSTOM -------------------------------------------------------------------------------------


def test_custom_unknown_provider_denies_with_its_rules() -> None:
    text = ap("ext", "{action: CUSTOM, provider: {name: my-authz}, rules: [{}]}")
    r = run(text, providers=())
    assert r.decision == "denied"
    assert r.policy == "istio-ext-authz-ns[b]-policy[ext]-rule[0]" + BAD_CUSTOM_SUFFIX
    assert any("my-authz" in n for n in r.notes)
    scoped = ap(
        "ext",
        "{action: CUSTOM, provider: {name: my-authz}, rules: [{to: [{operation: {paths: ['/admin']}}]}]}",
    )
    assert run(scoped, providers=()).decision == "conditional"
    assert run(scoped, chain="tcp", providers=()).decision == "denied"


def test_custom_known_provider_is_a_condition() -> None:
    text = ap("ext", "{action: CUSTOM, provider: {name: my-authz}, rules: [{}]}")
    r = run(text, providers=("my-authz",))
    assert r.decision == "conditional"
    assert r.conditions[0].effect == "sent to ext_authz provider my-authz when"


def test_custom_two_providers_deny() -> None:
    text = ap("e1", "{action: CUSTOM, provider: {name: p1}, rules: [{}]}") + ap(
        "e2", "{action: CUSTOM, provider: {name: p2}, rules: [{}]}"
    )
    assert run(text, providers=("p1", "p2")).decision == "denied"


# -- which policies apply ----------------------------------------------------------------------


def test_applicability() -> None:
    policies = objs(
        ap("root-echo", "{selector: {matchLabels: {app: echo}}}", "istio-system")
        + ap("root-all", "{}", "istio-system")
        + ap("own", "{}", "b")
        + ap("own-other", "{selector: {matchLabels: {app: other}}}", "b")
        + ap("elsewhere", "{}", "c")
        + ap("target", "{targetRefs: [{kind: Service, group: '', name: echo}]}", "b")
        + ap("target1", "{targetRef: {kind: Gateway, name: gw}}", "b")
    )
    got = applicable(policies, "b", {"app": "echo"}, "istio-system")
    assert sorted(p.name for p in got) == ["own", "root-all", "root-echo"]


def test_dry_run_is_never_enforced() -> None:
    text = ap(
        "dry", "{action: DENY, rules: [{}]}", extra="\n  annotations: {istio.io/dry-run: 'true'}"
    )
    assert run(text).decision == "allowed"


def test_identity_dependent() -> None:
    assert identity_dependent(objs(DENY_SLEEP)[0])
    assert not identity_dependent(
        objs(ap("x", "{action: DENY, rules: [{to: [{operation: {paths: [/a]}}]}]}"))[0]
    )


# -- through the engine ------------------------------------------------------------------------

MESH = """
apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b, labels: {istio-injection: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: sleep, namespace: a}
spec:
  selector: {matchLabels: {app: sleep}}
  template:
    metadata: {labels: {app: sleep}}
    spec: {serviceAccountName: sleep, containers: [{name: c, image: i}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: other, namespace: a}
spec:
  selector: {matchLabels: {app: other}}
  template:
    metadata: {labels: {app: other}}
    spec: {serviceAccountName: other, containers: [{name: c, image: i}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo, namespace: b}
spec:
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec: {containers: [{name: c, image: i, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: b}
spec:
  selector: {app: echo}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
"""


def _verdicts(tmp_path: Path, extra: str) -> dict[str, tuple[str, str | None]]:
    f = tmp_path / "mesh.yaml"
    f.write_text(MESH + extra)
    a = analyze(load_mesh([str(f)]))
    return {
        e.from_: (e.outcome.verdict, e.outcome.cause)
        for r in a.results
        for e in r.edges(a.engine)
        if e.to == "echo.b.svc.cluster.local:80"
    }


def test_engine_tells_identities_apart(tmp_path: Path) -> None:
    got = _verdicts(tmp_path, DENY_SLEEP)
    assert got["a/sleep"] == ("denied", "authz-denied")
    assert got["a/other"] == ("mtls", None)


def test_relevance_is_none_without_identity_policies(tmp_path: Path) -> None:
    f = tmp_path / "mesh.yaml"
    f.write_text(MESH + ap("paths", "{action: ALLOW, rules: [{to: [{operation: {paths: [/a]}}]}]}"))
    mesh = load_mesh([str(f)]).mesh
    _, relevance = make_authz(mesh)
    from mtls_doctor.edges.engine import EdgeEngine

    engine = EdgeEngine(mesh)
    svc = next(s for s in engine.registries["default"].services if s.hostname.startswith("echo."))
    assert not relevance.distinguishes(svc, svc.ports[0])
    assert all(relevance(c, svc, svc.ports[0]) is None for c in engine.clients("default"))
    f.write_text(MESH + DENY_SLEEP)
    mesh = load_mesh([str(f)]).mesh
    _, relevance = make_authz(mesh)
    engine = EdgeEngine(mesh)
    svc = next(s for s in engine.registries["default"].services if s.hostname.startswith("echo."))
    assert relevance.distinguishes(svc, svc.ports[0])
    keys = {c.name: relevance(c, svc, svc.ports[0]) for c in engine.clients("default")}
    assert keys["a/sleep"] != keys["a/other"]


SCENARIO = Path(__file__).parent.parent / "scenarios" / "authz"


def test_conditional_edge_lists_conditions_in_json() -> None:
    from mtls_doctor.report.edges_json import edge_dict

    a = analyze(load_mesh([str(SCENARIO / "base.yaml"), str(SCENARIO / "http-paths.yaml")]))
    edges = {(e.from_, e.to): edge_dict(e) for r in a.results for e in r.edges(a.engine)}
    d = edges[("a/sleep", "echo.b.svc.cluster.local:80")]
    assert (d["verdict"], d["cause"]) == ("mtls", None)
    assert d["authz"] == [
        {
            "policy": "ns[b]-policy[api-only]-rule[0]",
            "action": "ALLOW",
            "effect": "allowed only when",
            "condition": "paths in ['/api/*']",
        }
    ]
    assert any(
        s["step"] == "authorization" and s["resources"] == ["AuthorizationPolicy/b/api-only"]
        for s in d["trace"]
    )
    assert "authz" not in edges[("a/sleep", "tcp-echo.b.svc.cluster.local:9000")]


def test_denied_edge_names_policy_in_trace_and_symptom() -> None:
    a = analyze(load_mesh([str(SCENARIO / "base.yaml"), str(SCENARIO / "deny-principals.yaml")]))
    e = next(
        e for r in a.results for e in r.edges(a.engine)
        if (e.from_, e.to) == ("a/sleep", "echo.b.svc.cluster.local:80")
    )  # fmt: skip
    step = next(s for s in e.outcome.trace if s.step == "authorization")
    assert [r.key for r in step.resources] == ["AuthorizationPolicy/b/deny-sleep"]
    assert "rule 0" in step.decision and "spiffe://cluster.local/ns/a/sa/sleep" in step.decision
    assert e.outcome.symptom is not None
    assert e.outcome.symptom.http_status == 403
    assert "rbac_access_denied_matched_policy[ns[b]-policy[deny-sleep]-rule[0]]" in (
        e.outcome.symptom.server_log or ""
    )


# -- big meshes: namespace classes give the same edges as evaluating every client -------------


def _bench_generate(pods: int, path: Path) -> None:
    import importlib.util

    root = Path(__file__).resolve().parent.parent.parent
    spec = importlib.util.spec_from_file_location("bench", root / "scripts" / "bench.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.generate(pods, path)


def test_namespace_classes_agree_with_per_client_evaluation(tmp_path: Path) -> None:
    dump = tmp_path / "mesh.json"
    _bench_generate(400, dump)
    policies = tmp_path / "policies.yaml"
    policies.write_text(
        ap(
            "only-2",
            "{selector: {matchLabels: {app: svc-01}}, action: ALLOW, rules: [{from: [{source: {namespaces: [team-0002]}}, {source: {principals: ['cluster.local/ns/team-0003/sa/svc-01']}}]}]}",
            "team-0001",
        )
        + ap(
            "deny-outsiders",
            "{action: DENY, rules: [{from: [{source: {notNamespaces: [team-0001, team-0002]}}]}]}",
            "team-0002",
        )
        + ap(
            "no-default-sa",
            "{selector: {matchLabels: {app: svc-05}}, action: DENY, rules: [{from: [{source: {principals: ['*/sa/default']}}]}]}",
            "istio-system",
        )
        + ap(
            "paths", "{action: ALLOW, rules: [{to: [{operation: {paths: [/api/*]}}]}]}", "team-0004"
        )
        + ap(
            "ips",
            "{action: ALLOW, rules: [{from: [{source: {ipBlocks: [10.0.0.0/8]}}]}]}",
            "team-0006",
        )
    )
    load = load_mesh([str(dump), str(policies)])

    def summary(a: Any) -> set[tuple[str, str, str, str | None]]:
        return {
            (c.name, r.to, cls.outcome.verdict, cls.outcome.cause)
            for r in a.results
            for cls in r.classes
            for c in cls.clients
        }

    fast = analyze(load)
    seam, hook = make_authz(load.mesh)
    per_client = hook.__call__  # a plain hook: classify then evaluates every client
    slow = analyze(load, authz=seam, authz_relevance=per_client)
    got = summary(fast)
    assert got == summary(slow)
    verdicts = {v for _, _, v, _ in got}
    assert {"denied", "unknown", "mtls"} <= verdicts
    # the fast road shares outcomes by namespace even where a policy names identities
    team2 = [r for r in fast.results if r.service.namespace == "team-0002"]
    assert team2 and all(any(cls.members for cls in r.classes) for r in team2)
    assert not any(cls.members for r in slow.results for cls in r.classes)


# -- real Envoy: the policies compiled into RBAC filters do what the engine predicts ------------

TABLE = SCENARIO.parent / "semantics-table"
LAB_CASES = [
    c
    for c in cases_in(SCENARIO.parent)
    if c.folder.name == "authz" or (c.folder == TABLE and "authz" in c.name)
]


@pytest.mark.lab
@pytest.mark.parametrize("case", LAB_CASES, ids=lambda c: c.id)
def test_envoy_rbac_agrees_with_the_prediction(case: Case) -> None:
    from mtls_doctor.edges.authz_seam import AuthzIndex, lab_rbac
    from mtls_doctor.edges.lab_case import lab_cases
    from mtls_doctor.lab.envoyproc import LabUnavailable, find_envoy
    from mtls_doctor.lab.result import run_case as replay

    try:
        find_envoy()
    except LabUnavailable as exc:
        pytest.skip(f"Envoy cannot run here: {exc}")
    a = run_case(case)
    engine = a.engine
    index = AuthzIndex(a.load.mesh)
    replayed, disagreements = 0, []
    for exp in case.spec["edges"]:
        client = next(c for c in engine.clients("default") if c.name == exp["from"])
        target = engine.resolve(client, exp["to"])
        assert not isinstance(target, str), target
        (ep,) = engine.registries["default"].endpoints(target.svc, target.port)
        assert ep.server is not None and ep.server_cluster is not None
        facts = engine.servers.facts(ep.server_cluster, ep.server, ep.target_port)
        for lc in lab_cases(engine, client, target)[0]:
            chain = "http" if lc.app_protocol == "http" and lc.port_class != "tcp" else "tcp"
            rbac = lab_rbac(index, facts, ep.target_port, chain)
            if isinstance(rbac, str):
                continue  # request-dependent or undecidable: nothing single to replay
            server = msgspec.structs.replace(lc.server, rbac=rbac)
            r = replay(msgspec.structs.replace(lc, server=server))
            replayed += 1
            if not r.agrees:
                disagreements.append(
                    f"{lc.name}: predicted {lc.predicted.verdict}/{lc.predicted.cause}, Envoy "
                    f"{r.outcome.verdict}/{r.outcome.cause}"
                )
    assert disagreements == []
    if case.name not in ("ip-blocks-unknown", "http-paths-condition-keeps-verdict",
                         "custom-known-provider-keeps-verdict"):  # fmt: skip
        assert replayed > 0
