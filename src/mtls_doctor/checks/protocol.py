"""Protocol checks: TLS sent to ports declared HTTP (edges), TLS apps behind HTTP-declared ports,
and ports whose protocol the sidecars have to sniff."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_doctor.checks.codes_runbook import PR_PLAIN_TO_TLS_APP, PR_SNIFFED, PR_TLS_ON_HTTP
from mtls_doctor.checks.context import CheckContext
from mtls_doctor.checks.finding import Finding, Subject
from mtls_doctor.model.kube import Container
from mtls_doctor.semantics import protocol
from mtls_doctor.semantics.injection import IGNORED_NAMESPACES

PROXY_PORTS = range(15000, 15100)  # Istio's own proxy ports (HBONE 15008, agent 15020, ...)


def tls_on_http_edges(ctx: CheckContext) -> Iterator[Finding]:
    """PR101 from the edges: a client's TLS reached a port the server declares HTTP."""
    seen: set[tuple[str, str]] = set()
    for r in ctx.results:
        for cls in r.classes:
            if not any(e.cause == "app-tls-on-http-port" for e in cls.outcome.endpoints):
                continue
            key = (r.cluster, r.to)
            if key in seen:
                continue
            seen.add(key)
            ref = r.service.ref
            names, total = cls.names(3)
            yield PR_TLS_ON_HTTP.finding(
                Subject(ref.kind, ref.namespace, ref.name),
                origin=ref.origin,
                cluster=r.cluster,
                caller=", ".join(names) + (f" and {total - 3} more" if total > 3 else ""),
                service=r.service.display,
                port=r.port.number,
                declared=f"{r.port.protocol.name} ({r.port.protocol.why})",
            )


def _tls_container_port(containers: tuple[Container, ...], number: int) -> str | None:
    for c in containers:
        for p in c.ports:
            if (
                p.container_port == number
                and p.name
                and protocol.kube_port(p.name, None, p.protocol, number).app_tls
            ):
                return p.name
    return None


def service_ports(ctx: CheckContext) -> Iterator[Finding]:
    """PR102: a port declared HTTP in front of a container port named https/tls behind a
    sidecar; PR103: ports without a protocol (sniffed)."""
    for c in ctx.mesh.clusters.values():
        ignored = IGNORED_NAMESPACES | {c.config.root_namespace}
        for s in c.services:
            spec = s.obj.spec
            if spec.type == "ExternalName":
                continue
            subject = Subject("Service", s.namespace, s.name)
            selected = c.selected_by(s)
            for p in spec.ports:
                proto = protocol.kube_port(p.name, p.app_protocol, p.protocol, p.port)
                if (
                    proto.port_class == "auto"
                    and s.namespace not in ignored
                    and p.port not in PROXY_PORTS
                ):
                    yield PR_SNIFFED.finding(
                        subject,
                        origin=s.origin,
                        cluster=c.name,
                        fix=f"Name port {p.port} of Service {s.namespace}/{s.name} "
                        "<protocol>[-<suffix>] (http-, grpc-, tcp-, tls-) or set appProtocol.",
                        service=f"{s.namespace}/{s.name}",
                        port=p.port,
                        why=proto.why,
                    )
                if proto.port_class != "http":
                    continue
                raw = p.target_port if p.target_port is not None else p.port
                for w in selected:
                    target = w.container_port(raw)
                    if target is None or not c.injection(w).injected:
                        continue
                    named = _tls_container_port(w.containers, target)
                    if named is None:
                        continue
                    yield PR_PLAIN_TO_TLS_APP.finding(
                        subject,
                        origin=s.origin,
                        cluster=c.name,
                        service=f"{s.namespace}/{s.name}",
                        port=p.port,
                        declared=f"{proto.name} ({proto.why})",
                        workload=w.key,
                        target=target,
                        container_port=named,
                    )
                    break
