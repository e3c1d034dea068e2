"""The client side of an edge: is the connection captured by the client's sidecar, does the
sidecar know the service, and what TLS its cluster originates to each endpoint
(istio-semantics.md §0 steps 1-4: capture, outbound path, DestinationRule / auto mTLS,
endpoint tlsMode)."""

from __future__ import annotations

import ipaddress
from typing import Final, Literal

from mtls_doctor.edges.registry import Endpoint, MeshService, Registry, SvcPort
from mtls_doctor.model.istio import ClientTLS, Sidecar
from mtls_doctor.model.meshconfig import MeshConfig
from mtls_doctor.model.objects import Loaded
from mtls_doctor.model.refs import ResourceRef
from mtls_doctor.semantics.destinationrule import DRChoice, cluster_tls, endpoint_tls_mode
from mtls_doctor.semantics.identity import expand_with_aliases
from mtls_doctor.semantics.inbound import Wire
from mtls_doctor.semantics.scope import (
    CompiledScope,
    exported_to,
    is_exported,
    outbound_policy,
    sidecar_allows,
)
from mtls_doctor.semantics.trace import Step

ClusterMode = Literal["none", "auto", "istio", "simple", "mutual"]


class Client:
    """Everything about a caller that the client side of an edge reads (a plain class: the
    engine reads it for every destination)."""

    __slots__ = (
        "cluster", "exclude_ports", "exclude_ranges", "identity", "include_ranges", "labels",
        "name", "namespace", "network", "pods", "refs", "sends_tls", "sidecar",
        "sidecar_resource", "sidecar_why",
    )  # fmt: skip

    def __init__(
        self,
        *,
        name: str,
        cluster: str,
        namespace: str | None,
        labels: dict[str, str],
        sidecar: bool,
        sidecar_why: str,
        refs: tuple[ResourceRef, ...],
        exclude_ports: frozenset[int] = frozenset(),
        exclude_ranges: tuple[str, ...] = (),
        include_ranges: tuple[str, ...] | None = None,
        sidecar_resource: Loaded[Sidecar] | None = None,
        identity: str | None = None,
        sends_tls: bool = False,
        pods: tuple[str, ...] = (),
        network: str | None = None,
    ) -> None:
        self.name: Final = name  # namespace/workload or external/<name>
        self.cluster: Final = cluster
        self.namespace: Final = namespace  # None for pseudo-clients outside the mesh
        self.labels: Final = labels
        self.sidecar: Final = sidecar
        self.sidecar_why: Final = sidecar_why
        self.refs: Final = refs
        self.exclude_ports: Final = exclude_ports
        self.exclude_ranges: Final = exclude_ranges
        self.include_ranges: Final = include_ranges
        self.sidecar_resource: Final = sidecar_resource
        self.identity: Final = identity
        self.sends_tls: Final = sends_tls  # the app itself speaks TLS (e.g. kube-apiserver)
        self.pods: Final = pods  # pod names, to find their certificates in secret dumps
        self.network: Final = network  # the client's network (multi-network meshes)

    def __repr__(self) -> str:
        return f"Client({self.name} {self.cluster})"


class Settings:
    """The client cluster's TLS for this service port, and why."""

    __slots__ = ("cause", "dr", "mode", "sans", "tls", "whole_cluster", "why")

    def __init__(
        self,
        mode: ClusterMode,
        why: str,
        cause: str | None,
        sans: tuple[str, ...] = (),
        tls: ClientTLS | None = None,
        dr: DRChoice | None = None,
        whole_cluster: bool = False,
    ) -> None:
        self.mode: Final = mode
        self.why: Final = why
        self.cause: Final = cause  # why no mTLS, when mode is "none"
        self.sans: Final = sans
        self.tls: Final = tls
        self.dr: Final = dr
        # ORIGINAL_DST: auto mTLS without per-endpoint matches
        self.whole_cluster: Final = whole_cluster

    def __repr__(self) -> str:
        return f"Settings({self.mode!r}, {self.why!r}, {self.cause!r})"


def _in_ranges(ip: str, ranges: tuple[str, ...]) -> bool:
    if not ranges:
        return False
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for r in ranges:
        if r.strip() == "*":
            return True
        try:
            if addr in ipaddress.ip_network(r.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


def app_wire(client: Client, port: SvcPort) -> Wire:
    if client.sends_tls or port.protocol.app_tls:
        return "app-tls"
    return "plaintext-tcp" if port.protocol.port_class == "tcp" else "plaintext-http"


def bypass(client: Client, svc: MeshService, port: SvcPort) -> str | None:
    """Why the client's own bytes go out without its sidecar: "no-sidecar", "excluded-port"
    or the service address outside the captured ranges; None when the sidecar handles them."""
    if not client.sidecar:
        return "no-sidecar"
    if port.number in client.exclude_ports:
        return "excluded-port"
    for vip in svc.vips if client.exclude_ranges or client.include_ranges is not None else ():
        if _in_ranges(vip, client.exclude_ranges) or (
            client.include_ranges is not None and not _in_ranges(vip, client.include_ranges)
        ):
            return vip
    return None


def captured(client: Client, svc: MeshService, port: SvcPort) -> bool:
    """Whether the client's sidecar handles this connection (`capture` without its step)."""
    return bypass(client, svc, port) is None


def capture(client: Client, svc: MeshService, port: SvcPort) -> tuple[bool, Step]:
    """Whether the client's sidecar handles this connection (the only client-named step)."""
    why = bypass(client, svc, port)
    if why is None:
        text = f"{client.name} has a sidecar: {client.sidecar_why}"
    elif why == "no-sidecar":
        text = f"{client.name} has no sidecar: {client.sidecar_why}"
    elif why == "excluded-port":
        text = (
            f"port {port.number} is in traffic.sidecar.istio.io/excludeOutboundPorts: the app's "
            "bytes bypass the sidecar"
        )
    else:
        text = f"{why} is outside the sidecar's captured IP ranges: the app's bytes bypass it"
    return why is None, Step("client sidecar", text, client.refs)


def outbound(
    mesh: MeshConfig,
    client: Client,
    svc: MeshService,
    port: SvcPort,
    compiled: CompiledScope | None = None,
) -> tuple[bool, str, Step]:
    """(visible, outbound policy, step): whether the client's sidecar has the service
    cluster, and what it does otherwise. The step names the client's own Sidecar, so it is
    rebuilt per client; the shared outcome keys only on the two answers."""
    assert client.namespace is not None
    exp = exported_to(svc.namespace, svc.export_to, client.namespace, mesh)
    scope = sidecar_allows(
        client.sidecar_resource,
        client.namespace,
        svc.namespace,
        svc.hostname,
        port.number,
        compiled,
    )
    if exp.visible and scope.visible:
        return (
            True,
            "",
            Step(
                "outbound path",
                f"service cluster outbound|{port.number}||{svc.hostname} ({scope.why})",
                (*svc.refs, *scope.resources),
            ),
        )
    mode, why = outbound_policy(client.sidecar_resource, mesh)
    reason = (
        f"{svc.display} is not in the client's registry view: {exp.why}"
        if not exp.visible
        else scope.why
    )
    sink = "BlackHoleCluster" if mode == "REGISTRY_ONLY" else "PassthroughCluster, no TLS"
    return (
        False,
        mode,
        Step("outbound path", f"{reason}; {why}: {sink}", (*svc.refs, *scope.resources)),
    )


def outbound_answer(
    mesh: MeshConfig, client: Client, svc: MeshService, port: SvcPort, compiled: CompiledScope
) -> tuple[bool, str]:
    """`outbound`'s two answers without its explanation; `compiled` is the client's Sidecar
    scope, built with the mesh config (so it knows the outbound traffic policy)."""
    assert client.namespace is not None
    if is_exported(svc.namespace, svc.export_to, client.namespace, mesh) and (
        compiled.sees(client.namespace, svc.namespace, svc.hostname, port.number)
    ):
        return True, ""
    return False, compiled.mode


def cluster_settings(
    reg: Registry, client: Client, svc: MeshService, port: SvcPort
) -> tuple[Settings, Step]:
    """Cluster TLS from the DestinationRule, else auto mTLS (§2-§3)."""
    assert client.namespace is not None
    mesh = reg.index.config
    dr = reg.index.dr.lookup(client.namespace, client.labels, svc.hostname, svc.namespace)
    choice = cluster_tls(dr, port.number)
    refs = dr.resources if dr else ()
    sans = expand_with_aliases(reg.service_accounts(svc), tuple(mesh.trust_domain_aliases))
    tls = choice.tls
    if tls is not None:
        mode = tls.mode.upper()
        if mode == "DISABLE":
            return Settings("none", choice.why, "destination-rule-disable", dr=dr), Step(
                "cluster TLS", f"{choice.why}: plaintext to every endpoint", refs
            )
        if mode == "ISTIO_MUTUAL":
            dr_sans = tuple(tls.subject_alt_names) if tls.subject_alt_names else None
            use = dr_sans if dr_sans is not None else sans
            return Settings("istio", choice.why, None, use, tls, dr), Step(
                "cluster TLS",
                f"{choice.why}: Istio mTLS to every endpoint, sidecar or not",
                refs,
            )
        if mode in ("SIMPLE", "MUTUAL"):
            selector = dr is not None and dr.rules[0].obj.spec.workload_selector is not None
            if (
                tls.credential_name
                and not tls.credential_name.startswith("configmap://")
                and not selector
            ):
                return Settings("none", choice.why, "destination-rule-disable", dr=dr), Step(
                    "cluster TLS",
                    f"{choice.why} with credentialName on a sidecar: Istio builds no TLS at "
                    "all (credentialName works on gateways only): plaintext",
                    refs,
                )
            if (
                mode == "MUTUAL"
                and not tls.credential_name
                and not (tls.client_certificate and tls.private_key)
            ):
                return Settings("none", choice.why, "destination-rule-disable", dr=dr), Step(
                    "cluster TLS",
                    f"{choice.why} without clientCertificate/privateKey: the TLS context is "
                    "not built: plaintext",
                    refs,
                )
            m: ClusterMode = "simple" if mode == "SIMPLE" else "mutual"
            return Settings(m, choice.why, None, tuple(tls.subject_alt_names or ()), tls, dr), Step(
                "cluster TLS",
                f"{choice.why}: one-way/user TLS, no Istio client certificate",
                refs,
            )
    # auto mTLS
    if not mesh.enable_auto_mtls:
        return Settings("none", "enableAutoMtls is false", "auto-mtls-off", dr=dr), Step(
            "cluster TLS", f"{choice.why}; mesh config enableAutoMtls: false: plaintext", refs
        )
    if svc.mesh_external:
        why = (
            f"{svc.kind} {svc.namespace}/{svc.ref.name} is MESH_EXTERNAL: auto mTLS never applies"
            if svc.kind == "ServiceEntry"
            else f"Service {svc.namespace}/{svc.ref.name} is ExternalName: auto mTLS never applies"
        )
        return Settings("none", why, "mesh-external", dr=dr), Step(
            "cluster TLS", f"{choice.why}; {why}", (*refs, *svc.refs)
        )
    if svc.passthrough:
        eps = reg.endpoints(svc, port)
        if not eps or any(e.tls_mode != "istio" for e in eps):
            why = (
                "pass-through service (headless / resolution NONE) with "
                + ("no endpoints" if not eps else "an endpoint without tlsMode istio")
                + ": auto mTLS is off for the whole cluster"
            )
            cause = "endpoint-not-mtls"
            return Settings("none", why, cause, dr=dr), Step(
                "cluster TLS", f"{choice.why}; {why}", (*refs, *svc.refs)
            )
        ns_mode = reg.index.pa.namespace_mode(svc.namespace)
        if ns_mode.mode == "DISABLE":
            return Settings("none", ns_mode.why, "peer-auth-disable", dr=dr), Step(
                "cluster TLS", f"auto mTLS off: {ns_mode.why}", (*refs, *ns_mode.resources)
            )
        return Settings(
            "auto",
            "pass-through service, every endpoint has a sidecar",
            None,
            sans,
            None,
            dr,
            True,
        ), Step(
            "cluster TLS",
            f"{choice.why}; auto mTLS: every endpoint of the pass-through service has "
            "tlsMode istio: Istio mTLS for the whole cluster",
            (*refs, *svc.refs),
        )
    ns_mode = reg.index.pa.namespace_mode(svc.namespace)
    if ns_mode.mode == "DISABLE":
        return Settings("none", ns_mode.why, "peer-auth-disable", dr=dr), Step(
            "cluster TLS",
            f"{choice.why}; auto mTLS is off because the service namespace's mode is "
            f"DISABLE ({ns_mode.why})",
            (*refs, *ns_mode.resources),
        )
    return Settings("auto", ns_mode.why, None, sans, None, dr), Step(
        "cluster TLS",
        f"{choice.why}; auto mTLS ({ns_mode.why}): Istio mTLS to endpoints labelled "
        "tlsMode istio, plaintext to the others",
        (*refs, *ns_mode.resources),
    )


# -- per endpoint -------------------------------------------------------------------------


def endpoint_wire(
    reg: Registry, s: Settings, ep: Endpoint, port: SvcPort, base: Wire
) -> tuple[Wire, str, str | None]:
    """(wire, why, cause-if-not-mtls) for one endpoint."""
    if s.mode == "none":
        return base, s.why, s.cause
    if s.mode == "istio" or s.whole_cluster:
        return "istio-mtls", "Istio mTLS (no per-endpoint choice)", None
    if s.mode in ("simple", "mutual"):
        return "app-tls", f"DestinationRule {s.mode.upper()} TLS", None
    eds = endpoint_tls_mode(s.dr, port.number)
    if eds is not None and eds.upper() != "ISTIO_MUTUAL":
        return (
            base,
            f"the DestinationRule's tls mode {eds} marks the endpoint plaintext",
            "destination-rule-disable",
        )
    if ep.tls_mode != "istio":
        cause = "endpoint-not-mtls"
        if ep.server is not None and ep.source.kind not in ("WorkloadEntry", "ServiceEntry"):
            cause = "no-server-sidecar"
        return base, f"endpoint tlsMode {ep.tls_mode} ({ep.tls_mode_why}): plaintext", cause
    if eds is not None:  # ISTIO_MUTUAL keeps the endpoint's tlsMode istio (it adds none)
        return "istio-mtls", f"endpoint tlsMode istio ({ep.tls_mode_why})", None
    pa = reg.index.pa.mode_for(ep.namespace, ep.labels, ep.target_port)
    if pa.mode == "DISABLE":
        return (
            base,
            f"the endpoint's own PeerAuthentication is DISABLE ({pa.why}): plaintext",
            "peer-auth-disable",
        )
    return "istio-mtls", f"endpoint tlsMode istio ({ep.tls_mode_why})", None
