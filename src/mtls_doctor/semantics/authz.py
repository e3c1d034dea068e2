"""AuthorizationPolicy on a server sidecar, decided the way Istio builds its RBAC filters
(istio-semantics.md §8; istio `pilot/pkg/security/authz/builder` and `model`).

Which policies attach to a workload (`applicable`), and what they do to one connection
(`decide`): CUSTOM, then DENY, then ALLOW. A request is described by what the inputs can tell:
the peer principal (None for plaintext), the destination (target) port and the filter chain
kind. What a single request carries (method, path, headers, JWT) is not known, so rules on
those make an edge *conditional*; what no manifest tells (source IP, SNI, Envoy metadata) makes
it *unknown*. Every answer names the deciding rule the way Envoy does:
`ns[NS]-policy[NAME]-rule[N]`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Literal, NamedTuple

from mtls_doctor.model.istio import AuthorizationPolicy, Condition, Operation, Rule, Source
from mtls_doctor.model.objects import Loaded
from mtls_doctor.record import Record
from mtls_doctor.semantics.peerauthn import creation_order
from mtls_doctor.semantics.trace import selects

Chain = Literal["http", "tcp"]
Decision = Literal["allowed", "denied", "conditional", "unknown"]
Policy = Loaded[AuthorizationPolicy]

DRY_RUN = "istio.io/dry-run"
EXT_AUTHZ_PREFIX = "istio-ext-authz-"
BAD_CUSTOM_SUFFIX = "-deny-due-to-bad-CUSTOM-action"
DEFAULT_TRUST_DOMAIN = "cluster.local"

# `when` keys (model.go New): what each one needs.
_HTTP_WHEN = ("request.headers[", "request.experimental.inline.headers[", "request.auth.claims[")
_HTTP_WHEN_EXACT = frozenset(
    {"request.auth.principal", "request.auth.audiences", "request.auth.presenter"}
)
_UNDECIDABLE_WHEN = {
    "source.ip": "the client's source IP is not in the inputs",
    "remote.ip": "the original client IP (X-Forwarded-For, PROXY protocol) is not in the inputs",
    "destination.ip": "the destination IP the server sidecar sees is not decided statically",
    "connection.sni": "the SNI of the connection is not decided statically",
}
_ENVOY_FILTER_WHEN = "experimental.envoy.filters."
IDENTITY_WHEN = frozenset({"source.principal", "source.namespace", "source.serviceAccount"})


class Request(Record):
    """One connection at the server sidecar, as far as the inputs describe it."""

    principal: str | None  # the peer's SPIFFE ID (mTLS), None for plaintext
    port: int | None  # the destination (target) port at the server sidecar
    chain: Chain  # the inbound filter chain: HTTP (RBAC http filter) or TCP (network RBAC)


class AuthzCondition(Record):
    """A request-dependent part of the answer: requests matching `condition` are `effect`."""

    policy: str  # Envoy's name of the rule
    action: str  # ALLOW, DENY or CUSTOM
    effect: str  # "allowed only when", "denied when", "sent to ext_authz provider P when"
    condition: str


class AuthzResult(Record):
    decision: Decision
    policy: str | None  # the deciding rule; "none" when no ALLOW rule matched
    reason: str
    resources: tuple[Policy, ...] = ()  # the policies that decided
    conditions: tuple[AuthzCondition, ...] = ()
    notes: tuple[str, ...] = ()  # rules Istio skips or drops, CUSTOM provider problems


ALLOWED_NO_POLICY = AuthzResult("allowed", None, "no AuthorizationPolicy applies")


# -- which policies apply -----------------------------------------------------------------------


def is_dry_run(p: Policy) -> bool:
    """`istio.io/dry-run` parsed like Go's strconv.ParseBool: the policy goes to shadow rules."""
    return p.meta.annotations.get(DRY_RUN, "").strip() in ("1", "t", "T", "true", "TRUE", "True")


def attaches(p: Policy, namespace: str, labels: dict[str, str], root_namespace: str) -> bool:
    """`ShouldAttachPolicy` for a sidecar: root or own namespace, no targetRef(s), selector ⊆
    labels (a root-namespace selector applies in every namespace)."""
    if p.namespace not in (root_namespace, namespace):
        return False
    spec = p.obj.spec
    if spec.target_ref is not None or spec.target_refs:
        return False
    return selects(spec.selector.match_labels if spec.selector else None, labels)


def applicable(
    policies: Iterable[Policy], namespace: str, labels: dict[str, str], root_namespace: str
) -> tuple[Policy, ...]:
    """The policies attached to a workload, oldest first (dry-run ones included)."""
    found = [p for p in policies if attaches(p, namespace, labels, root_namespace)]
    return tuple(sorted(found, key=creation_order))


def identity_dependent(p: Policy) -> bool:
    """Whether the policy's answer can differ between two peers (names identities)."""
    for rule in p.obj.spec.rules or ():
        for f in rule.from_:
            s = f.source
            if (s.principals or s.not_principals or s.namespaces or s.not_namespaces
                    or s.service_accounts or s.not_service_accounts):  # fmt: skip
                return True
        if any(c.key in IDENTITY_WHEN for c in rule.when):
            return True
    return False


Atom = tuple[str, str, str]  # (principal | namespace | serviceAccount, value, policy namespace)


def identity_atoms(p: Policy, trust_domains: Sequence[str]) -> tuple[Atom, ...]:
    """Every identity test the policy makes. Two peers for which every atom answers the same
    get the same decision from it (the decision reads the principal through these only)."""
    out: dict[Atom, None] = {}

    def add(kind: str, values: Iterable[str]) -> None:
        for v in values:
            if kind == "principal":
                for e in expand_trust_domains([v], trust_domains):
                    out[(kind, e, p.namespace)] = None
            else:
                out[(kind, v, p.namespace)] = None

    for rule in p.obj.spec.rules or ():
        for f in rule.from_:
            s = f.source
            add("principal", [*s.principals, *s.not_principals])
            add("namespace", [*s.namespaces, *s.not_namespaces])
            add("serviceAccount", [*s.service_accounts, *s.not_service_accounts])
        for c in rule.when:
            if c.key in IDENTITY_WHEN:
                add(c.key.split(".", 1)[1], [*c.values, *c.not_values])
    return tuple(out)


def atom_matches(atom: Atom, principal: str | None) -> bool:
    kind, value, ns = atom
    if kind == "principal":
        return _principal_is(value, principal)
    if kind == "namespace":
        return _namespace_is(value, principal)
    return _service_account_is(value, ns, principal)


def rule_name(p: Policy, index: int, custom: bool = False) -> str:
    prefix = EXT_AUTHZ_PREFIX if custom else ""
    return f"{prefix}ns[{p.namespace}]-policy[{p.name}]-rule[{index}]"


# -- three-valued matching ----------------------------------------------------------------------


class M(NamedTuple):
    """How a rule (or part of one) matches the requests of a connection: "all", "none",
    "some" (depends on each request: `text` says on what) or "unknown" (`text` says why)."""

    kind: str
    text: str = ""


ALL = M("all")


def all_of(parts: Sequence[M]) -> M:
    for p in parts:
        if p.kind == "none":
            return p
    unknown = [p.text for p in parts if p.kind == "unknown"]
    if unknown:
        return M("unknown", "; ".join(unknown))
    some = [p.text for p in parts if p.kind == "some"]
    return M("some", " and ".join(some)) if some else ALL


def any_of(parts: Sequence[M]) -> M:
    if any(p.kind == "all" for p in parts):
        return ALL
    unknown = [p.text for p in parts if p.kind == "unknown"]
    if unknown:
        return M("unknown", "; ".join(unknown))
    some = [p.text for p in parts if p.kind == "some"]
    if some:
        return M("some", some[0] if len(some) == 1 else " or ".join(f"({s})" for s in some))
    return M("none", "; ".join(p.text for p in parts if p.text))


class _Skip(Exception):
    """The rule produces no RBAC policy (invalid, or dropped from an ALLOW TCP chain)."""


class _Ctx(NamedTuple):
    req: Request
    deny: bool  # DENY, AUDIT and CUSTOM are built with forDeny: errors drop conditions only
    trust_domains: tuple[str, ...]
    namespace: str  # the policy's namespace (serviceAccounts without a namespace)

    @property
    def who(self) -> str:
        return "the peer" if self.req.principal else "a plaintext connection (no peer identity)"


def expand_trust_domains(values: Sequence[str], trust_domains: Sequence[str]) -> list[str]:
    """`ReplaceTrustDomainAliases`: a principal whose trust domain is the current one, an alias
    or the literal cluster.local stands for every trust domain of the bundle."""
    out: dict[str, None] = {}
    for v in values:
        parts = v.split("/")
        if v.startswith("*") or len(parts) != 5:
            out[v] = None
            continue
        td = parts[0]
        if td in trust_domains or td == DEFAULT_TRUST_DOMAIN:
            for t in trust_domains:
                out[t + v[len(td) :]] = None
        else:
            out[v] = None
    return list(out)


def _principal_is(pattern: str, principal: str | None) -> bool:
    """Envoy's matcher on `spiffe://<value>`: exact, `prefix*`, `*suffix`, `*` (any)."""
    if not principal:
        return False
    if pattern == "*":
        return True
    if pattern.startswith("*"):
        return principal.endswith(pattern[1:])
    if pattern.endswith("*"):
        return principal.startswith("spiffe://" + pattern[:-1])
    return principal == "spiffe://" + pattern


def _regex_is(pattern: str, principal: str | None) -> bool:
    if not principal:
        return False
    try:
        return re.fullmatch(pattern, principal) is not None
    except re.error:
        return False


def _namespace_is(value: str, principal: str | None) -> bool:
    return _regex_is(f".*/ns/{value.replace('*', '.*')}/.*", principal)


def _service_account_is(value: str, default_ns: str, principal: str | None) -> bool:
    ns, _, name = value.rpartition("/")
    ns = ns or default_ns
    return _regex_is(f"spiffe://.+/ns/{re.escape(ns)}/(.+/|)sa/{re.escape(name)}(/.+)?", principal)


def _identity(label: str, vals: Sequence[str], nots: Sequence[str], ctx: _Ctx,
              match: Callable[[str], bool]) -> list[M]:  # fmt: skip
    """A peer-identity field: decided by the principal alone (never matches plaintext)."""
    out: list[M] = []
    if vals:
        hit = any(match(v) for v in vals)
        out.append(ALL if hit else M("none", f"{label} {list(vals)} do not match {ctx.who}"))
    if nots:
        hit = any(match(v) for v in nots)
        out.append(M("none", f"not{label[0].upper()}{label[1:]} {list(nots)} include {ctx.who}")
                   if hit else ALL)  # fmt: skip
    return out


def _http(label: str, vals: Sequence[str], nots: Sequence[str], ctx: _Ctx) -> list[M]:
    """A field only an HTTP request has: per request on HTTP chains; on TCP chains the ALLOW
    rule is dropped and a DENY rule loses only this condition (`checkError`)."""
    if not vals and not nots:
        return []
    if ctx.req.chain == "tcp":
        if not ctx.deny:
            raise _Skip(f"{label} applies to HTTP only and the port's chain is TCP")
        return []
    out = []
    if vals:
        out.append(M("some", f"{label} in {list(vals)}"))
    if nots:
        out.append(M("some", f"{label} not in {list(nots)}"))
    return out


def _undecidable(label: str, vals: Sequence[str], nots: Sequence[str], why: str) -> list[M]:
    return [M("unknown", f"{label} {list(vals) or list(nots)}: {why}")] if vals or nots else []


def _ports(label: str, vals: Sequence[str], nots: Sequence[str], ctx: _Ctx) -> list[M]:
    def numbers(values: Sequence[str]) -> list[int]:
        out = []
        for v in values:
            if v.strip().isdigit() and int(v) <= 65535:
                out.append(int(v))
            elif not ctx.deny:
                raise _Skip(f"{label} value {v!r} is not a port number")
        return out

    want, avoid = numbers(vals), numbers(nots)
    if not want and not avoid:
        return []
    port = ctx.req.port
    if port is None:
        return [M("unknown", f"{label}: the destination port is unknown")]
    out = []
    if want:
        out.append(ALL if port in want else M("none", f"{label} {want} exclude port {port}"))
    if avoid:
        out.append(M("none", f"not {label} {avoid} include port {port}") if port in avoid
                   else ALL)  # fmt: skip
    return out


def _principals(vals: Sequence[str], nots: Sequence[str], ctx: _Ctx, label: str) -> list[M]:
    return _identity(
        label,
        expand_trust_domains(vals, ctx.trust_domains),
        expand_trust_domains(nots, ctx.trust_domains),
        ctx,
        lambda v: _principal_is(v, ctx.req.principal),
    )


def _source(s: Source, ctx: _Ctx) -> M:
    p = ctx.req.principal
    parts = [
        *_principals(s.principals, s.not_principals, ctx, "principals"),
        *_identity("namespaces", s.namespaces, s.not_namespaces, ctx,
                   lambda v: _namespace_is(v, p)),
        *_identity("serviceAccounts", s.service_accounts, s.not_service_accounts, ctx,
                   lambda v: _service_account_is(v, ctx.namespace, p)),
        *_http("requestPrincipals", s.request_principals, s.not_request_principals, ctx),
        *_undecidable("ipBlocks", s.ip_blocks, s.not_ip_blocks,
                      "the client's source IP is not in the inputs"),
        *_undecidable("remoteIpBlocks", s.remote_ip_blocks, s.not_remote_ip_blocks,
                      "the original client IP is not in the inputs"),
    ]  # fmt: skip
    return all_of(parts)


def _operation(o: Operation, ctx: _Ctx) -> M:
    parts = [
        *_http("hosts", o.hosts, o.not_hosts, ctx),
        *_http("methods", o.methods, o.not_methods, ctx),
        *_http("paths", o.paths, o.not_paths, ctx),
        *_ports("ports", o.ports, o.not_ports, ctx),
    ]
    return all_of(parts)


def _when(c: Condition, ctx: _Ctx) -> list[M]:
    k, vals, nots = c.key, c.values, c.not_values
    p = ctx.req.principal
    if k == "source.principal":
        return _principals(vals, nots, ctx, k)
    if k == "source.namespace":
        return _identity(k, vals, nots, ctx, lambda v: _namespace_is(v, p))
    if k == "source.serviceAccount":
        return _identity(k, vals, nots, ctx, lambda v: _service_account_is(v, ctx.namespace, p))
    if k == "destination.port":
        return _ports(k, vals, nots, ctx)
    if k in _HTTP_WHEN_EXACT or k.startswith(_HTTP_WHEN):
        return _http(k, vals, nots, ctx)
    if k in _UNDECIDABLE_WHEN:
        return _undecidable(k, vals, nots, _UNDECIDABLE_WHEN[k])
    if k.startswith(_ENVOY_FILTER_WHEN):
        return _undecidable(k, vals, nots, "Envoy filter metadata is not decided statically")
    raise _Skip(f"unknown when key {k!r}: the rule is invalid and skipped")


def match_rule(rule: Rule, ctx: _Ctx) -> M:
    """How one rule matches: OR over from, OR over to, AND between from, to and when.
    Raises _Skip when Istio generates nothing for it."""
    whens = [m for c in rule.when for m in _when(c, ctx)]
    sources = [_source(f.source, ctx) for f in rule.from_]
    operations = [_operation(t.operation, ctx) for t in rule.to]
    return all_of(
        [any_of(sources) if sources else ALL, any_of(operations) if operations else ALL, *whens]
    )


def match_for(
    rule: Rule, request: Request, *, deny: bool, trust_domains: Sequence[str], namespace: str
) -> M | None:
    """How one rule of a policy in `namespace` matches `request`; None when Istio generates
    nothing for it (invalid, or dropped from an ALLOW rule on a TCP chain)."""
    try:
        return match_rule(rule, _Ctx(request, deny, tuple(trust_domains), namespace))
    except _Skip:
        return None


# -- the decision --------------------------------------------------------------------------------


class _Hit(NamedTuple):
    name: str
    policy: Policy
    match: M


def _rules(policy: Policy, ctx: _Ctx, custom: bool, notes: list[str]) -> list[_Hit]:
    """Each generated rule of a policy with how it matches; skipped rules go to `notes`."""
    hits = []
    for i, rule in enumerate(policy.obj.spec.rules or ()):
        name = rule_name(policy, i, custom)
        try:
            hits.append(_Hit(name, policy, match_rule(rule, ctx)))
        except _Skip as why:
            notes.append(f"{policy.namespace}/{policy.name} rule {i} skipped: {why}")
    return hits


def _custom_problem(custom: Sequence[Policy], providers: Sequence[str]) -> str | None:
    """`getExtAuthz`: one provider per workload, and it must be in extensionProviders."""
    names = [p.obj.spec.provider.name if p.obj.spec.provider else "" for p in custom]
    if len(set(names)) > 1:
        return f"more than one CUSTOM provider on one workload ({sorted(set(names))})"
    if names[0] not in providers:
        return (
            f"CUSTOM provider {names[0]!r} is not in meshConfig.extensionProviders "
            f"({list(providers)})"
        )
    return None


def decide(
    policies: Sequence[Policy],
    request: Request,
    *,
    trust_domains: Sequence[str] = (DEFAULT_TRUST_DOMAIN,),
    providers: Sequence[str] = (),
) -> AuthzResult:
    """CUSTOM → DENY → ALLOW for one connection, with the policies attached to the server
    workload (`applicable`). `providers`: the names in meshConfig.extensionProviders."""
    enforced = [p for p in policies if not is_dry_run(p)]
    if not enforced:
        return ALLOWED_NO_POLICY
    tds = tuple(trust_domains)

    def ctx(p: Policy, deny: bool) -> _Ctx:
        return _Ctx(request, deny, tds, p.namespace)

    by: dict[str, list[Policy]] = {"ALLOW": [], "DENY": [], "CUSTOM": [], "AUDIT": []}
    for p in enforced:
        by.setdefault((p.obj.spec.action or "ALLOW").upper(), []).append(p)
    notes: list[str] = []
    conditions: list[AuthzCondition] = []
    cond_hits: list[_Hit] = []  # the rules behind `conditions`
    unknown: list[_Hit] = []
    deny_hits: list[_Hit] = []
    if by["CUSTOM"]:
        problem = _custom_problem(by["CUSTOM"], providers)
        for p in by["CUSTOM"]:
            hits = _rules(p, ctx(p, True), True, notes)
            if problem is not None:
                deny_hits += [h._replace(name=h.name + BAD_CUSTOM_SUFFIX) for h in hits]
                notes.append(f"{p.namespace}/{p.name}: {problem}: its rules deny")
                continue
            provider = p.obj.spec.provider.name if p.obj.spec.provider else ""
            for h in hits:
                if h.match.kind != "none":
                    conditions.append(AuthzCondition(
                        h.name, "CUSTOM", f"sent to ext_authz provider {provider} when",
                        h.match.text or "always",
                    ))  # fmt: skip
                    cond_hits.append(h)
    for p in by["DENY"]:
        deny_hits += _rules(p, ctx(p, True), False, notes)
    full = sorted((h for h in deny_hits if h.match.kind == "all"), key=lambda h: h.name)
    if full:  # Envoy reports the first matching policy in name order
        h = full[0]
        action = "CUSTOM" if h.name.startswith(EXT_AUTHZ_PREFIX) else "DENY"
        why = f"{action} {h.policy.namespace}/{h.policy.name} rule {_index(h.name)} matches " \
              f"every request of {ctx(h.policy, True).who}"  # fmt: skip
        return AuthzResult("denied", h.name, why, (h.policy,), (), tuple(notes))
    for h in deny_hits:
        if h.match.kind == "some":
            conditions.append(AuthzCondition(h.name, "DENY", "denied when", h.match.text))
            cond_hits.append(h)
        elif h.match.kind == "unknown":
            unknown.append(h)
    allow = by["ALLOW"]
    if allow:
        hits = [h for p in allow for h in _rules(p, ctx(p, False), False, notes)]
        for p in allow:
            if not p.obj.spec.rules:
                notes.append(f"ALLOW {p.namespace}/{p.name} has no rules: it matches nothing")
        if not any(h.match.kind == "all" for h in hits):
            maybe = [h for h in hits if h.match.kind == "unknown"]
            some = [h for h in hits if h.match.kind == "some"]
            if not maybe and not some:
                misses = [f"{h.policy.namespace}/{h.policy.name} rule {_index(h.name)}: "
                          f"{h.match.text}" for h in hits if h.match.text]  # fmt: skip
                why = "; ".join(misses) or "no ALLOW rule is left on this chain"
                return AuthzResult("denied", "none", why, tuple(allow), (), tuple(notes))
            unknown += maybe
            conditions += [
                AuthzCondition(h.name, "ALLOW", "allowed only when", h.match.text) for h in some
            ]
            cond_hits += some
    if unknown:
        h = unknown[0]
        refs = unique(u.policy for u in unknown)
        return AuthzResult("unknown", h.name, h.match.text, refs, (), tuple(notes))
    if conditions:
        refs = unique(h.policy for h in cond_hits)
        text = "; ".join(f"{c.effect} {c.condition} ({c.policy})" for c in conditions)
        return AuthzResult(
            "conditional", None, f"requests {text}", refs, tuple(conditions), tuple(notes)
        )
    why = "no DENY rule matches" if not allow else "an ALLOW rule matches every request"
    return AuthzResult("allowed", None, why, tuple(enforced), (), tuple(notes))


def unique(policies: Iterable[Policy]) -> tuple[Policy, ...]:
    """Policies without repeats, in order (Loaded objects hold dicts: not hashable)."""
    seen: dict[int, Policy] = {}
    for p in policies:
        seen.setdefault(id(p), p)
    return tuple(seen.values())


def _index(name: str) -> str:
    return name.rsplit("-rule[", 1)[1].split("]", 1)[0]
