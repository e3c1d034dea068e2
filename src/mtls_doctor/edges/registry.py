"""The service registry a cluster's istiod builds: services and their endpoints.

A cluster sees its own Kubernetes Services, ServiceEntries and WorkloadEntries, plus the Services
and pods of every cluster it discovers (remote secrets); Services with the same name and
namespace merge across clusters. Endpoint identities use the viewing cluster's trust domain,
as that istiod computes them (istio-semantics.md §3.5, §4.1, §9).
"""

from __future__ import annotations

from functools import cached_property
from typing import Final, Literal

from mtls_doctor.model import istio, kube
from mtls_doctor.model.mesh import ClusterIndex, Mesh, entry_labels
from mtls_doctor.model.objects import Loaded
from mtls_doctor.model.refs import ResourceRef
from mtls_doctor.model.workloads import Workload
from mtls_doctor.semantics import protocol
from mtls_doctor.semantics.identity import spiffe_id
from mtls_doctor.semantics.scope import EXPORT_TO_ANNOTATION

TLS_MODE_LABEL = "security.istio.io/tlsMode"
CANONICAL_SA = "alpha.istio.io/canonical-serviceaccounts"
KUBE_SA = "alpha.istio.io/kubernetes-serviceaccounts"


class SvcPort:
    """A service port as clients dial it. Plain classes (not msgspec records) for what the
    edge evaluation reads most: compiled, their fields are read directly."""

    __slots__ = ("name", "number", "protocol", "target")

    def __init__(
        self, number: int, name: str | None, protocol: protocol.Protocol, target: int | str | None
    ) -> None:
        self.number: Final = number
        self.name: Final = name
        self.protocol: Final = protocol
        self.target: Final = target

    def __repr__(self) -> str:
        return f"SvcPort({self.number}, {self.name!r}, {self.protocol.name})"


def kube_service_port(p: kube.ServicePort) -> SvcPort:
    """A Kubernetes Service port: its protocol from name and appProtocol, its target port
    (the port itself when none is given)."""
    return SvcPort(
        p.port,
        p.name,
        protocol.kube_port(p.name, p.app_protocol, p.protocol, p.port),
        p.target_port if p.target_port is not None else p.port,
    )


class MeshService:
    """A service in one cluster's registry: a Kubernetes Service or one ServiceEntry host."""

    __slots__ = (
        "declared_sans", "display", "export_to", "home_cluster", "hostname", "kind",
        "mesh_external", "namespace", "ports", "refs", "resolution", "selector", "vips",
    )  # fmt: skip

    def __init__(
        self,
        *,
        kind: Literal["Service", "ServiceEntry"],
        hostname: str,
        namespace: str,
        display: str,
        refs: tuple[ResourceRef, ...],
        ports: tuple[SvcPort, ...],
        mesh_external: bool,
        resolution: str,
        export_to: tuple[str, ...],
        declared_sans: tuple[str, ...],
        vips: tuple[str, ...],
        selector: dict[str, str] | None,
        home_cluster: str,
    ) -> None:
        self.kind: Final = kind
        self.hostname: Final = hostname
        self.namespace: Final = namespace
        self.display: Final = display  # the host as clients name it
        self.refs: Final = refs
        self.ports: Final = ports
        self.mesh_external: Final = mesh_external
        # ClusterIP, headless, ExternalName, or the ServiceEntry resolution
        self.resolution: Final = resolution
        self.export_to: Final = export_to
        self.declared_sans: Final = declared_sans
        self.vips: Final = vips
        self.selector: Final = selector
        # the cluster whose object defines it (the view's own when merged)
        self.home_cluster: Final = home_cluster

    def __repr__(self) -> str:
        return f"MeshService({self.kind} {self.display})"

    @property
    def passthrough(self) -> bool:
        """Headless / resolution NONE: an ORIGINAL_DST cluster, no per-endpoint socket match."""
        return self.resolution in ("headless", "NONE")

    @property
    def ref(self) -> ResourceRef:
        return self.refs[0]

    def port(self, number: int) -> SvcPort | None:
        return next((p for p in self.ports if p.number == number), None)


class Endpoint:
    """One address behind a service port, as the client's registry lists it."""

    __slots__ = (
        "address", "identity", "labels", "namespace", "network", "server", "server_cluster",
        "source", "target_port", "tls_mode", "tls_mode_why",
    )  # fmt: skip

    def __init__(
        self,
        *,
        address: str | None,
        namespace: str,
        labels: dict[str, str],
        tls_mode: str,
        tls_mode_why: str,
        identity: str | None,
        target_port: int | None,
        source: ResourceRef,
        server: Workload | None,
        server_cluster: str | None,
        network: str | None = None,
    ) -> None:
        self.address: Final = address
        self.namespace: Final = namespace  # the namespace client-side policy evaluates it in
        self.labels: Final = labels
        self.tls_mode: Final = tls_mode
        self.tls_mode_why: Final = tls_mode_why
        # the SPIFFE ID the registry associates (viewer's trust domain)
        self.identity: Final = identity
        self.target_port: Final = target_port
        self.source: Final = source
        self.server: Final = server
        self.server_cluster: Final = server_cluster
        self.network: Final = network  # the endpoint's network (multi-network), None: unnamed

    def __repr__(self) -> str:
        return f"Endpoint({self.address or self.source.key}, tlsMode {self.tls_mode})"

    def at(self, address: str) -> Endpoint:
        """The same endpoint at another address (another pod of the workload)."""
        return Endpoint(
            address=address,
            namespace=self.namespace,
            labels=self.labels,
            tls_mode=self.tls_mode,
            tls_mode_why=self.tls_mode_why,
            identity=self.identity,
            target_port=self.target_port,
            source=self.source,
            server=self.server,
            server_cluster=self.server_cluster,
            network=self.network,
        )

    @property
    def workload_key(self) -> str | None:
        return self.server.key if self.server is not None else None


def _kube_host(s: Loaded[kube.Service]) -> str:
    return f"{s.name}.{s.namespace}.svc.cluster.local"


def service_ref(s: Loaded[kube.Service]) -> ResourceRef:
    """A Service object as the traces and findings name it."""
    return ResourceRef("Service", s.namespace, s.name, s.cluster, s.origin)


def _se_ref(s: Loaded[istio.ServiceEntry]) -> ResourceRef:
    return ResourceRef("ServiceEntry", s.namespace, s.name, s.cluster, s.origin)


def _we_ref(w: Loaded[istio.WorkloadEntry]) -> ResourceRef:
    return ResourceRef("WorkloadEntry", w.namespace, w.name, w.cluster, w.origin)


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(x.strip() for x in (value or "").split(",") if x.strip())


class Registry:
    """The registry of one viewing cluster."""

    def __init__(self, mesh: Mesh, view: str) -> None:
        self.mesh = mesh
        self.view = view
        self.index: ClusterIndex = mesh.clusters[view]
        self.td = self.index.config.trust_domain
        self._endpoints: dict[tuple[str, str, int], tuple[Endpoint, ...]] = {}
        self._leads: dict[tuple[str, str, int], tuple[int, ...]] = {}
        # what a workload's endpoints share on every port (tlsMode and why, identity, network):
        # worked out once, not once per service port
        self._pod_facts: dict[tuple[str, int], tuple[str, str, str, str | None]] = {}
        self._service_accounts: dict[tuple[str, str], tuple[str, ...]] = {}

    @cached_property
    def services(self) -> tuple[MeshService, ...]:
        # Services of one name and namespace merge across clusters: the first one seen
        # defines the service, and every one of them is a ref (their pods are endpoints)
        same: dict[tuple[str, str], list[Loaded[kube.Service]]] = {}
        for cluster_name in self.mesh.discovery[self.view]:
            for s in self.mesh.clusters[cluster_name].services:
                same.setdefault((_kube_host(s), s.namespace), []).append(s)
        out: dict[tuple[str, str], MeshService] = {
            key: self._from_kube(group[0], tuple(service_ref(s) for s in group))
            for key, group in same.items()
        }
        for se in self.index.service_entries:
            for svc in self.service_entry_services(se):
                key = (svc.hostname, svc.namespace)
                if key not in out:
                    out[key] = svc
        return tuple(sorted(out.values(), key=lambda s: (s.namespace, s.hostname)))

    @cached_property
    def by_host(self) -> dict[str, list[MeshService]]:
        hosts: dict[str, list[MeshService]] = {}
        for s in self.services:
            hosts.setdefault(s.hostname, []).append(s)
            if s.display != s.hostname:
                hosts.setdefault(s.display, []).append(s)
        return hosts

    def _from_kube(self, s: Loaded[kube.Service], refs: tuple[ResourceRef, ...]) -> MeshService:
        spec = s.obj.spec
        ports = tuple(kube_service_port(p) for p in spec.ports)
        if spec.type == "ExternalName":
            resolution = "ExternalName"
        elif spec.cluster_ip == "None":
            resolution = "headless"
        else:
            resolution = "ClusterIP"
        ann = s.meta.annotations
        sans = (
            *_split(ann.get(CANONICAL_SA)),
            *(spiffe_id(self.td, s.namespace, sa) for sa in _split(ann.get(KUBE_SA))),
        )
        host = _kube_host(s)
        return MeshService(
            kind="Service",
            hostname=host,
            namespace=s.namespace,
            display=host,
            refs=refs,
            ports=ports,
            mesh_external=resolution == "ExternalName",
            resolution=resolution,
            export_to=_split(ann.get(EXPORT_TO_ANNOTATION)),
            declared_sans=sans,
            vips=(spec.cluster_ip,) if spec.cluster_ip and spec.cluster_ip != "None" else (),
            selector=spec.selector,
            home_cluster=s.cluster,
        )

    def service_entry_services(self, se: Loaded[istio.ServiceEntry]) -> list[MeshService]:
        spec = se.obj.spec
        ports = tuple(
            SvcPort(p.number, p.name, protocol.service_entry_port(p.protocol), p.target_port)
            for p in spec.ports
        )
        return [
            MeshService(
                kind="ServiceEntry",
                hostname=host,
                namespace=se.namespace,
                display=host,
                refs=(_se_ref(se),),
                ports=ports,
                mesh_external=spec.location != "MESH_INTERNAL",
                resolution=spec.resolution,
                export_to=tuple(spec.export_to or ()),
                declared_sans=tuple(spec.subject_alt_names),
                vips=tuple(spec.addresses),
                selector=spec.workload_selector.labels if spec.workload_selector else None,
                home_cluster=se.cluster,
            )
            for host in spec.hosts
        ]

    # -- endpoints ---------------------------------------------------------------------------

    def endpoints(self, svc: MeshService, port: SvcPort) -> tuple[Endpoint, ...]:
        key = (svc.hostname, svc.namespace, port.number)
        got = self._endpoints.get(key)
        if got is None:
            got = tuple(self._compute_endpoints(svc, port))
            self._endpoints[key] = got
        return got

    def endpoint_leads(self, svc: MeshService, port: SvcPort) -> tuple[int, ...]:
        """`alike_leads` of `endpoints(svc, port)`, worked out once."""
        key = (svc.hostname, svc.namespace, port.number)
        got = self._leads.get(key)
        if got is None:
            got = self._leads[key] = alike_leads(self.endpoints(svc, port))
        return got

    def _compute_endpoints(self, svc: MeshService, port: SvcPort) -> list[Endpoint]:
        if svc.kind == "Service":
            return self._kube_endpoints(svc, port)
        return self._se_endpoints(svc, port)

    def _pod_endpoint(
        self, c: ClusterIndex, w: Workload, target: int | None, address: str | None
    ) -> Endpoint:
        key = (c.name, id(w))  # workloads live as long as the mesh: ids stay unique
        facts = self._pod_facts.get(key)
        if facts is None:
            mode, why = self._pod_tls_mode(c, w)
            identity = spiffe_id(self.td, w.namespace, w.service_account)
            facts = self._pod_facts[key] = (mode, why, identity, c.network_of(w.labels))
        mode, why, identity, network = facts
        return Endpoint(
            address=address,
            namespace=w.namespace,
            labels=w.labels,
            tls_mode=mode,
            tls_mode_why=why,
            identity=identity,
            target_port=target,
            source=w.ref,
            server=w,
            server_cluster=c.name,
            network=network,
        )

    @staticmethod
    def _pod_tls_mode(c: ClusterIndex, w: Workload) -> tuple[str, str]:
        """The tlsMode the registry gives a workload's pods, and why."""
        label = w.labels.get(TLS_MODE_LABEL)
        if label is not None:
            return label, f"the pod label {TLS_MODE_LABEL}={label}"
        if w.gateway:
            return "disabled", f"gateway pods get no {TLS_MODE_LABEL} label"
        inj = c.injection(w)
        if inj.injected and not inj.observed:
            return "istio", f"the injector will label it {TLS_MODE_LABEL}=istio"
        if inj.injected:
            return "disabled", f"the pod has a sidecar but no {TLS_MODE_LABEL} label"
        return "disabled", f"the pod has no sidecar and no {TLS_MODE_LABEL} label"

    def _workload_endpoints(
        self, c: ClusterIndex, w: Workload, target: int | str | None
    ) -> list[Endpoint]:
        num = w.container_port(target)
        ips = w.ips
        if not ips:
            return [self._pod_endpoint(c, w, num, None)]
        first = self._pod_endpoint(c, w, num, ips[0])  # its pods differ in address alone
        return [first, *(first.at(ip) for ip in ips[1:])]

    def _kube_endpoints(self, svc: MeshService, port: SvcPort) -> list[Endpoint]:
        """Pods selected by each cluster's own Service of that name (namespace sameness), and
        the viewing cluster's WorkloadEntries its Service selects."""
        out: list[Endpoint] = []
        for ref in svc.refs:
            c = self.mesh.clusters[ref.cluster]
            obj = c.service_named(svc.namespace, ref.name)
            for w in c.selected_by(obj) if obj is not None else ():
                out.extend(self._workload_endpoints(c, w, port.target))
        if svc.selector:
            for we in self.index.selected_entries(svc.namespace, svc.selector):
                out.append(self._we_endpoint(we.obj.spec, we.namespace, _we_ref(we), port, we))
        return out

    def _we_endpoint(
        self,
        spec: istio.WorkloadEntrySpec,
        namespace: str,
        source: ResourceRef,
        port: SvcPort,
        we: Loaded[istio.WorkloadEntry] | None,
    ) -> Endpoint:
        labels = entry_labels(we) if we is not None else dict(spec.labels)
        if TLS_MODE_LABEL in labels:
            mode = labels[TLS_MODE_LABEL]
            why = f"{source.kind} {source.namespace}/{source.name} label {TLS_MODE_LABEL}={mode}"
        elif spec.service_account:
            mode = "istio"
            why = f"{source.kind} {source.namespace}/{source.name} has serviceAccount {spec.service_account}"  # noqa: E501
        else:
            mode = "disabled"
            why = (
                f"{source.kind} {source.namespace}/{source.name} has no serviceAccount and no "
                f"{TLS_MODE_LABEL} label"
            )
        identity = (
            spiffe_id(self.td, namespace, spec.service_account) if spec.service_account else None
        )
        target: int | None
        if port.name and port.name in spec.ports:
            target = spec.ports[port.name]
        elif isinstance(port.target, int):
            target = port.target
        else:
            target = port.number
        found = self.mesh.workload_at(spec.address) if spec.address else None
        return Endpoint(
            address=spec.address or None,
            namespace=namespace,
            labels=labels,
            tls_mode=mode,
            tls_mode_why=why,
            identity=identity,
            target_port=target,
            source=source,
            server=found[1] if found else None,
            server_cluster=found[0].name if found else None,
            network=spec.network or (found[0].network_of(found[1].labels) if found else None),
        )

    def _se_endpoints(self, svc: MeshService, port: SvcPort) -> list[Endpoint]:
        se = self.index.service_entry_named(svc.namespace, svc.ref.name)
        assert se is not None, svc.ref  # the service was made from it
        spec = se.obj.spec
        src = _se_ref(se)
        out = [self._we_endpoint(ep, se.namespace, src, port, None) for ep in spec.endpoints]
        if spec.workload_selector is not None:
            sel = spec.workload_selector.labels
            for we in self.index.selected_entries(se.namespace, sel):
                out.append(self._we_endpoint(we.obj.spec, we.namespace, _we_ref(we), port, we))
            for w in self.index.selected_workloads(se.namespace, sel):
                out.extend(self._workload_endpoints(self.index, w, port.target or port.number))
        unresolved = {
            "NONE": (None, "resolution NONE without instances: the connection goes to the "
                     "address the app dialed (ORIGINAL_DST)"),
            "DNS": (svc.hostname, "a DNS ServiceEntry without endpoints resolves its host name"),
            "DNS_ROUND_ROBIN": (svc.hostname,
                                "a DNS ServiceEntry without endpoints resolves its host name"),
        }  # fmt: skip
        if not out and spec.resolution in unresolved:
            address, why = unresolved[spec.resolution]
            out.append(
                Endpoint(
                    address=address,
                    namespace=se.namespace,
                    labels={},
                    tls_mode="disabled",
                    tls_mode_why=why,
                    identity=None,
                    target_port=port.target if isinstance(port.target, int) else port.number,
                    source=src,
                    server=None,
                    server_cluster=None,
                )
            )
        return out

    def service_accounts(self, svc: MeshService) -> tuple[str, ...]:
        """The service's SAN list before alias expansion (§4.1): endpoint identities of every
        port plus the declared ones."""
        key = (svc.hostname, svc.namespace)
        got = self._service_accounts.get(key)
        if got is None:
            got = self._service_accounts[key] = self._collect_service_accounts(svc)
        return got

    def _collect_service_accounts(self, svc: MeshService) -> tuple[str, ...]:
        ids: dict[str, None] = {}
        for p in svc.ports:
            for ep in self.endpoints(svc, p):
                if ep.identity:
                    ids[ep.identity] = None
        for san in svc.declared_sans:
            ids[san] = None
        return tuple(sorted(ids))


def alike_leads(endpoints: tuple[Endpoint, ...]) -> tuple[int, ...]:
    """For each endpoint, the position of the endpoint whose decision it shares: pods of one
    workload (same server, source and labels objects, port, tlsMode, identity) differ in
    address alone, and they come one after the other (`_workload_endpoints`). Any other
    endpoint is its own lead (deciding it again gives the same answer)."""
    leads: list[int] = []
    for i, e in enumerate(endpoints):
        leads.append(leads[-1] if i and _alike(e, endpoints[i - 1]) else i)
    return tuple(leads)


def _alike(a: Endpoint, b: Endpoint) -> bool:
    """Whether two endpoints differ in address alone (objects compared by identity)."""
    return (
        a.server is b.server
        and a.source is b.source
        and a.labels is b.labels
        and a.server_cluster == b.server_cluster
        and a.target_port == b.target_port
        and a.tls_mode == b.tls_mode
        and a.identity == b.identity
        and a.namespace == b.namespace
    )
