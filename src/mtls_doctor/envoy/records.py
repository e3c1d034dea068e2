"""Frozen records of what one Envoy proxy really has, as read from a config dump.

These are facts, not judgements: `None` means the dump does not say. The semantics side
compares them with its predictions (see `envoy.compare`).
"""

from __future__ import annotations

from typing import Literal

from mtls_doctor.checks.finding import Finding
from mtls_doctor.model.refs import Origin
from mtls_doctor.record import Record
from mtls_doctor.sources.problems import InputProblem

# How a cluster (or one of its transport_socket_matches) talks to its endpoints.
#   none        plaintext (no transport socket, or raw_buffer)
#   istio-mtls  Istio mutual TLS: SDS `default` certificate (or Istio's ALPN), the mesh root
#   tls         one-way TLS (DestinationRule SIMPLE, or app TLS origination)
#   mtls        mutual TLS with user certificates (DestinationRule MUTUAL)
TlsMode = Literal["none", "istio-mtls", "tls", "mtls"]

# What an inbound port accepts, as its filter chains enforce it.
#   STRICT      only mutual TLS with a client certificate
#   PERMISSIVE  mutual TLS and plaintext (and TLS passed through to the app)
#   DISABLE     plaintext only (TLS bytes, if any, reach the app untouched)
#   TLS         TLS terminated without requiring a client certificate (a gateway's SIMPLE)
#   MIXED       a gateway port whose chains differ by SNI (see each chain's server_names)
#   UNKNOWN     the chains fit none of the above
InboundMode = Literal["STRICT", "PERMISSIVE", "DISABLE", "TLS", "MIXED", "UNKNOWN"]


class TlsSettings(Record):
    """One UpstreamTlsContext / DownstreamTlsContext, reduced to what decides mTLS."""

    mode: TlsMode
    sni: str | None = None
    alpn: tuple[str, ...] = ()
    san_exact: tuple[str, ...] = ()
    san_prefix: tuple[str, ...] = ()
    san_other: tuple[str, ...] = ()  # suffix:/contains:/regex: matchers, as `kind:value`
    cert_source: str | None = None  # `sds:default`, `sds:kubernetes://secret`, `file:/path`
    ca_source: str | None = None  # `sds:ROOTCA`, `file:/etc/certs/root-cert.pem`, `inline`
    require_client_certificate: bool | None = None  # downstream only
    min_version: str | None = None
    max_version: str | None = None

    @property
    def sans(self) -> tuple[str, ...]:
        return self.san_exact + tuple(f"prefix:{p}" for p in self.san_prefix) + self.san_other


class SocketMatch(Record):
    """One entry of a cluster's `transport_socket_matches`."""

    name: str
    match: tuple[tuple[str, str], ...]  # endpoint metadata it selects, e.g. (("tlsMode","istio"),)
    tls: TlsSettings


class ClusterTLS(Record):
    """An outbound (or inbound) cluster and the TLS it uses towards its endpoints.

    `mode`/`tls` is what endpoints labelled `tlsMode: istio` get when `auto_mtls` is true,
    otherwise what every endpoint gets; `fallback_mode` is what the other endpoints get.
    """

    name: str
    direction: str | None  # outbound, inbound, inbound-vip, None for non-Istio names
    port: int | None
    subset: str | None
    host: str | None
    discovery_type: str | None
    mode: TlsMode
    fallback_mode: TlsMode
    auto_mtls: bool
    tls: TlsSettings | None
    matches: tuple[SocketMatch, ...] = ()
    services: tuple[str, ...] = ()  # hosts from Istio's cluster metadata
    origin: Origin | None = None


class RbacPolicy(Record):
    """One named policy of an RBAC filter (Istio: `ns[NS]-policy[NAME]-rule[N]`)."""

    name: str
    action: str  # ALLOW, DENY, LOG, or CUSTOM-shadow
    layer: Literal["http", "network"]
    shadow: bool = False


class InboundChain(Record):
    name: str | None
    transport_protocol: str | None
    alpn: tuple[str, ...]
    tls: TlsSettings | None  # the DownstreamTlsContext when the chain terminates TLS
    server_names: tuple[str, ...] = ()  # SNI match (gateways)
    rbac: tuple[RbacPolicy, ...] = ()
    deny_all: bool = False  # an ALLOW RBAC filter without policies (Istio's "deny everything")

    @property
    def plaintext(self) -> bool:
        return self.tls is None and self.transport_protocol != "tls"

    @property
    def tls_passthrough(self) -> bool:
        return self.tls is None and self.transport_protocol == "tls"

    @property
    def mutual(self) -> bool:
        return self.tls is not None and bool(self.tls.require_client_certificate)

    @property
    def kind(self) -> str:
        if self.mutual:
            return "mTLS"
        if self.tls is not None:
            return "TLS"
        return "TLS passthrough" if self.tls_passthrough else "plaintext"


class InboundPort(Record):
    """One inbound port (None = the catch-all chains for ports no Service declares)."""

    listener: str
    port: int | None
    mode: InboundMode
    chains: tuple[InboundChain, ...]
    rbac: tuple[RbacPolicy, ...]
    rejected: str | None = None
    origin: Origin | None = None


class EndpointInfo(Record):
    cluster: str
    address: str
    tls_mode: str | None  # the `tlsMode` endpoint metadata (`istio`, `disabled`, None)
    health: str | None
    locality: str | None = None


class SecretInfo(Record):
    """An SDS secret the proxy holds. Private keys are never read."""

    name: str
    kind: Literal["Cert Chain", "CA", "Unknown"]
    status: Literal["ACTIVE", "WARMING"]
    serial: str | None = None
    not_before: str | None = None  # RFC 3339, UTC, `Z`
    not_after: str | None = None
    sans: tuple[str, ...] = ()
    subject: str | None = None
    issuer: str | None = None
    certificates: int = 0
    error: str | None = None


class Rejected(Record):
    """A resource Envoy refused (a listener's `error_state`): what it runs without."""

    kind: str  # listener
    name: str
    details: str
    origin: Origin | None = None


class ProxyInfo(Record):
    node_id: str | None = None
    kind: str | None = None  # sidecar, router (gateway), waypoint
    pod: str | None = None
    namespace: str | None = None
    ip: str | None = None
    istio_version: str | None = None
    envoy_version: str | None = None
    service_account: str | None = None
    workload: str | None = None
    cluster_id: str | None = None
    mesh_id: str | None = None
    trust_domain: str | None = None


class ProxyConfig(Record):
    """Everything read from one dump (whole or one section)."""

    source: str
    proxy: ProxyInfo
    sections: tuple[str, ...]  # clusters, listeners, endpoints, secrets, bootstrap, routes
    clusters: tuple[ClusterTLS, ...] = ()
    inbound: tuple[InboundPort, ...] = ()
    endpoints: tuple[EndpointInfo, ...] = ()
    secrets: tuple[SecretInfo, ...] = ()
    rejected: tuple[Rejected, ...] = ()
    legacy: bool = False  # an Envoy v2 API dump (Istio <= 1.6): recognised, not analysed
    findings: tuple[Finding, ...] = ()
    problems: tuple[InputProblem, ...] = ()

    def cluster(self, name: str) -> ClusterTLS | None:
        for c in self.clusters:
            if c.name == name:
                return c
        return None

    def port(self, port: int | None) -> InboundPort | None:
        for p in self.inbound:
            if p.port == port:
                return p
        return None
