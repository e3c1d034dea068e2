"""Static AuthorizationPolicy checks: identity rules on workloads reached by plaintext, rules
that do not say what they seem to say, and references to things that do not exist.

(Whether a policy denies a given edge is decided in the edges, `semantics/authz.py`.)"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Any

from mtls_doctor.checks.codes_authz import (
    AZ_ACCOUNT_MISSING,
    AZ_ALLOW_NO_RULES,
    AZ_IDENTITY_ON_PLAINTEXT,
    AZ_NAMESPACE_MISSING,
    AZ_SELECTS_NOTHING,
    AZ_SPLIT_RULES,
    AZ_UNKNOWN_PROVIDER,
)
from mtls_doctor.checks.context import CheckContext
from mtls_doctor.checks.destinationrule import namespace_rules, top_mode
from mtls_doctor.checks.finding import Finding, Subject
from mtls_doctor.edges.records import EndpointResult
from mtls_doctor.model.istio import AuthorizationPolicy
from mtls_doctor.model.mesh import ClusterIndex
from mtls_doctor.model.objects import Loaded
from mtls_doctor.model.workloads import Workload
from mtls_doctor.semantics.trace import selects

AP = Loaded[AuthorizationPolicy]
ALWAYS_THERE = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
# `when` keys read from the peer certificate or the TLS handshake: never match plaintext
_IDENTITY_WHEN = ("source.principal", "source.namespace", "source.serviceAccount", "connection.sni")


def _subject(p: AP) -> Subject:
    return Subject("AuthorizationPolicy", p.namespace, p.name)


def _name(p: AP) -> str:
    return f"{p.namespace}/{p.name}"


def _selector(p: AP) -> dict[str, str]:
    sel = p.obj.spec.selector
    return sel.match_labels if sel is not None else {}


def _targets_ref(p: AP) -> bool:
    return p.obj.spec.target_ref is not None or bool(p.obj.spec.target_refs)


def identity_fields(p: AP) -> list[str]:
    """The fields of a policy that match on the peer identity (they need mTLS)."""
    out: dict[str, None] = {}
    for i, rule in enumerate(p.obj.spec.rules or ()):
        for j, f in enumerate(rule.from_):
            s = f.source
            for field, values in (
                ("principals", s.principals), ("notPrincipals", s.not_principals),
                ("namespaces", s.namespaces), ("notNamespaces", s.not_namespaces),
                ("serviceAccounts", s.service_accounts),
                ("notServiceAccounts", s.not_service_accounts),
            ):  # fmt: skip
                if values:
                    out[f"rules[{i}].from[{j}].source.{field}"] = None
        for k, w in enumerate(rule.when):
            if w.key in _IDENTITY_WHEN:
                out[f"rules[{i}].when[{k}] {w.key}"] = None
    return list(out)


def applies_to(c: ClusterIndex, p: AP, w: Workload) -> bool:
    if _targets_ref(p):
        return False
    if p.namespace not in (c.config.root_namespace, w.namespace):
        return False
    return selects(_selector(p), w.labels)


def _plaintext(ep: EndpointResult) -> bool:
    if ep.verdict == "plaintext":
        return True
    return ep.verdict == "denied" and ep.arrived == "plaintext"


def identity_on_plaintext(ctx: CheckContext) -> Iterator[Finding]:
    """AZ101: ALLOW/DENY policies matching on peer identity, on workloads that mesh clients
    reach in plaintext (from the edges); for policies whose workloads are not in the inputs, from
    the namespace's PeerAuthentication, DestinationRules and auto mTLS."""
    for c in ctx.mesh.clusters.values():
        policies = [
            p for p in c.authorization_policies
            if p.obj.spec.action.upper() in ("ALLOW", "DENY") and identity_fields(p)
        ]  # fmt: skip
        if not policies:
            continue
        root = c.config.root_namespace
        by_ns: dict[str, list[AP]] = defaultdict(list)
        for p in policies:
            by_ns[p.namespace].append(p)
        by_workload: dict[str, list[AP]] = {}
        selected: set[int] = set()
        for w in c.workloads:
            candidates = by_ns.get(w.namespace, []) + (
                by_ns.get(root, []) if w.namespace != root else []
            )
            hit = [p for p in candidates if applies_to(c, p, w)]
            if hit:
                by_workload[w.key] = hit
                selected.update(id(p) for p in hit)
        reached: dict[int, dict[str, None]] = defaultdict(dict)
        details: dict[int, dict[str, None]] = defaultdict(dict)
        for r in ctx.results:
            for cls in r.classes:
                if not cls.any_sidecar:
                    continue
                for ep in cls.outcome.endpoints:
                    if ep.cluster != c.name or ep.workload not in by_workload or not _plaintext(ep):
                        continue
                    for p in by_workload[ep.workload]:
                        reached[id(p)][ep.workload] = None
                        why = ep.plain_cause or ep.cause
                        if ep.verdict == "denied":
                            why = "plaintext, so the policy denies it"
                        details[id(p)][f"{cls.names(1)[0][0]} → {r.to}: {why}"] = None
        for p in policies:
            if id(p) in reached:
                names = list(reached[id(p)])
                yield AZ_IDENTITY_ON_PLAINTEXT.finding(
                    _subject(p),
                    origin=p.origin,
                    cluster=c.name,
                    name=_name(p),
                    fields=", ".join(identity_fields(p)[:2]),
                    reached=f"{', '.join(names[:3])} {'is' if len(names) == 1 else 'are'}",
                    detail="; ".join(list(details[id(p)])[:2]),
                )
            elif id(p) not in selected:
                why = _namespace_plaintext(c, p)
                if why is not None:
                    yield AZ_IDENTITY_ON_PLAINTEXT.finding(
                        _subject(p),
                        origin=p.origin,
                        cluster=c.name,
                        name=_name(p),
                        fields=", ".join(identity_fields(p)[:2]),
                        reached=f"the workloads it selects in {p.namespace} are",
                        detail=why,
                    )


def _namespace_plaintext(c: ClusterIndex, p: AP) -> str | None:
    """Why traffic into the policy's namespace is plaintext, judged without workloads."""
    pa = c.pa.mode_for(p.namespace, _selector(p), None)
    if pa.mode == "DISABLE":
        return pa.why
    own, mesh = namespace_rules(c, p.namespace)
    # a rule for one host applies to the workloads behind that service; without workloads in
    # the inputs, the selector's app label stands for the service name (as Kiali does)
    app = _selector(p).get("app")
    named = [r for r in own if app and c.dr.hosts[id(r)].split(".", 1)[0] == app]
    wild = [r for r in own if c.dr.hosts[id(r)].startswith("*")]
    rules = named or wild or mesh if app else own or mesh
    modes = {top_mode(r): r for r in rules}
    if "DISABLE" in modes:
        r = modes["DISABLE"]
        return f"DestinationRule {r.namespace}/{r.name} sets tls mode DISABLE"
    if not c.config.enable_auto_mtls and "ISTIO_MUTUAL" not in modes:
        return "enableAutoMtls is false and no DestinationRule sets ISTIO_MUTUAL"
    return None


def rule_shapes(ctx: CheckContext) -> Iterator[Finding]:
    """AZ102 ALLOW without rules, AZ103 `from` and `to` in separate rules, AZ106 CUSTOM with an
    unknown provider."""
    for c in ctx.mesh.clusters.values():
        providers = [e.name for e in c.config.extension_providers]
        root = c.config.root_namespace
        for p in c.authorization_policies:
            action = p.obj.spec.action.upper()
            rules = p.obj.spec.rules
            common: dict[str, Any] = {"origin": p.origin, "cluster": c.name}
            if action == "ALLOW" and not rules and not _targets_ref(p):
                sel = _selector(p)
                where = "the whole mesh" if p.namespace == root else f"namespace {p.namespace}"
                scope = f"every workload of {where}"
                if sel:
                    scope = f"workloads labelled {_labels(sel)} in {where}"
                yield AZ_ALLOW_NO_RULES.finding(_subject(p), **common, name=_name(p), scope=scope)
            if action in ("ALLOW", "DENY") and rules:
                only_from = [i for i, r in enumerate(rules) if r.from_ and not r.to and not r.when]
                only_to = [i for i, r in enumerate(rules) if r.to and not r.from_ and not r.when]
                if only_from and only_to:
                    i, j = only_from[0], only_to[0]
                    effect = (
                        f"any caller may use the operations of rule {j}, and the sources of rule "
                        f"{i} may do anything"
                        if action == "ALLOW"
                        else f"every caller is denied the operations of rule {j}, and the sources "
                        f"of rule {i} are denied everything"
                    )
                    yield AZ_SPLIT_RULES.finding(
                        _subject(p), **common, name=_name(p), from_rule=i, to_rule=j, effect=effect
                    )
            if action == "CUSTOM":
                provider = p.obj.spec.provider.name if p.obj.spec.provider else ""
                if provider not in providers:
                    yield AZ_UNKNOWN_PROVIDER.finding(
                        _subject(p),
                        **common,
                        name=_name(p),
                        provider=provider or "(none)",
                        known=", ".join(providers) or "none defined",
                    )


def _labels(sel: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(sel.items()))


def _known_namespaces(c: ClusterIndex) -> set[str]:
    names = set(c.namespaces) | set(ALWAYS_THERE) | {c.config.root_namespace}
    for objs in c.by_kind.values():
        names.update(o.namespace for o in objs if o.namespace)
    return names


def _matches_any(pattern: str, names: set[str]) -> bool:
    return any(fnmatchcase(n, pattern) for n in names)


def references(ctx: CheckContext) -> Iterator[Finding]:
    """AZ104 namespaces and AZ105 service accounts that do not exist; AZ107 selectors that
    match no workload."""
    for c in ctx.mesh.clusters.values():
        if not c.authorization_policies:
            continue
        namespaces = _known_namespaces(c) if c.namespaces else None
        accounts: dict[str, set[str]] = defaultdict(set)
        for w in c.workloads:
            accounts[w.namespace].add(w.service_account)
        for sa in c.by_kind.get("ServiceAccount", ()):
            accounts[sa.namespace].add(sa.name)
        for we in c.workload_entries:
            if we.obj.spec.service_account:
                accounts[we.namespace].add(we.obj.spec.service_account)
        for p in c.authorization_policies:
            yield from _policy_references(c, p, namespaces, accounts)
        if not c.workloads:
            continue
        root = c.config.root_namespace
        for p in c.authorization_policies:
            sel = _selector(p)
            if _targets_ref(p) or (not sel and p.namespace == root):
                continue
            pool = c.workloads if p.namespace == root else c.workloads_by_ns.get(p.namespace, [])
            if any(selects(sel, w.labels) for w in pool):
                continue
            where = list(c.entries_by_ns) if p.namespace == root else [p.namespace]
            if any(c.selected_entries(ns, sel) for ns in where):
                continue
            yield AZ_SELECTS_NOTHING.finding(
                _subject(p),
                origin=p.origin,
                cluster=c.name,
                name=_name(p),
                selector=_labels(sel) or "every workload (no selector)",
                where="in the mesh" if p.namespace == root else f"in namespace {p.namespace}",
            )


def _policy_references(
    c: ClusterIndex, p: AP, namespaces: set[str] | None, accounts: dict[str, set[str]]
) -> Iterator[Finding]:
    seen: set[tuple[str, str]] = set()
    common: dict[str, Any] = {"origin": p.origin, "cluster": c.name}
    for rule in p.obj.spec.rules or ():
        for f in rule.from_:
            s = f.source
            ns_refs = [("namespaces", v) for v in s.namespaces]
            ns_refs += [("notNamespaces", v) for v in s.not_namespaces]
            sa_refs: list[tuple[str, str, str]] = []
            for field, values in (
                ("principals", s.principals),
                ("notPrincipals", s.not_principals),
            ):
                for v in values:
                    _, sep, rest = v.partition("/ns/")
                    ns, sep2, sa = rest.partition("/sa/")
                    if sep and ns and "*" not in ns:
                        ns_refs.append((field, ns))
                        if sep2 and sa and "*" not in sa:
                            sa_refs.append((field, ns, sa))
            for field, values in (
                ("serviceAccounts", s.service_accounts),
                ("notServiceAccounts", s.not_service_accounts),
            ):
                for v in values:
                    ns, sep, sa = v.rpartition("/")
                    sa_refs.append((field, ns if sep else p.namespace, sa))
            for field, ns in ns_refs:
                if namespaces is None or ns == "*" or _matches_any(ns, namespaces):
                    continue
                if (field, ns) in seen:
                    continue
                seen.add((field, ns))
                yield AZ_NAMESPACE_MISSING.finding(
                    _subject(p), **common, name=_name(p), namespace=ns, field=field
                )
            for field, ns, sa in sa_refs:
                known = accounts.get(ns)
                if not known or "*" in sa or sa in known or (field, f"{ns}/{sa}") in seen:
                    continue
                seen.add((field, f"{ns}/{sa}"))
                yield AZ_ACCOUNT_MISSING.finding(
                    _subject(p),
                    **common,
                    fix=f"Use one of the service accounts of namespace {ns} "
                    f"({', '.join(sorted(known)[:3])}) in the policy.",
                    name=_name(p),
                    account=sa,
                    field=field,
                    namespace=ns,
                )
