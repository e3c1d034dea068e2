"""What the lab replays: a plain description of what istiod would configure on each side of an edge.

A `LabCase` is filled by whoever predicts the edge (the edge engine, a test, a hand-written YAML
file). It depends on nothing else in the package: the lab turns it into certificates, Envoy
bootstraps and one request, and compares what real Envoy did with `predicted`.
"""

from __future__ import annotations

from typing import Literal

import msgspec

AppProtocol = Literal["http", "tcp", "app-tls"]
PortClass = Literal["http", "tcp", "auto"]
PeerAuthMode = Literal["STRICT", "PERMISSIVE", "DISABLE"]
Verdict = Literal["mtls", "plaintext", "tls", "fail", "denied", "unknown"]

ISTIO_ALPN: tuple[str, ...] = ("istio-peer-exchange", "istio")
DEFAULT_HOST = "echo.echo.svc.cluster.local"


class Prediction(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the model says happens on this edge (DESIGN.md verdict and cause vocabulary)."""

    verdict: Verdict
    cause: str | None = None
    symptom: str | None = None


# --- client cluster TLS (what CDS gives the client's outbound cluster) -------------------------


class NoTls(msgspec.Struct, frozen=True, tag="none", tag_field="mode", forbid_unknown_fields=True):
    """No transport socket: plaintext to every endpoint (DR DISABLE, auto mTLS off or DISABLE)."""


class IstioMutual(
    msgspec.Struct, frozen=True, tag="istio_mutual", tag_field="mode", forbid_unknown_fields=True
):
    """A DestinationRule ISTIO_MUTUAL: one TLS socket for every endpoint, sidecar or not."""

    sni: str
    sans: tuple[str, ...] = ()
    alpn: tuple[str, ...] = ISTIO_ALPN


class AutoMtls(
    msgspec.Struct, frozen=True, tag="auto", tag_field="mode", forbid_unknown_fields=True
):
    """Auto mTLS: `transport_socket_matches` on the endpoint's `tlsMode` metadata."""

    endpoint_tls_mode: Literal["istio", "disabled"]
    sni: str
    sans: tuple[str, ...] = ()
    alpn: tuple[str, ...] = ISTIO_ALPN


class SimpleTls(
    msgspec.Struct, frozen=True, tag="simple", tag_field="mode", forbid_unknown_fields=True
):
    """A DestinationRule SIMPLE: one-way TLS, no client certificate.

    `ca`: "system" (the OS store, which never holds a mesh root), "mesh" (the client's mesh root
    given as `caCertificates`) or "skip" (`insecureSkipVerify: true`). `sni` None means Envoy's
    auto SNI from the Host header.
    """

    sni: str | None = None
    sans: tuple[str, ...] = ()
    ca: Literal["system", "mesh", "skip"] = "system"


ClusterTls = NoTls | IstioMutual | AutoMtls | SimpleTls


# --- the two sides ----------------------------------------------------------------------------


class ClientSide(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The calling workload.

    `identity` is the SPIFFE URI of the client sidecar's certificate; `root` names the root CA that
    signed it (sides with the same root name share a CA). `trusts` lists extra roots in the
    sidecar's root bundle besides its own. `passthrough` means the destination is not in the
    client's registry view: traffic goes to PassthroughCluster (no TLS).
    """

    sidecar: bool = True
    identity: str | None = "spiffe://cluster.local/ns/curl/sa/curl"
    root: str = "mesh"
    trusts: tuple[str, ...] = ()
    cert_expired: bool = False
    cluster_tls: ClusterTls = NoTls()
    passthrough: bool = False


PrincipalKind = Literal["exact", "prefix", "suffix", "regex", "authenticated", "any"]


class PrincipalMatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An `authenticated.principal_name` matcher on the peer certificate's URI SAN.

    `regex` is a full-match RE2 pattern (istiod compiles `namespaces` to `.*/ns/<ns>/.*` and
    `serviceAccounts` to a regex). `authenticated` is Istio's `principals: ["*"]` (any verified
    peer); `any` matches every connection, authenticated or not (a rule with no `from`).
    """

    kind: PrincipalKind
    value: str = ""


class RbacPolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One AuthorizationPolicy rule as istiod compiles it into an Envoy RBAC policy.

    Matches when any of `principals` matches (an empty tuple means any connection) and none of
    `not_principals` does. `never` is istiod's match-never policy for an ALLOW policy without rules.
    The filter level (HTTP or network RBAC) follows the chain, as istiod builds it: HTTP RBAC on
    HTTP connection manager chains, network RBAC on tcp_proxy chains. Permissions are "any":
    pass only rules whose `to`/`when` conditions hold for the replayed request.
    """

    name: str
    action: Literal["ALLOW", "DENY"]
    principals: tuple[PrincipalMatch, ...] = ()
    not_principals: tuple[PrincipalMatch, ...] = ()
    never: bool = False


class ServerSide(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The destination workload, for the target port the edge reaches.

    `mode` is the PeerAuthentication mode resolved for that port. `trust_domains` are the
    `spiffe://<td>/` prefixes the inbound accepts on client certificates (trust domain plus
    aliases); empty means no SAN check (PILOT_SKIP_VALIDATE_TRUST_DOMAIN). `app_tls` means the app
    itself serves TLS on the port.
    """

    sidecar: bool = True
    identity: str | None = "spiffe://cluster.local/ns/echo/sa/default"
    root: str = "mesh"
    trusts: tuple[str, ...] = ()
    cert_expired: bool = False
    mode: PeerAuthMode = "PERMISSIVE"
    trust_domains: tuple[str, ...] = ("cluster.local",)
    inbound_excluded: bool = False
    app_tls: bool = False
    rbac: tuple[RbacPolicy, ...] = ()


class LabCase(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One edge to replay: both sides, what the client app sends, the port class, the prediction.

    `source` names the client as the edge contract's `from` does (e.g. `curl/curl`), for display;
    `host` and `port` are the edge's `to`.
    """

    client: ClientSide
    server: ServerSide
    predicted: Prediction
    name: str = "edge"
    app_protocol: AppProtocol = "http"
    port_class: PortClass = "http"
    host: str = DEFAULT_HOST
    port: int = 8080
    source: str | None = None

    @property
    def server_proxied(self) -> bool:
        """True when the server sidecar intercepts the target port."""
        return self.server.sidecar and not self.server.inbound_excluded


def decode_case(data: bytes, *, yaml: bool) -> LabCase:
    """Decode a LabCase from YAML or JSON; raises msgspec.ValidationError / DecodeError."""
    if yaml:
        import msgspec.yaml

        return msgspec.yaml.decode(data, type=LabCase)
    return msgspec.json.decode(data, type=LabCase)


def encode_case(case: LabCase) -> bytes:
    """The case as YAML, the same shape `decode_case` reads."""
    import msgspec.yaml

    return msgspec.yaml.encode(case)
