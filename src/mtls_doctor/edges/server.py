"""The server side of an edge: what sits behind an endpoint and how its sidecar treats a port."""

from __future__ import annotations

from typing import Final

from mtls_doctor.edges.registry import SvcPort, kube_service_port, service_ref
from mtls_doctor.model import kube
from mtls_doctor.model.mesh import ClusterIndex, Mesh
from mtls_doctor.model.objects import Loaded
from mtls_doctor.model.refs import ResourceRef
from mtls_doctor.model.workloads import Workload
from mtls_doctor.semantics import protocol
from mtls_doctor.semantics.identity import spiffe_id
from mtls_doctor.semantics.inbound import PortKind
from mtls_doctor.semantics.injection import Injection
from mtls_doctor.semantics.peerauthn import PAResult, creation_order
from mtls_doctor.semantics.trace import Step

EXCLUDE_INBOUND = "traffic.sidecar.istio.io/excludeInboundPorts"
INCLUDE_INBOUND = "traffic.sidecar.istio.io/includeInboundPorts"
PROXY_PORTS = frozenset({15090, 15021, 15020})


class ServerFacts:
    """How a workload's sidecar treats one inbound port (a plain class: read on every edge)."""

    __slots__ = (
        "app_tls", "cluster", "excluded_why", "identity", "inbound_excluded", "injection",
        "mode_step", "pa", "port_kind", "port_refs", "port_why", "trust_domains", "workload",
    )  # fmt: skip

    def __init__(
        self,
        *,
        workload: Workload,
        cluster: str,
        port: int | None,  # the inbound (container) port these facts are about
        injection: Injection,
        inbound_excluded: bool,
        excluded_why: str,
        pa: PAResult,
        port_kind: PortKind,
        port_why: str,
        port_refs: tuple[ResourceRef, ...],
        app_tls: bool,
        identity: str,
        trust_domains: tuple[str, ...],
    ) -> None:
        self.workload: Final = workload
        self.cluster: Final = cluster
        self.injection: Final = injection
        self.inbound_excluded: Final = inbound_excluded
        self.excluded_why: Final = excluded_why
        self.pa: Final = pa
        self.port_kind: Final = port_kind
        self.port_why: Final = port_why
        self.port_refs: Final = port_refs
        self.app_tls: Final = app_tls  # the server app speaks TLS on this port
        self.identity: Final = identity  # what its certificate says
        self.trust_domains: Final = trust_domains  # client-certificate trust domains it accepts
        # the PeerAuthentication mode and port class on this port as a trace step: the same for
        # every client that reaches the port, so made once
        self.mode_step: Final = Step(
            "server mode",
            f"{workload.key} ({cluster}) port {port}: {pa.mode} ({pa.why}); {port_why}",
            (*pa.resources, *port_refs),
        )

    def __repr__(self) -> str:
        return f"ServerFacts({self.workload.key} {self.cluster} {self.port_kind})"

    @property
    def sidecar(self) -> bool:
        return self.injection.injected

    @property
    def captured(self) -> bool:
        return self.injection.injected and not self.inbound_excluded


def port_list(value: str | None) -> frozenset[int]:
    return frozenset(
        int(x) for x in (value or "").replace(" ", "").split(",") if x.strip().isdigit()
    )


def _inbound_excluded(w: Workload, port: int | None) -> tuple[bool, str]:
    if w.gateway:
        return True, (
            "it is an Istio gateway: PeerAuthentication does not govern its listeners "
            "(its Gateway resources decide TLS)"
        )
    if port is None:
        return False, ""
    if port in PROXY_PORTS:
        return True, f"port {port} is one of the proxy's own ports, never captured"
    excluded = w.annotations.get(EXCLUDE_INBOUND)
    if excluded is not None and port in port_list(excluded):
        return True, f"the pod annotation {EXCLUDE_INBOUND} lists port {port}"
    include = w.annotations.get(INCLUDE_INBOUND)
    if include is not None and include.strip() != "*" and port not in port_list(include):
        return True, f"the pod annotation {INCLUDE_INBOUND}={include!r} does not list {port}"
    return False, ""


def selecting_services(c: ClusterIndex, w: Workload) -> list[Loaded[kube.Service]]:
    """The Services of the workload's namespace whose selector picks it, oldest first."""
    found = c.selecting_services(w)
    return sorted(found, key=creation_order) if len(found) > 1 else found


class ServicePortRow:
    """One port of a Service as the inbound side reads it: worked out once per Service, not
    once per workload port it is compared with."""

    __slots__ = ("port", "ref", "why")

    def __init__(self, s: Loaded[kube.Service], port: SvcPort, ref: ResourceRef) -> None:
        self.port: Final = port
        self.ref: Final = ref
        self.why: Final = f"Service {s.namespace}/{s.name} port {port.number}: {port.protocol.why}"


def service_port_rows(s: Loaded[kube.Service]) -> tuple[ServicePortRow, ...]:
    ref = service_ref(s)
    return tuple(ServicePortRow(s, kube_service_port(p), ref) for p in s.obj.spec.ports)


def _port_class(
    candidates: list[tuple[ServicePortRow, ...]], w: Workload, port: int | None
) -> tuple[PortKind, str, tuple[ResourceRef, ...], bool]:
    """The inbound chain class for `port`: from the oldest Service that selects the pod
    (`candidates`, its ports) and targets this port; a port no Service declares gets the
    pass-through chains."""
    if port is None:
        return "passthrough", "the target port is unknown", (), False
    for rows in candidates:
        for row in rows:
            if w.container_port(row.port.target) == port:
                proto = row.port.protocol
                kind: PortKind = "tcp" if proto.port_class == "udp" else proto.port_class
                return (
                    kind,
                    row.why,
                    (row.ref,),
                    proto.app_tls or _container_port_tls(w, port),
                )
    return (
        "passthrough",
        f"no Service of {w.key} declares port {port}: pass-through chains",
        (),
        _container_port_tls(w, port),
    )


def _container_port_tls(w: Workload, port: int) -> bool:
    """The container port's own name says the app speaks TLS there (https-*, tls-*)."""
    for c in w.containers:
        for p in c.ports:
            if p.container_port == port and p.name:
                return protocol.kube_port(p.name, None, p.protocol, port).app_tls
    return False


class ServerSides:
    """Server facts per (cluster, workload, port), computed once."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self._cache: dict[tuple[str, int, int | None], ServerFacts] = {}
        # per workload: the ports of the Services selecting it, and its identity
        self._per_workload: dict[tuple[str, int], tuple[list[tuple[ServicePortRow, ...]], str]] = {}
        self._rows: dict[int, tuple[ServicePortRow, ...]] = {}  # by Service object

    def facts(self, cluster: str, w: Workload, port: int | None) -> ServerFacts:
        key = (cluster, id(w), port)
        got = self._cache.get(key)
        if got is not None:
            return got
        c = self.mesh.clusters[cluster]
        excluded, why = _inbound_excluded(w, port)
        per = self._per_workload.get((cluster, id(w)))
        if per is None:  # the same for each of the workload's ports
            per = self._per_workload[(cluster, id(w))] = (
                [self._rows_of(s) for s in selecting_services(c, w)],
                spiffe_id(c.config.trust_domain, w.namespace, w.service_account),
            )
        services, identity = per
        kind, port_why, refs, app_tls = _port_class(services, w, port)
        got = ServerFacts(
            workload=w,
            cluster=cluster,
            port=port,
            injection=c.injection(w),
            inbound_excluded=excluded,
            excluded_why=why,
            pa=c.pa.mode_for(w.namespace, w.labels, port),
            port_kind=kind,
            port_why=port_why,
            port_refs=refs,
            app_tls=app_tls,
            identity=identity,
            trust_domains=c.trust_domains,
        )
        self._cache[key] = got
        return got

    def _rows_of(self, s: Loaded[kube.Service]) -> tuple[ServicePortRow, ...]:
        got = self._rows.get(id(s))  # every Service lives as long as the mesh: ids stay unique
        if got is None:
            got = self._rows[id(s)] = service_port_rows(s)
        return got
