"""What a client's sidecar knows about (istio-semantics.md §10): service `exportTo`, the
`Sidecar` resource's egress hosts, and the outbound traffic policy for everything else."""

from __future__ import annotations

from collections.abc import Sequence

from mtls_doctor.model.istio import Sidecar
from mtls_doctor.model.meshconfig import MeshConfig
from mtls_doctor.model.objects import Loaded
from mtls_doctor.model.refs import ResourceRef
from mtls_doctor.record import Record
from mtls_doctor.semantics.destinationrule import host_matches
from mtls_doctor.semantics.peerauthn import creation_order
from mtls_doctor.semantics.trace import selects

EXPORT_TO_ANNOTATION = "networking.istio.io/exportTo"


class Visibility(Record):
    visible: bool
    why: str
    resources: tuple[ResourceRef, ...] = ()


def sidecar_ref(s: Loaded[Sidecar]) -> ResourceRef:
    return ResourceRef("Sidecar", s.namespace, s.name, s.cluster, s.origin)


def exported_to(
    service_ns: str, export_to: tuple[str, ...], client_ns: str, mesh: MeshConfig
) -> Visibility:
    """Whether a service is exported to the client's namespace, and why."""
    if is_exported(service_ns, export_to, client_ns, mesh):
        return Visibility(True, "exported to the client's namespace")
    exp = _export_list(export_to, mesh)
    return Visibility(False, f"exportTo {list(exp)} does not include the client's namespace")


def is_exported(
    service_ns: str, export_to: tuple[str, ...], client_ns: str, mesh: MeshConfig
) -> bool:
    """`exported_to(...).visible`, without the explanation."""
    exp = _export_list(export_to, mesh)
    return "*" in exp or client_ns in exp or ("." in exp and client_ns == service_ns)


def _export_list(export_to: tuple[str, ...], mesh: MeshConfig) -> Sequence[str]:
    """The service's exportTo, else the mesh default, else everywhere."""
    return export_to or mesh.default_service_export_to or ("*",)


class SidecarIndex:
    """`Sidecar` resources of one cluster: which one a workload gets."""

    def __init__(self, sidecars: list[Loaded[Sidecar]], root_namespace: str) -> None:
        self.root = root_namespace
        self.by_ns: dict[str, list[Loaded[Sidecar]]] = {}
        for s in sorted(sidecars, key=creation_order):
            self.by_ns.setdefault(s.namespace, []).append(s)

    def for_workload(self, namespace: str, labels: dict[str, str]) -> Loaded[Sidecar] | None:
        local = self.by_ns.get(namespace, [])
        for s in local:
            ws = s.obj.spec.workload_selector
            if ws and ws.labels and selects(ws.labels, labels):
                return s
        for s in local:
            ws = s.obj.spec.workload_selector
            if not (ws and ws.labels):
                return s
        for s in self.by_ns.get(self.root, []):
            ws = s.obj.spec.workload_selector
            if not (ws and ws.labels):
                return s
        return None


def sidecar_allows(
    sidecar: Loaded[Sidecar] | None,
    client_ns: str,
    service_ns: str,
    hostname: str,
    port: int,
    compiled: CompiledScope | None = None,
) -> Visibility:
    """Whether the Sidecar's egress hosts include `service_ns/hostname` for this port
    (`compiled`: the Sidecar's scope when the caller keeps one)."""
    if sidecar is None or not sidecar.obj.spec.egress:
        return Visibility(True, "no Sidecar egress restriction")
    ref = sidecar_ref(sidecar)
    entry = (compiled or CompiledScope(sidecar)).match(client_ns, service_ns, hostname, port)
    if entry is not None:
        return Visibility(True, f"Sidecar egress host {entry!r} includes it", (ref,))
    return Visibility(
        False,
        f"Sidecar {sidecar.namespace}/{sidecar.name} egress hosts do not include "
        f"{service_ns}/{hostname}",
        (ref,),
    )


def outbound_policy(sidecar: Loaded[Sidecar] | None, mesh: MeshConfig) -> tuple[str, str]:
    """(ALLOW_ANY | REGISTRY_ONLY, why) for traffic to hosts the sidecar does not know."""
    if sidecar is not None and sidecar.obj.spec.outbound_traffic_policy is not None:
        mode = sidecar.obj.spec.outbound_traffic_policy.mode
        return mode, f"Sidecar {sidecar.namespace}/{sidecar.name} outboundTrafficPolicy {mode}"
    mode = mesh.outbound_traffic_policy.mode
    return mode, f"mesh outboundTrafficPolicy {mode}"


class CompiledScope:
    """A Sidecar's egress hosts, compiled once: whole namespaces and `*/*` answer by lookup,
    host- or port-specific entries by a scan. "." is the client's namespace (a Sidecar applies
    to its own namespace; a root-namespace default is applied per namespace)."""

    def __init__(self, sidecar: Loaded[Sidecar] | None, mesh: MeshConfig | None = None) -> None:
        egress = sidecar.obj.spec.egress if sidecar is not None else []
        self.all = not egress  # no egress listeners: everything is visible
        # the outbound traffic policy for hosts it does not see (needs the mesh config)
        self.mode = outbound_policy(sidecar, mesh)[0] if mesh is not None else ""
        self.all_entry: str | None = None
        self.namespaces: dict[str, str] = {}  # namespace -> the `ns/*` entry
        self.relative: str | None = None  # the `./*` entry
        self.specific: list[tuple[int | None, str, str, str]] = []  # (port, ns, host, entry)
        for listener in egress:
            port = listener.port.number if listener.port and listener.port.number else None
            for entry in listener.hosts:
                ns_part, _, host_part = entry.partition("/")
                if not host_part:
                    ns_part, host_part = "*", ns_part
                if ns_part == "~":
                    continue
                if host_part == "*" and port is None:
                    if ns_part == "*":
                        self.all = True
                        self.all_entry = self.all_entry or entry
                    elif ns_part == ".":
                        self.relative = self.relative or entry
                    else:
                        self.namespaces.setdefault(ns_part, entry)
                else:
                    self.specific.append((port, ns_part, host_part, entry))

    def match(self, client_ns: str, service_ns: str, hostname: str, port: int) -> str | None:
        """The egress entry that lets the client see the service, or None."""
        if self.all:
            return self.all_entry or "*/*"
        if service_ns in self.namespaces:
            return self.namespaces[service_ns]
        if self.relative is not None and client_ns == service_ns:
            return self.relative
        for p, ns_part, host_part, entry in self.specific:
            if p is not None and p != port:
                continue
            if ns_part not in ("*", service_ns) and not (
                ns_part == "." and client_ns == service_ns
            ):
                continue
            if host_part == "*" or host_matches(host_part, hostname):
                return entry
        return None

    def sees(self, client_ns: str, service_ns: str, hostname: str, port: int) -> bool:
        return self.match(client_ns, service_ns, hostname, port) is not None
