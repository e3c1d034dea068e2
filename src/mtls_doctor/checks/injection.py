"""Callers outside the mesh that STRICT servers reset: workloads and namespaces without
sidecars, hostNetwork pods (from the edges); kube-apiserver webhook calls, kubelet probes with
rewriting off and metrics scrapes (from the server side of the workloads they reach)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from mtls_doctor.checks.codes_runbook import (
    IN_HOST_NETWORK,
    IN_NAMESPACE_NOT_INJECTED,
    IN_NO_SIDECAR,
    IN_PROBE,
    IN_SCRAPE,
    IN_WEBHOOK,
    PR_TLS_ON_HTTP,
)
from mtls_doctor.checks.context import CheckContext
from mtls_doctor.checks.finding import Finding, Subject
from mtls_doctor.edges.classes import Member
from mtls_doctor.edges.engine import unrewritten_probes
from mtls_doctor.edges.server import ServerSides
from mtls_doctor.model.mesh import ClusterIndex
from mtls_doctor.model.workloads import Workload
from mtls_doctor.semantics import protocol
from mtls_doctor.semantics.injection import INJECT_LABEL, NS_INJECTION, REV_LABEL

SCRAPE = "prometheus.io/scrape"
SCRAPE_PORT = "prometheus.io/port"
MERGE_METRICS = "prometheus.istio.io/merge-metrics"


def _wsubject(w: Workload) -> Subject:
    return Subject(w.kind, w.namespace, w.name)


def _list(items: list[str], limit: int = 3) -> str:
    head = ", ".join(items[:limit])
    return head if len(items) <= limit else f"{head} and {len(items) - limit} more"


class _Targets:
    """The first few destinations of a set, and how many there are (approximately, when
    merged: a destination seen by two groups counts twice)."""

    LIMIT = 3

    def __init__(self) -> None:
        self.first: dict[str, None] = {}
        self.count = 0

    def add(self, to: str) -> None:
        if to in self.first:
            return
        self.count += 1
        if len(self.first) < self.LIMIT:
            self.first[to] = None

    def merge(self, other: _Targets) -> None:
        for to in other.first:
            if to not in self.first and len(self.first) < self.LIMIT:
                self.first[to] = None
        self.count += other.count

    def text(self) -> str:
        head = ", ".join(self.first)
        more = self.count - len(self.first)
        return head if more <= 0 else f"{head} and others"


def _namespace_injects(c: ClusterIndex, ns: str) -> tuple[bool, str]:
    n = c.namespaces.get(ns)
    labels = n.meta.labels if n is not None else {}
    value = labels.get(NS_INJECTION)
    if value == "enabled":
        return True, f"{NS_INJECTION}=enabled"
    if value is not None:
        return False, f"the namespace has {NS_INJECTION}={value}"
    if REV_LABEL in labels:
        return True, f"{REV_LABEL}={labels[REV_LABEL]}"
    if n is None:
        return False, f"Namespace {ns} is not in the inputs and its workloads have no sidecar"
    return False, f"the namespace has no {NS_INJECTION} or {REV_LABEL} label"


def non_mesh_callers(ctx: CheckContext) -> Iterator[Finding]:
    """IN101-IN103: clients without a sidecar whose plaintext a STRICT server resets."""
    # (cluster, ns) -> (the first destinations, how many): a class stands for whole groups of
    # namespaces, so the destinations are kept per group and spread over its namespaces once
    targets: dict[tuple[str, str], _Targets] = defaultdict(_Targets)
    by_member: dict[tuple[str, int, frozenset[str]], tuple[Member, _Targets]] = {}
    for r in ctx.results:
        for cls in r.classes:
            if cls.any_sidecar:
                continue
            # every client of the class lacks a sidecar: a STRICT server rejects what it sends,
            # plaintext or its own TLS without an Istio client certificate
            if not any(
                e.cause in ("plaintext-rejected", "client-cert-missing")
                for e in cls.outcome.endpoints
            ):
                continue
            for client in cls.explicit:
                if client.namespace is not None:
                    targets[(r.cluster, client.namespace)].add(r.to)
            for m in cls.members:
                key = (r.cluster, id(m.groups), m.excluded)
                by_member.setdefault(key, (m, _Targets()))[1].add(r.to)
    for (cluster, _, _), (m, tos) in by_member.items():
        for ns in m.groups.sizes:
            if ns not in m.excluded:
                targets[(cluster, ns)].merge(tos)
    for (cluster, ns), found in sorted(targets.items()):
        c = ctx.mesh.clusters[cluster]
        shown = found.text()
        injects, why = _namespace_injects(c, ns)
        plain: list[Workload] = []
        for w in c.workloads_by_ns.get(ns, ()):
            inj = c.injection(w)
            if inj.injected:
                continue
            if w.host_network:
                yield IN_HOST_NETWORK.finding(
                    _wsubject(w), origin=w.origin, cluster=cluster, workload=w.key, targets=shown
                )
            elif injects:
                opted_out = w.labels.get(INJECT_LABEL, w.annotations.get(INJECT_LABEL))
                fix = (
                    f'Remove {INJECT_LABEL}: "false" from {w.key} and restart it.'
                    if opted_out == "false"
                    else f"Restart {w.key} so that the injector adds the sidecar."
                )
                yield IN_NO_SIDECAR.finding(
                    _wsubject(w),
                    origin=w.origin,
                    cluster=cluster,
                    fix=fix,
                    workload=w.key,
                    why=inj.why,
                    targets=shown,
                )
            else:
                plain.append(w)
        if plain:
            ref = c.namespace_ref(ns)
            yield IN_NAMESPACE_NOT_INJECTED.finding(
                Subject("Namespace", "", ns),
                origin=ref.origin if ref is not None else None,
                cluster=cluster,
                namespace=ns,
                why=why,
                workloads=_list([w.name for w in plain]),
                targets=shown,
            )


def _strict(servers: ServerSides, cluster: str, w: Workload, port: int | None) -> bool:
    f = servers.facts(cluster, w, port)
    return f.captured and f.pa.mode == "STRICT"


def webhooks(ctx: CheckContext) -> Iterator[Finding]:
    """IN104: the kube-apiserver's TLS (no client certificate) into a STRICT webhook port;
    PR101: its TLS into a port declared HTTP."""
    servers = ctx.server_sides()
    for c in ctx.mesh.clusters.values():
        seen: set[tuple[str, str, int]] = set()
        for cfg in c.webhooks:
            for hook in cfg.obj.webhooks:
                ref = hook.client_config.service
                if ref is None:
                    continue
                svc = c.service_named(ref.namespace, ref.name)
                if svc is None or not svc.obj.spec.selector:
                    continue
                port = next((p for p in svc.obj.spec.ports if p.port == ref.port), None)
                if port is None:
                    continue
                raw = port.target_port if port.target_port is not None else port.port
                proto = protocol.kube_port(port.name, port.app_protocol, port.protocol, port.port)
                for w in c.selected_by(svc):
                    target = w.container_port(raw)
                    key = (w.key, ref.name, ref.port)
                    if key in seen:
                        continue
                    seen.add(key)
                    f = servers.facts(c.name, w, target)
                    if not f.captured:
                        continue
                    if f.pa.mode == "STRICT":
                        yield IN_WEBHOOK.finding(
                            _wsubject(w),
                            origin=w.origin,
                            cluster=c.name,
                            fix=f"Set port {target} PERMISSIVE in a PeerAuthentication selecting "
                            f"{w.key}, or list it in traffic.sidecar.istio.io/excludeInboundPorts.",
                            webhook=hook.name,
                            service=f"{ref.namespace}/{ref.name}",
                            port=ref.port,
                            workload=w.key,
                            target=target,
                        )
                    elif proto.port_class == "http":
                        yield PR_TLS_ON_HTTP.finding(
                            Subject("Service", svc.namespace, svc.name),
                            origin=svc.origin,
                            cluster=c.name,
                            caller="the kube-apiserver (webhook " + hook.name + ")",
                            service=f"{svc.namespace}/{svc.name}",
                            port=ref.port,
                            declared=f"HTTP ({proto.why})",
                        )


def probes_and_scrapes(ctx: CheckContext) -> Iterator[Finding]:
    """IN105 kubelet probes that are not rewritten, IN106 scrapes without metrics merging, into
    STRICT ports."""
    servers = ctx.server_sides()
    for c in ctx.mesh.clusters.values():
        for w in c.workloads:
            if not c.injection(w).injected:
                continue
            for number, _scheme in unrewritten_probes(w):
                if _strict(servers, c.name, w, number):
                    yield IN_PROBE.finding(
                        _wsubject(w), origin=w.origin, cluster=c.name, workload=w.key, port=number
                    )
            ann = w.annotations
            port_text = ann.get(SCRAPE_PORT, "")
            if (
                ann.get(SCRAPE) == "true"
                and ann.get(MERGE_METRICS) == "false"
                and port_text.isdigit()
                and _strict(servers, c.name, w, int(port_text))
            ):
                yield IN_SCRAPE.finding(
                    _wsubject(w), origin=w.origin, cluster=c.name, workload=w.key, port=port_text
                )
