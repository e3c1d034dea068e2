"""What a user sees for each cause, as real Envoy 1.40 showed it on loopback
(reference/envoy-behaviour.md §2-§3). Pure data and a lookup; no decisions."""

from __future__ import annotations

from functools import cache

from mtls_doctor.edges.records import Symptom

_RESET = "upstream connect error or disconnect/reset before headers. reset reason: "


KUBELET = "external/kubelet"


def symptom(cause: str | None, *, client_sidecar: bool, http: bool, presented: str | None = None,
            policy: str | None = None, caller: str | None = None) -> Symptom | None:  # fmt: skip
    """The symptom of a failing or denied edge; None for causes that do not fail. The same
    arguments always give the same (frozen) record, so it is made once."""
    return _symptom(cause, client_sidecar, http, presented, policy, caller == KUBELET)


@cache
def _symptom(cause: str | None, client_sidecar: bool, http: bool, presented: str | None,
             policy: str | None, kubelet: bool) -> Symptom | None:  # fmt: skip
    if kubelet and cause in ("plaintext-rejected", "client-cert-missing"):
        return Symptom(
            None,
            None,
            'Readiness probe failed: Get "http://POD_IP:PORT/...": read: connection reset by '
            "peer (kubectl describe pod; the pod never becomes Ready or keeps restarting)",
            "server sidecar: NR filter_chain_not_found",
        )
    if cause == "plaintext-rejected":
        if client_sidecar:
            return Symptom(
                503 if http else None,
                "UC",
                _RESET + "connection termination"
                if http
                else "connection closed by the server sidecar (client sidecar logs UC)",
                "server sidecar: NR filter_chain_not_found (no filter chain for plaintext)",
            )
        return Symptom(
            None,
            None,
            "connection reset by peer (curl: (56) Recv failure: Connection reset by peer)",
            "server sidecar: NR filter_chain_not_found",
        )
    if cause == "san-mismatch":
        sans = f"[{presented}]" if presented else "[...]"
        return Symptom(
            503 if http else None,
            "UF",
            _RESET + "remote connection failure, transport failure reason: TLS_error: "
            "CERTIFICATE_VERIFY_FAILED: verify cert failed: SAN matcher, certificate SANs are "
            f"{sans} (with Istio's retry policy the flags read URX,UF)",
            "client sidecar debug log: verify cert failed: SAN matcher",
        )
    if cause == "untrusted-root":
        return Symptom(
            503 if http else None,
            "UC",
            _RESET + "connection termination (TLS 1.3: the server rejected the client "
            "certificate: TLSV1_ALERT_UNKNOWN_CA); with TLS 1.2 the flags read UF",
            "server sidecar: verify cert failed: X509_verify_cert: unable to get local issuer "
            "certificate",
        )
    if cause == "trust-domain-rejected":
        return Symptom(
            503 if http else None,
            "UC",
            _RESET + "connection termination (the server sidecar rejected the client "
            "certificate's trust domain)",
            "server sidecar: verify cert failed: SAN matcher (spiffe:// trust-domain prefix)",
        )
    if cause == "cert-expired":
        return Symptom(
            503 if http else None,
            "UF",
            _RESET + "remote connection failure, transport failure reason: TLS_error: "
            "CERTIFICATE_VERIFY_FAILED: certificate has expired",
            "server sidecar: SSLV3_ALERT_CERTIFICATE_EXPIRED",
        )
    if cause == "client-cert-missing":
        if client_sidecar:
            return Symptom(
                503 if http else None,
                "UF",
                _RESET + "remote connection failure (TLS without an Istio client certificate; "
                "the CA is not the mesh root: CERTIFICATE_VERIFY_FAILED)",
                "server sidecar: PEER_DID_NOT_RETURN_A_CERTIFICATE",
            )
        return Symptom(
            None,
            None,
            "TLS handshake failure: tlsv13 alert certificate required (SSL alert number 116)",
            "server sidecar: PEER_DID_NOT_RETURN_A_CERTIFICATE: "
            "peer_did_not_provide_required_client_certificate",
        )
    if cause == "tls-to-plaintext-server":
        return Symptom(
            503 if http and client_sidecar else None,
            "UF" if client_sidecar else None,
            (_RESET + "remote connection failure, transport failure reason: TLS_error: "
             "WRONG_VERSION_NUMBER (or Connection reset by peer)")
            if client_sidecar
            else "TLS handshake failure: wrong version number",
            "server: 400 DPE http1.codec_error (TLS bytes reached a plaintext HTTP server)",
        )  # fmt: skip
    if cause == "dr-tls-on-http-port":
        return Symptom(
            503 if http else None,
            "UF",
            _RESET + "remote connection failure, transport failure reason: TLS_error: "
            "Connection reset by peer (with Istio's retry policy the flags read URX,UF)",
            "server sidecar: NR filter_chain_not_found",
        )
    if cause == "app-tls-on-http-port":
        return Symptom(
            None,
            None,
            "curl: (35) Recv failure: Connection reset by peer",
            "server sidecar: NR filter_chain_not_found",
        )
    if cause == "plaintext-to-tls-app":
        return Symptom(
            None, None, "the application's TLS server rejects the plaintext request", None
        )
    if cause == "network-unreachable":
        return Symptom(503 if http else None, "UH", "no healthy upstream", None)
    if cause == "blackholed":
        return Symptom(
            502 if http else None,
            None,
            "502 Bad Gateway from BlackHoleCluster (REGISTRY_ONLY); TCP connections are closed",
            None,
        )
    if cause == "authz-denied":
        name = policy or "..."
        if http:
            return Symptom(
                403,
                None,
                "RBAC: access denied",
                f"server sidecar: 403 rbac_access_denied_matched_policy[{name}]",
            )
        return Symptom(
            None,
            "UC",
            "connection closed (client sidecar: 503 UC connection termination)",
            f"server sidecar: termination details rbac_access_denied_matched_policy[{name}]",
        )
    return None
