"""The smallest change that makes an edge mTLS (or at least work), as one sentence."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mtls_doctor.edges.records import EndpointResult
from mtls_doctor.edges.registry import MeshService, SvcPort

if TYPE_CHECKING:
    from mtls_doctor.edges.client_tls import Client, Settings


def _dr_name(settings: Settings | None) -> str:
    if settings is None or settings.dr is None:
        return "the DestinationRule"
    r = settings.dr.rules[0]
    return f"DestinationRule {r.namespace}/{r.name}"


def _server(ep: EndpointResult) -> str:
    return ep.workload or ep.address or "the server"


def _why_plaintext(
    cause: str | None, client: Client, svc: MeshService, port: SvcPort, ep: EndpointResult,
    settings: Settings | None,
) -> str | None:  # fmt: skip
    src = ep.source
    if cause == "no-client-sidecar":
        if client.namespace is None:
            return None
        return (
            "Inject a sidecar into $CLIENT (label namespace $CLIENT_NS istio-injection=enabled "
            "and restart the workload)"
        )
    if (
        cause == "endpoint-not-mtls"
        and src is not None
        and src.kind in ("WorkloadEntry", "ServiceEntry")
    ):
        return (
            f"Set serviceAccount on {src.kind} {src.namespace}/{src.name} (the identity is read in "
            f"namespace {src.namespace}; list the server's real identity in the ServiceEntry's "
            "subjectAltNames), or label it security.istio.io/tlsMode: istio"
        )
    if cause in ("no-server-sidecar", "endpoint-not-mtls"):
        return f"Inject a sidecar into {_server(ep)}"
    if cause == "peer-auth-disable":
        return f"Change the DISABLE PeerAuthentication in namespace {svc.namespace} to PERMISSIVE or STRICT"  # noqa: E501
    if cause == "destination-rule-disable":
        return f"Remove the tls block that turns TLS off from {_dr_name(settings)} so auto mTLS applies"  # noqa: E501
    if cause == "auto-mtls-off":
        return f"Set enableAutoMtls: true in mesh config, or add a DestinationRule for {svc.display} with tls.mode ISTIO_MUTUAL"  # noqa: E501
    if cause == "passthrough":
        return (
            f"Call {svc.display} by its service name, and make sure it is exported to "
            "$CLIENT_NS and listed in the client's Sidecar egress hosts"
        )
    if cause == "mesh-external":
        return f"Set location: MESH_INTERNAL on {svc.kind} {svc.namespace}/{svc.ref.name} since its endpoints are mesh workloads"  # noqa: E501
    return None


def suggest(
    client: Client, svc: MeshService, port: SvcPort, ep: EndpointResult, settings: Settings | None
) -> str | None:
    """One sentence, ending with a period, or None when nothing needs fixing."""
    cause = ep.cause
    text: str | None
    if ep.verdict == "mtls" or cause is None:
        return None
    if ep.verdict == "plaintext":
        text = _why_plaintext(cause, client, svc, port, ep, settings)
    elif cause == "plaintext-rejected" and client.name == "external/kubelet":
        text = (
            f"Let the injector rewrite {_server(ep)}'s probes to the agent's port 15020 (remove "
            'the annotation sidecar.istio.io/rewriteAppHTTPProbers: "false"), or set '
            f"portLevelMtls {{{port.target}: PERMISSIVE}} for it"
        )
    elif cause == "plaintext-rejected":
        text = _why_plaintext(ep.plain_cause, client, svc, port, ep, settings)
        alt = (
            f"set portLevelMtls {{{port.target}: PERMISSIVE}} on a PeerAuthentication selecting "
            f"{_server(ep)}"
        )
        text = f"{text}, or {alt}" if text else alt[0].upper() + alt[1:]
    elif cause == "san-mismatch":
        who = ep.presented or "the identity the server presents"
        if settings is not None and settings.tls is not None and settings.tls.subject_alt_names:
            text = f"Add {who} to subjectAltNames of {_dr_name(settings)}"
        elif svc.kind == "ServiceEntry":
            text = (
                f"Add {who} to spec.subjectAltNames of ServiceEntry {svc.namespace}/{svc.ref.name}"
            )
        else:
            text = f"Make the service's identities match {who}"
    elif cause == "tls-to-plaintext-server":
        if settings is not None and settings.mode == "istio":
            text = (
                f"Remove tls.mode ISTIO_MUTUAL from {_dr_name(settings)} (auto mTLS sends "
                f"plaintext to workloads without a sidecar), or inject a sidecar into {_server(ep)}"
            )
        else:
            text = (
                f"Inject a sidecar into {_server(ep)} or, if the port bypasses its sidecar, set "
                f"portLevelMtls {{{port.target}: DISABLE}} for it so clients send plaintext"
            )
    elif cause == "client-cert-missing":
        if settings is not None and settings.mode == "simple":
            text = f"Use tls.mode ISTIO_MUTUAL (or drop the tls block) in {_dr_name(settings)}"
        else:
            text = (
                f"Set portLevelMtls {{{port.target}: PERMISSIVE}} on a PeerAuthentication "
                f"selecting {_server(ep)}, or exclude the port from inbound capture"
            )
    elif cause == "plaintext-to-tls-app":
        text = (
            f"Declare port {port.number} of {svc.display} as https-* or tls-* (the app serves TLS) "
            "and let the client app speak TLS, or serve plaintext behind the sidecar"
        )
    elif cause == "dr-tls-on-http-port":
        text = (
            f"Remove the SIMPLE/MUTUAL tls block from {_dr_name(settings)} (auto mTLS then "
            f"applies), or declare port {port.number} https-*/tls-* if the app serves TLS"
        )
    elif cause == "app-tls-on-http-port":
        text = f"Name port {port.number} of {svc.display} https-* or tls-* (or leave it unnamed) so the sidecars pass the app's TLS through"  # noqa: E501
    elif cause == "blackholed":
        text = f"Add {svc.namespace}/{svc.display} to the egress hosts of the client's Sidecar, or use outboundTrafficPolicy ALLOW_ANY"  # noqa: E501
    elif cause == "trust-domain-rejected":
        text = "Add the client's trust domain to trustDomainAliases in the server cluster's mesh config"  # noqa: E501
    elif cause == "untrusted-root" and settings is not None and settings.mode == "simple":
        text = f"Use tls.mode ISTIO_MUTUAL (or drop the tls block) in {_dr_name(settings)}"
    elif cause == "untrusted-root":
        text = "Give both sides certificates from one root of trust (plug-in CA cacerts with a shared root)"  # noqa: E501
    elif cause == "cert-expired":
        text = "Renew the expired certificate (restart the proxy, check istiod's CA)"
    elif cause == "authz-denied":
        text = "Allow $CLIENT in the AuthorizationPolicy that denies it"
    elif cause == "authz-undecidable":
        text = (
            "Check the AuthorizationPolicy conditions on source IPs, SNI or custom keys against "
            "the traffic: they cannot be decided from manifests"
        )
    elif cause == "network-unreachable":
        text = (
            f"Inject sidecars into the workloads behind {svc.display} on the other network "
            "(only mTLS endpoints are reachable through an east-west gateway)"
        )
    elif cause == "missing-input":
        text = "Add the missing objects to the inputs"
    else:
        text = None
    return None if text is None else text.rstrip(".") + "."
