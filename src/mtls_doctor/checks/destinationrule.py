"""DestinationRule TLS checks: fields Istio ignores or reads surprisingly (static), and TLS that
disagrees with the servers behind the host (read off the edges, with a namespace-level fallback
for inputs that hold policies but no workloads)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mtls_doctor.checks.codes_runbook import (
    DR_AGAINST_STRICT,
    DR_CREDENTIAL_SIDECAR,
    DR_DROPS_TLS,
    DR_MUTUAL_TO_PLAIN,
    DR_NO_CA,
    DR_SKIP_VERIFY,
    PA_DISABLE_VS_MUTUAL,
)
from mtls_doctor.checks.context import CheckContext
from mtls_doctor.checks.finding import Finding, Subject
from mtls_doctor.edges.engine import OTHER_NS
from mtls_doctor.edges.records import Outcome
from mtls_doctor.edges.server import ServerSides
from mtls_doctor.model.istio import ClientTLS, DestinationRule
from mtls_doctor.model.mesh import ClusterIndex
from mtls_doctor.model.objects import Loaded
from mtls_doctor.model.workloads import Workload
from mtls_doctor.semantics.destinationrule import DRChoice, cluster_tls, host_matches

DRObj = Loaded[DestinationRule]
MESH_HOSTS = frozenset({"*", "*.local", "*.cluster.local", "*.svc.cluster.local"})


def _subject(r: DRObj) -> Subject:
    return Subject("DestinationRule", r.namespace, r.name)


def _name(r: Loaded[Any]) -> str:
    return f"{r.namespace}/{r.name}"


def tls_blocks(r: DRObj) -> list[tuple[str, ClientTLS]]:
    """(where, tls) for the top-level, port-level and subset TLS blocks of a rule."""
    out: list[tuple[str, ClientTLS]] = []
    tp = r.obj.spec.traffic_policy
    if tp is not None:
        if tp.tls is not None:
            out.append(("", tp.tls))
        for pl in tp.port_level_settings:
            if pl.tls is not None and pl.port is not None:
                out.append((f" on port {pl.port.number}", pl.tls))
    for sub in r.obj.spec.subsets:
        stp = sub.traffic_policy
        if stp is not None and stp.tls is not None:
            out.append((f" in subset {sub.name}", stp.tls))
    return out


def host_namespace(host: str) -> str | None:
    """The namespace a (resolved) DestinationRule host is about; "*" for mesh-wide hosts;
    None for hosts outside the cluster domain."""
    if host in MESH_HOSTS:
        return "*"
    parts = host.split(".")
    if len(parts) >= 4 and parts[-3:] == ["svc", "cluster", "local"]:
        return parts[-4]
    return None


# --- fields Istio ignores or reads surprisingly ------------------------------------------------


def tls_fields(ctx: CheckContext) -> Iterator[Finding]:
    """DR103 SIMPLE/MUTUAL without a CA, DR105 insecureSkipVerify on ISTIO_MUTUAL, DR106
    credentialName on a sidecar rule."""
    for c in ctx.mesh.clusters.values():
        for r in c.dr.all:
            selector = r.obj.spec.workload_selector is not None
            for where, tls in tls_blocks(r):
                mode = tls.mode.upper()
                common: dict[str, Any] = {"origin": r.origin, "cluster": c.name}
                if mode == "ISTIO_MUTUAL" and tls.insecure_skip_verify:
                    yield DR_SKIP_VERIFY.finding(_subject(r), **common, name=_name(r), where=where)
                if mode not in ("SIMPLE", "MUTUAL"):
                    continue
                cred = tls.credential_name
                if cred and not cred.startswith("configmap://") and not selector:
                    yield DR_CREDENTIAL_SIDECAR.finding(
                        _subject(r), **common, name=_name(r), mode=mode, where=where
                    )
                elif not cred and not tls.ca_certificates and not tls.insecure_skip_verify:
                    yield DR_NO_CA.finding(
                        _subject(r), **common, name=_name(r), mode=mode, where=where
                    )


def _broader(c: ClusterIndex, r: DRObj) -> DRObj | None:
    """The oldest rule with TLS that `r` hides: a different rule whose host covers r's host, in
    r's namespace, the host's namespace or the root namespace."""
    host = c.dr.hosts[id(r)]
    scopes = {r.namespace, c.dr.root, host_namespace(host) or ""}
    for other in c.dr.all:
        o_host = c.dr.hosts[id(other)]
        if other is r or other.namespace not in scopes or o_host == host:
            continue
        if other.obj.spec.workload_selector is not None or not host_matches(o_host, host):
            continue
        tp = other.obj.spec.traffic_policy
        if tp is not None and tp.tls is not None:
            return other
    return None


def _matters(mode: str, auto_mtls: bool) -> bool:
    """Whether losing `mode` changes the wire: ISTIO_MUTUAL under auto mTLS mostly does not."""
    return mode.upper() != "ISTIO_MUTUAL" or not auto_mtls


def inherited_tls(ctx: CheckContext) -> Iterator[Finding]:
    """DR104: a more specific rule without TLS hides a broader rule's TLS; a port-level entry
    without TLS replaces its own rule's top-level TLS for that port."""
    for c in ctx.mesh.clusters.values():
        auto = c.config.enable_auto_mtls
        for r in c.dr.all:
            if r.obj.spec.workload_selector is not None:
                continue
            tp = r.obj.spec.traffic_policy
            host = c.dr.hosts[id(r)]
            if tp is not None and tp.tls is not None:
                for pl in tp.port_level_settings:
                    if pl.tls is None and pl.port is not None and _matters(tp.tls.mode, auto):
                        yield DR_DROPS_TLS.finding(
                            _subject(r),
                            origin=r.origin,
                            cluster=c.name,
                            fix=f"Repeat tls mode {tp.tls.mode} in portLevelSettings for port "
                            f"{pl.port.number}.",
                            name=_name(r),
                            host=host,
                            where=f" port {pl.port.number} (portLevelSettings)",
                            mode=tp.tls.mode,
                            other="its own top-level trafficPolicy",
                        )
                continue
            other = _broader(c, r)
            if other is None:
                continue
            o_tls = other.obj.spec.traffic_policy.tls  # type: ignore[union-attr]
            assert o_tls is not None
            if _matters(o_tls.mode, auto):
                yield DR_DROPS_TLS.finding(
                    _subject(r),
                    origin=r.origin,
                    cluster=c.name,
                    fix=f"Add trafficPolicy.tls mode {o_tls.mode} to DestinationRule {_name(r)}.",
                    name=_name(r),
                    host=host,
                    where="",
                    mode=o_tls.mode,
                    other=f"DestinationRule {_name(other)} ({c.dr.hosts[id(other)]})",
                )


# --- TLS that disagrees with the server --------------------------------------------------------


def _rule_of(c: ClusterIndex, o: Outcome) -> DRObj | None:
    """The DestinationRule named by the edge's cluster-TLS step."""
    for step in o.trace:
        if step.step != "cluster TLS":
            continue
        for ref in step.resources:
            if ref.kind == "DestinationRule":
                for r in c.dr.by_namespace.get(ref.namespace, ()):
                    if r.name == ref.name:
                        return r
    return None


class _Hits:
    def __init__(self) -> None:
        self.hosts: dict[str, None] = {}
        self.whys: dict[str, None] = {}
        self.clients: dict[str, None] = {}
        self.causes: dict[str, None] = {}
        self.mode = ""


def tls_against_server(ctx: CheckContext) -> Iterator[Finding]:
    """DR101 (DISABLE/SIMPLE/MUTUAL into STRICT) and DR102 (ISTIO_MUTUAL to a server that cannot
    terminate it), from the edges, then from namespace modes for rules no known service matches;
    PA108 (DISABLE namespaces that ISTIO_MUTUAL rules target)."""
    strict: dict[tuple[str, int], tuple[DRObj, _Hits]] = {}
    mutual: dict[tuple[str, int], tuple[DRObj, _Hits]] = {}
    matched: set[int] = set()
    servers = ctx.server_sides()
    workloads = {(c.name, w.key): w for c in ctx.mesh.clusters.values() for w in c.workloads}
    for res in ctx.results:
        c = ctx.mesh.clusters[res.cluster]
        for cls in res.classes:
            o = cls.outcome
            r = _rule_of(c, o)
            if r is None:
                continue
            matched.add(id(r))
            mode = (cluster_tls(DRChoice((r,), ""), res.port.number).tls or ClientTLS()).mode
            for ep in o.endpoints:
                if ep.cause in ("plaintext-rejected", "client-cert-missing", "untrusted-root") and (
                    ep.cause != "plaintext-rejected" or ep.plain_cause == "destination-rule-disable"
                ):
                    _, hits = strict.setdefault((res.cluster, id(r)), (r, _Hits()))
                elif ep.cause == "tls-to-plaintext-server" and mode.upper() == "ISTIO_MUTUAL":
                    _, hits = mutual.setdefault((res.cluster, id(r)), (r, _Hits()))
                    if ep.workload:
                        hits.clients[ep.workload] = None
                else:
                    continue
                hits.mode = mode.upper()
                hits.hosts[res.to] = None
                hits.causes[ep.cause or ""] = None
                if ep.cause != "tls-to-plaintext-server":
                    for n in cls.names(3)[0]:
                        hits.clients[n] = None
        _static_mutual(ctx, res, servers, mutual, matched, workloads)
    for (cluster, _), (r, h) in sorted(strict.items(), key=lambda kv: _name(kv[1][0])):
        yield DR_AGAINST_STRICT.finding(
            _subject(r),
            origin=r.origin,
            cluster=cluster,
            name=_name(r),
            mode=h.mode,
            hosts=", ".join(list(h.hosts)[:3]),
            clients=", ".join(list(h.clients)[:3]) or "its clients",
            cause=", ".join(h.causes),
        )
    for (cluster, _), (r, h) in sorted(mutual.items(), key=lambda kv: _name(kv[1][0])):
        yield DR_MUTUAL_TO_PLAIN.finding(
            _subject(r),
            origin=r.origin,
            cluster=cluster,
            name=_name(r),
            hosts=", ".join(list(h.hosts)[:3]),
            servers=", ".join(list(h.clients)[:3]) or "the servers",
            why="; ".join(list(h.whys)[:2])
            or "no sidecar, an excluded port or PeerAuthentication DISABLE",
        )
    yield from _namespace_level(ctx, matched)


def _static_mutual(
    ctx: CheckContext,
    res: object,
    servers: ServerSides,
    mutual: dict[tuple[str, int], tuple[DRObj, _Hits]],
    matched: set[int],
    workloads: dict[tuple[str, str], Workload],
) -> None:
    """The rule a client without rules of its own uses for this service port, when it says
    ISTIO_MUTUAL and a workload behind the port cannot terminate Istio mTLS (edges only show
    this when some client has a sidecar)."""
    from mtls_doctor.edges.classes import DestinationResult

    assert isinstance(res, DestinationResult)
    c = ctx.mesh.clusters[res.cluster]
    svc = res.service
    choice = c.dr.lookup(OTHER_NS, {}, svc.hostname, svc.namespace)
    if choice is None:
        return
    matched.update(id(r) for r in choice.rules)
    tls = cluster_tls(choice, res.port.number).tls
    if tls is None or tls.mode.upper() != "ISTIO_MUTUAL":
        return
    r = choice.rules[0]
    seen: set[str] = set()
    for cls in res.classes:
        for ep in cls.outcome.endpoints:
            if not ep.workload or ep.workload in seen or ep.cluster is None:
                continue
            seen.add(ep.workload)
            w = workloads.get((ep.cluster, ep.workload))
            if w is None:
                continue
            target = w.container_port(res.port.target)
            f = servers.facts(ep.cluster, w, target)
            if f.captured and f.pa.mode != "DISABLE":
                continue
            _, hits = mutual.setdefault((res.cluster, id(r)), (r, _Hits()))
            hits.hosts[res.to] = None
            hits.clients[ep.workload] = None
            if not f.sidecar:
                hits.whys[f.injection.why] = None
            elif f.inbound_excluded:
                hits.whys[f.excluded_why] = None
            else:
                hits.whys[f.pa.why] = None


def namespace_rules(c: ClusterIndex, ns: str) -> tuple[list[DRObj], list[DRObj]]:
    """(rules about namespace `ns`'s hosts, mesh-wide rules), without selector rules."""
    own: list[DRObj] = []
    mesh: list[DRObj] = []
    for r in c.dr.all:
        if r.obj.spec.workload_selector is not None:
            continue
        where = host_namespace(c.dr.hosts[id(r)])
        if where == ns:
            own.append(r)
        elif where == "*":
            mesh.append(r)
    return own, mesh


def top_mode(r: DRObj) -> str | None:
    tp = r.obj.spec.traffic_policy
    return tp.tls.mode.upper() if tp is not None and tp.tls is not None else None


def _namespace_level(ctx: CheckContext, matched: set[int]) -> Iterator[Finding]:
    for c in ctx.mesh.clusters.values():
        root = c.pa.root
        # DR101 for rules no known service matched: compare with the namespace's (or mesh) mode
        for r in c.dr.all:
            if id(r) in matched or r.obj.spec.workload_selector is not None:
                continue
            mode = top_mode(r)
            where = host_namespace(c.dr.hosts[id(r)])
            if mode not in ("DISABLE", "SIMPLE", "MUTUAL") or where is None:
                continue
            server = c.pa.namespace_mode(root if where == "*" else where)
            if server.mode != "STRICT":
                continue
            yield DR_AGAINST_STRICT.finding(
                _subject(r),
                origin=r.origin,
                cluster=c.name,
                # with workloads in the inputs, a rule no known service matches may be stale
                level="warning" if c.workloads else None,
                name=_name(r),
                mode=mode,
                hosts=c.dr.hosts[id(r)],
                clients="every client with a sidecar",
                cause="plaintext-rejected" if mode == "DISABLE" else "client-cert-missing",
            )
        # PA108: DISABLE namespaces (or mesh) that ISTIO_MUTUAL rules target
        for ns, p in sorted(c.pa.namespace_wide.items()):
            spec_mode = p.obj.spec.mtls.mode if p.obj.spec.mtls else None
            if spec_mode != "DISABLE":
                continue
            own, mesh = namespace_rules(c, "*" if ns == root else ns)
            rules = own if ns == root else own or mesh
            hit = next((r for r in rules if top_mode(r) == "ISTIO_MUTUAL"), None)
            if hit is None:
                continue
            yield PA_DISABLE_VS_MUTUAL.finding(
                Subject("PeerAuthentication", p.namespace, p.name),
                origin=p.origin,
                cluster=c.name,
                fix=f"Set tls mode DISABLE in DestinationRule {_name(hit)}, or drop the DISABLE "
                "policy.",
                name=_name(p),
                where="the mesh" if ns == root else f"namespace {ns}",
                rule=_name(hit),
                hosts=c.dr.hosts[id(hit)],
            )
