"""AuthorizationPolicy evaluation plugged into the edge engine (`EdgeEngine(authz=...,
authz_relevance=...)`).

`make_authz(mesh)` returns the seam the evaluator calls after a server sidecar accepted a
connection, and the relevance hook that keeps the engine's shared outcomes honest: clients share
an outcome unless a policy on the destination's servers names identities, and then the client's
identity becomes part of its relative key. Policies are indexed per cluster and namespace once;
answers are cached per (server workload, port, chain, principal).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from typing import Literal

import msgspec
from msgspec.structs import replace

from mtls_doctor.edges.authz import AuthzSeam, Denial
from mtls_doctor.edges.client_tls import Client
from mtls_doctor.edges.registry import MeshService, SvcPort
from mtls_doctor.edges.server import ServerFacts
from mtls_doctor.lab.case import PrincipalMatch, RbacPolicy
from mtls_doctor.model.istio import Rule
from mtls_doctor.model.mesh import Mesh
from mtls_doctor.model.refs import ResourceRef
from mtls_doctor.model.workloads import Workload
from mtls_doctor.semantics.authz import (
    BAD_CUSTOM_SUFFIX,
    IDENTITY_WHEN,
    Atom,
    AuthzCondition,
    AuthzResult,
    Chain,
    Policy,
    Request,
    applicable,
    atom_matches,
    decide,
    expand_trust_domains,
    identity_atoms,
    identity_dependent,
    is_dry_run,
    match_for,
    rule_name,
    unique,
)
from mtls_doctor.semantics.trace import Step

SelectorKey = tuple[tuple[str, str], ...] | None
CLIENT_ID = "$CLIENT_ID"  # filled in per client when an edge is materialised


def policy_ref(p: Policy) -> ResourceRef:
    return ResourceRef("AuthorizationPolicy", p.namespace, p.name, p.cluster, p.origin)


class AuthzIndex:
    """The AuthorizationPolicies of a mesh, indexed for the seam and the relevance hook."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self._by_ns: dict[str, dict[str, list[Policy]]] = {}
        for name, c in mesh.clusters.items():
            by_ns: dict[str, list[Policy]] = defaultdict(list)
            for p in c.authorization_policies:
                by_ns[p.namespace].append(p)
            self._by_ns[name] = by_ns
        self._attached: dict[tuple[str, int], tuple[Policy, ...]] = {}
        self._answers: dict[tuple[str, int, int | None, str, str | None], Denial | None] = {}
        self._any_identity = any(
            identity_dependent(p) and not is_dry_run(p)
            for c in mesh.clusters.values()
            for p in c.authorization_policies
        )

    # -- which policies ------------------------------------------------------------------------

    def attached(self, cluster: str, w: Workload) -> tuple[Policy, ...]:
        key = (cluster, id(w))
        got = self._attached.get(key)
        if got is None:
            root = self.mesh.clusters[cluster].config.root_namespace
            by_ns = self._by_ns[cluster]
            candidates = [
                *by_ns.get(root, ()),
                *(by_ns.get(w.namespace, ()) if w.namespace != root else ()),
            ]
            got = applicable(candidates, w.namespace, w.labels, root)
            self._attached[key] = got
        return got

    # -- the seam ------------------------------------------------------------------------------

    def seam(
        self, client: Client, server: ServerFacts, port: int | None, principal: str | None
    ) -> Denial | None:
        w = server.workload
        key = (server.cluster, id(w), port, server.port_kind, principal)
        if key in self._answers:
            return self._answers[key]
        policies = self.attached(server.cluster, w)
        got = None if not policies else self._answer(server, policies, port, principal)
        self._answers[key] = got
        return got

    def _answer(
        self, server: ServerFacts, policies: tuple[Policy, ...], port: int | None,
        principal: str | None,
    ) -> Denial | None:  # fmt: skip
        cfg = self.mesh.clusters[server.cluster].config
        providers = tuple(p.name for p in cfg.extension_providers)

        def run(chain: Chain) -> AuthzResult:
            return decide(
                policies, Request(principal, port, chain),
                trust_domains=cfg.trust_domains, providers=providers,
            )  # fmt: skip

        kind = server.port_kind
        if kind == "auto":  # HTTP and TCP chains; the HTTP one decides, the TCP one is noted
            result, tcp = run("http"), run("tcp")
            if tcp.decision != result.decision:
                result = _note_tcp(result, tcp)
        else:
            result = run("http" if kind == "http" else "tcp")
        if result.decision == "allowed" and result.resources == ():
            return None
        return _denial(result, principal, kind)


def _note_tcp(http: AuthzResult, tcp: AuthzResult) -> AuthzResult:
    """On an auto-detected port, non-HTTP bytes take the TCP chain: say what happens there."""
    extra = AuthzCondition(
        tcp.policy or "none",
        "TCP chain",
        f"non-HTTP connections on this auto-detected port are {tcp.decision}",
        tcp.reason,
    )
    if http.decision in ("denied", "unknown"):
        return http
    decision = "conditional" if http.decision == "allowed" else http.decision
    return replace(
        http,
        decision=decision,
        reason=f"{http.reason}; non-HTTP connections: {tcp.decision} ({tcp.reason})",
        conditions=(*http.conditions, extra),
        resources=unique((*http.resources, *tcp.resources)),
    )


_VERB = {"denied": "denies", "unknown": "may deny", "conditional": "conditionally allows",
         "allowed": "allows"}  # fmt: skip


def _denial(result: AuthzResult, principal: str | None, kind: str) -> Denial:
    who = CLIENT_ID if principal else "plaintext connections (no peer identity)"
    chain = {"http": "HTTP", "tcp": "TCP", "auto": "HTTP (auto-detected)"}.get(kind, "TCP")
    names = ", ".join(f"{p.namespace}/{p.name}" for p in result.resources)
    first = names.split(", ", 1)[0]
    if result.decision == "denied" and result.policy == "none":
        text = (
            f"no rule of the ALLOW policies {names} matches {who} on the {chain} chain: denied "
            f"(rbac_access_denied_matched_policy[none]): {result.reason}"
        )
    elif result.decision == "denied":
        text = f"policy {first} rule {_rule(result.policy)} denies {who} on the {chain} chain"
    elif result.decision == "unknown":
        text = (
            f"policy {first} rule {_rule(result.policy)} may deny {who} on the {chain} chain, "
            f"and the inputs cannot tell: {result.reason}"
        )
    else:
        many = len(result.resources) > 1
        verb = _VERB[result.decision].replace("allows", "allow" if many else "allows")
        text = f"{'policies' if many else 'policy'} {names} {verb} {who} on the {chain} " \
               f"chain: {result.reason}"  # fmt: skip
    if result.notes:
        text += f" ({'; '.join(result.notes)})"
    return Denial(
        Step("authorization", text, tuple(policy_ref(p) for p in result.resources)),
        result.policy,
        result.decision,
        result.conditions,
    )


def _rule(name: str | None) -> str:
    return (name or "").rsplit("-rule[", 1)[-1].split("]", 1)[0]


class AuthzRelevance:
    """The engine's relevance hook. A client's authorization answer at a destination depends on
    its identity only through the identity tests (atoms) of the policies on the destination's
    servers, so the hook returns the vector of their answers for the client's identity: None
    where no policy tells identities apart, the same vector for clients that every policy
    treats alike."""

    def __init__(self, index: AuthzIndex) -> None:
        self.index = index
        self._atoms: dict[tuple[str, str, SelectorKey], tuple[Atom, ...]] = {}
        # by service object, which the entry keeps alive (so its id stays its own)
        self._of_service: dict[int, tuple[MeshService, tuple[Atom, ...]]] = {}
        self._vectors: dict[tuple[tuple[Atom, ...], str], tuple[bool, ...]] = {}
        self._apart: dict[tuple[str, tuple[Atom, ...]], frozenset[str] | None] = {}

    def atoms(self, svc: MeshService) -> tuple[Atom, ...]:
        """The identity tests of the enforced policies on the servers behind `svc` (cached per
        service). A ServiceEntry's endpoints may be any workload's address, and a Service
        without a selector has hand-made endpoints: then every policy of the mesh counts."""
        hit = self._of_service.get(id(svc))
        if hit is not None and hit[0] is svc:
            return hit[1]
        sel = tuple(sorted(svc.selector.items())) if svc.selector else None
        key = (svc.namespace, svc.hostname, sel)
        got = self._atoms.get(key)
        if got is None:
            got = self._atoms[key] = self._collect(svc)
        self._of_service[id(svc)] = (svc, got)
        return got

    def _collect(self, svc: MeshService) -> tuple[Atom, ...]:
        idx = self.index
        if not idx._any_identity:
            return ()
        out: dict[Atom, None] = {}
        for name, c in idx.mesh.clusters.items():
            tds = c.trust_domains
            if svc.selector and svc.kind == "Service":  # its pods, in its namespace
                policies = unique(
                    p
                    for w in c.selected_workloads(svc.namespace, svc.selector)
                    for p in idx.attached(name, w)
                )
            else:
                policies = tuple(c.authorization_policies)
            for p in policies:
                if not is_dry_run(p):
                    out.update(dict.fromkeys(identity_atoms(p, tds)))
        return tuple(out)

    def distinguishes(self, svc: MeshService, port: SvcPort | None = None) -> bool:
        return bool(self.atoms(svc))

    def vector(self, atoms: tuple[Atom, ...], identity: str) -> tuple[bool, ...]:
        key = (atoms, identity)
        got = self._vectors.get(key)
        if got is None:
            got = self._vectors[key] = tuple(atom_matches(a, identity) for a in atoms)
        return got

    def __call__(self, client: Client, svc: MeshService, port: SvcPort) -> Hashable:
        atoms = self.atoms(svc)
        if client.identity is None or not atoms:
            return None
        return self.vector(atoms, client.identity)

    def namespaces_apart(
        self, cluster: str, svc: MeshService, port: SvcPort, clients: Sequence[Client]
    ) -> frozenset[str] | None:
        """The namespaces whose clients authorization singles out at this destination: every
        other namespace's sidecar clients get the same (most common) answer vector, so they
        may share one outcome. Cached per (cluster, atoms): most services share a policy set."""
        atoms = self.atoms(svc)
        if not atoms:
            return frozenset()
        key = (cluster, atoms)
        if key in self._apart:
            return self._apart[key]
        per_ns: dict[str, set[tuple[bool, ...]]] = defaultdict(set)
        sizes: dict[tuple[bool, ...], int] = defaultdict(int)
        for c in clients:
            if c.identity is not None and c.namespace is not None:
                v = self.vector(atoms, c.identity)
                per_ns[c.namespace].add(v)
                sizes[v] += 1
        apart: frozenset[str] | None = frozenset()
        if sizes:
            default = max(sizes, key=lambda v: sizes[v])
            apart = frozenset(ns for ns, vs in per_ns.items() if vs != {default})
        self._apart[key] = apart
        return apart


def make_authz(mesh: Mesh) -> tuple[AuthzSeam, AuthzRelevance]:
    index = AuthzIndex(mesh)
    return index.seam, AuthzRelevance(index)


# -- the same policies for the lab (real Envoy RBAC filters) -------------------------------------


def lab_rbac(
    index: AuthzIndex, server: ServerFacts, port: int | None, chain: Chain
) -> tuple[RbacPolicy, ...] | str:
    """The server's RBAC policies as the lab builds them (`lab.case.RbacPolicy`), compiled the
    way istiod compiles identity rules, for a replayed request on `chain`. A string says why the
    policies cannot be replayed (request-dependent or undecidable rules, identity tests the lab
    model cannot express, CUSTOM with a working provider)."""
    policies = [p for p in index.attached(server.cluster, server.workload) if not is_dry_run(p)]
    cfg = index.mesh.clusters[server.cluster].config
    tds = cfg.trust_domains
    custom = [p for p in policies if p.obj.spec.action.upper() == "CUSTOM"]
    bad_custom = False
    if custom:
        names = {p.obj.spec.provider.name if p.obj.spec.provider else "" for p in custom}
        known = {e.name for e in cfg.extension_providers}
        if len(names) == 1 and names <= known:
            return "CUSTOM policies send requests to an ext_authz provider"
        bad_custom = True
    out: list[RbacPolicy] = []
    for p in policies:
        action = p.obj.spec.action.upper()
        if action not in ("ALLOW", "DENY", "CUSTOM") or (action == "CUSTOM" and not bad_custom):
            continue
        lab_action: Literal["ALLOW", "DENY"] = "ALLOW" if action == "ALLOW" else "DENY"
        suffix = BAD_CUSTOM_SUFFIX if action == "CUSTOM" else ""
        rules = p.obj.spec.rules or []
        if not rules:
            out.append(RbacPolicy(rule_name(p, 0, action == "CUSTOM") + suffix, lab_action,
                                  never=True))  # fmt: skip
            continue
        for i, rule in enumerate(rules):
            name = rule_name(p, i, action == "CUSTOM") + suffix
            got = _lab_rule(p, rule, Request(None, port, chain), lab_action, tds)
            if isinstance(got, str):
                return f"{p.namespace}/{p.name} rule {i}: {got}"
            if got is not None:
                out.append(msgspec.structs.replace(got, name=name))
            elif lab_action == "ALLOW":  # the ALLOW filter stays, with nothing this rule allows
                out.append(RbacPolicy(name, "ALLOW", never=True))
    return tuple(out)


def _lab_rule(
    p: Policy, rule: Rule, req: Request, action: Literal["ALLOW", "DENY"], tds: tuple[str, ...]
) -> RbacPolicy | str | None:
    if any(c.key in IDENTITY_WHEN for c in rule.when):
        return "identity conditions under `when` are not replayed"
    rest = msgspec.structs.replace(rule, from_=[])
    m = match_for(rest, req, deny=action == "DENY", trust_domains=tds, namespace=p.namespace)
    if m is None or m.kind == "none":
        return None  # istiod generates nothing, or it never matches the replayed request
    if m.kind != "all":
        return f"the rule depends on the request or on what the inputs do not say ({m.text})"
    positives: list[PrincipalMatch] = []
    negatives: list[PrincipalMatch] = []
    any_source = not rule.from_
    for f in rule.from_:
        s = f.source
        if (s.request_principals or s.not_request_principals or s.ip_blocks or s.not_ip_blocks
                or s.remote_ip_blocks or s.not_remote_ip_blocks):  # fmt: skip
            return "the rule's sources test more than the peer identity"
        kinds = [k for k, v in (("p", s.principals), ("n", s.namespaces),
                                ("s", s.service_accounts)) if v]  # fmt: skip
        if len(kinds) > 1 or (len(rule.from_) > 1 and (s.not_principals or s.not_namespaces
                                                        or s.not_service_accounts)):  # fmt: skip
            return "the rule's sources combine identity tests the lab model cannot express"
        positives += _matchers(s.principals, s.namespaces, s.service_accounts, p.namespace, tds)
        negatives += _matchers(
            s.not_principals, s.not_namespaces, s.not_service_accounts, p.namespace, tds
        )
        any_source = any_source or not kinds
    return RbacPolicy("", action, () if any_source else tuple(positives), tuple(negatives))


def _matchers(
    principals: list[str], namespaces: list[str], accounts: list[str], ns: str,
    tds: tuple[str, ...],
) -> list[PrincipalMatch]:  # fmt: skip
    out: list[PrincipalMatch] = []
    for v in expand_trust_domains(principals, tds):
        if v == "*":
            out.append(PrincipalMatch("authenticated"))
        elif v.startswith("*"):
            out.append(PrincipalMatch("suffix", v[1:]))
        elif v.endswith("*"):
            out.append(PrincipalMatch("prefix", "spiffe://" + v[:-1]))
        else:
            out.append(PrincipalMatch("exact", "spiffe://" + v))
    for v in namespaces:
        out.append(PrincipalMatch("regex", f".*/ns/{v.replace('*', '.*')}/.*"))
    for v in accounts:
        sa_ns, _, name = v.rpartition("/")
        out.append(PrincipalMatch("regex", f"spiffe://.+/ns/{sa_ns or ns}/(.+/|)sa/{name}(/.+)?"))
    return out
