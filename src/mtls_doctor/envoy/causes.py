"""Map what Envoy, istio-agent and clients log to a cause, and say what to check next.

Causes use DESIGN.md's vocabulary; the log-only causes are listed in `LOG_ONLY_CAUSES`.
Access logs write `_` for spaces inside details and transport failure reasons, debug logs
keep the spaces: every match below allows both.
"""

from __future__ import annotations

import re

from mtls_doctor.envoy.accesslog import AccessRecord

# Causes only logs can name (rows to add to DESIGN.md's cause table).
LOG_ONLY_CAUSES: dict[str, str] = {
    "no-filter-chain": "a server sidecar closed a connection that matched no filter chain "
    "(NR filter_chain_not_found): plaintext into STRICT, or TLS a port does not accept",
    "cert-verify-failed": "a certificate was rejected (CERTIFICATE_VERIFY_FAILED / "
    "CERTIFICATE_UNKNOWN) and the log does not say whether SAN or root was wrong",
    "tls-handshake-failed": "a TLS handshake failed for a reason the log does not name",
    "upstream-reset": "the upstream closed the connection before responding (UC)",
    "upstream-connect-failure": "the upstream refused or timed out the TCP connection "
    "(UF without TLS error)",
    "no-healthy-upstream": "the cluster had no healthy endpoint (UH)",
    "ca-unreachable": "istio-agent could not get its certificate signed by the CA",
    "sds-failure": "the proxy could not get a secret (certificate or roots) over SDS",
    "xds-unreachable": "the proxy has no configuration stream from istiod",
    "probe-failed": "a kubelet health probe failed",
    "downstream-protocol-error": "the server could not parse what the client sent (DPE)",
}

NEXT_STEP: dict[str, str] = {
    "san-mismatch": "Compare the client cluster's SAN matchers (mtls-doctor envoy DUMP) with the "
    "server's service account and trust domain.",
    "untrusted-root": "Check that both sides' ROOTCA secrets come from the same root "
    "(istioctl proxy-config secret on each pod).",
    "cert-expired": "Check notAfter of the certificates in both proxies (istioctl proxy-config "
    "secret) and the CA root.",
    "cert-verify-failed": "Enable `connection` debug logging on the client proxy: it names the "
    "SAN or the issuer that failed; compare SAN matchers and roots.",
    "client-cert-missing": "Find the caller sending TLS without a client certificate "
    "(DestinationRule SIMPLE, an app doing its own TLS, a webhook call) into a STRICT port.",
    "plaintext-rejected": "Check the server's PeerAuthentication (STRICT) and whether the client "
    "has a sidecar and auto mTLS / ISTIO_MUTUAL towards it.",
    "tls-to-plaintext-server": "Check the server port's mTLS mode (DISABLE, no sidecar, excluded "
    "port) against the client's DestinationRule / auto mTLS.",
    "authz-denied": "Read the AuthorizationPolicy named in the policy and the client's identity "
    "(peer SAN) and request.",
    "no-filter-chain": "Look at the callers' side: plaintext from a client without a sidecar, or "
    "one-way TLS into a STRICT/PERMISSIVE port.",
    "tls-handshake-failed": "Enable `connection` debug logging on both proxies and read the TLS "
    "error on the side that closed the connection.",
    "upstream-reset": "Read the server side: NR filter_chain_not_found (plaintext into STRICT), a "
    "rejected client certificate under TLS 1.3, or network RBAC.",
    "upstream-connect-failure": "Check that the app listens on the port and address the sidecar "
    "forwards to, and the endpoint's health.",
    "no-healthy-upstream": "List the cluster's endpoints (istioctl proxy-config endpoint) and "
    "outlier detection state.",
    "ca-unreachable": "Check istiod (or the external CA) is up and reachable on 15012, and its "
    "logs for CSR errors.",
    "sds-failure": "Read the istio-agent lines before this one for the CA error.",
    "xds-unreachable": "Check istiod is up and reachable on 15012 from the pod.",
    "probe-failed": "Check the probe was rewritten by injection (/app-health/...) and the app "
    "listens on the pod IP.",
    "downstream-protocol-error": "Check what the caller sends to this port: a client sidecar "
    "sending Istio mTLS into a plaintext HTTP port (PeerAuthentication DISABLE) logs exactly "
    "this, as does a malformed request.",
    "blackholed": "Add a ServiceEntry or allow the host in the Sidecar egress "
    "(outboundTrafficPolicy REGISTRY_ONLY).",
}

_SP = r"[ _]"


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern.replace(" ", _SP), re.IGNORECASE)


# (pattern, cause, short reason), most specific first.
_TLS_RULES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (_rx(r"SAN matcher"), "san-mismatch", "SAN matcher"),
    (_rx(r"certificate has expired|CERTIFICATE_EXPIRED"), "cert-expired", "certificate expired"),
    (
        _rx(r"unable to get local issuer certificate|self.signed certificate in certificate chain"),
        "untrusted-root",
        "unknown issuer",
    ),
    (_rx(r"TLSV1_ALERT_UNKNOWN_CA"), "untrusted-root", "TLSV1_ALERT_UNKNOWN_CA"),
    (
        _rx(r"PEER_DID_NOT_RETURN_A_CERTIFICATE|CERTIFICATE_REQUIRED|certificate required"),
        "client-cert-missing",
        "no client certificate",
    ),
    (_rx(r"WRONG_VERSION_NUMBER"), "tls-to-plaintext-server", "WRONG_VERSION_NUMBER"),
    (_rx(r"CERTIFICATE_VERIFY_FAILED"), "cert-verify-failed", "CERTIFICATE_VERIFY_FAILED"),
    (
        _rx(r"SSLV3_ALERT_CERTIFICATE_UNKNOWN"),
        "cert-verify-failed",
        "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
    ),
    (
        _rx(r"TLS.error.*Connection reset by peer"),
        "tls-to-plaintext-server",
        "reset during handshake",
    ),
)
# every pattern above and below contains one of these: a cheap test before the regexes
_TLS_HINTS = ("TLS", "SSL", "SAN", "certificate", "CERTIFICATE", "issuer", "Connection reset")
_TLS_ERROR = _rx(r"TLS error|TLS_error|OPENSSL_internal|SSL routines")
_OPENSSL_REASON = re.compile(r"OPENSSL_internal:([A-Z0-9_]*)")


def tls_reason(text: str) -> str | None:
    """The OpenSSL reason code in a TLS error, e.g. `CERTIFICATE_VERIFY_FAILED` ('' if cut)."""
    m = _OPENSSL_REASON.search(text)
    return m.group(1) if m else None


def classify_tls(text: str) -> tuple[str, str] | None:
    """(cause, reason) for a TLS error text, or None when the text holds no TLS error."""
    if not any(hint in text for hint in _TLS_HINTS):
        return None
    for pattern, cause, reason in _TLS_RULES:
        if pattern.search(text):
            return cause, reason
    if _TLS_ERROR.search(text):
        if "HTTP_REQUEST" in text:  # tls_inspector saw plaintext: not a TLS failure
            return None
        return "tls-handshake-failed", tls_reason(text) or "no reason given"
    return None


_RBAC_POLICY = re.compile(r"rbac_access_denied_matched_policy\[(.*)\]")


def rbac_policy(details: str | None) -> str | None:
    if not details:
        return None
    m = _RBAC_POLICY.search(details)
    return m.group(1) if m else None


def classify_access(rec: AccessRecord) -> tuple[str | None, bool]:
    """(cause, relevant) for one access-log record."""
    flags, code, details = rec.response_flags, rec.response_code, rec.details
    termination, tfr, cluster = rec.termination, rec.tfr, rec.upstream_cluster
    flag_set = set((flags or "-").split(",")) - {"-", ""}
    text = " ".join(x for x in (details, termination, tfr) if x and x != "-")
    if rbac_policy(details) is not None or rbac_policy(termination) is not None:
        return "authz-denied", True
    if "UAEX" in flag_set:
        return "authz-denied", True
    if cluster == "BlackHoleCluster":
        return "blackholed", True
    tls = classify_tls(text)
    if tls is not None and tls[0] != "tls-handshake-failed":
        return tls[0], True
    if "NR" in flag_set and "filter_chain_not_found" in (details or ""):
        return "no-filter-chain", True
    if "DPE" in flag_set:
        # TLS bytes into a plaintext HTTP port and a malformed request log the same line
        # (`"- - HTTP/1.1" 400 DPE http1.codec_error`, checked with Envoy 1.40)
        return "downstream-protocol-error", True
    if tls is not None:
        return tls[0], True
    if "UH" in flag_set:
        return "no-healthy-upstream", True
    if "UC" in flag_set:
        return "upstream-reset", True
    if "UF" in flag_set or "URX" in flag_set:
        return "upstream-connect-failure", True
    if code == 0 and not flag_set and (cluster in (None, "-")) and (details in (None, "-")):
        # a connection closed before an upstream was picked: a failed handshake, typically
        return "tls-handshake-failed", True
    if code == 403:
        return "authz-denied", True
    return None, bool(flag_set)


def classify_client_message(text: str) -> str | None:
    """Cause named by what the calling app printed (Envoy local reply body, curl, kubelet)."""
    tls = classify_tls(text)
    if tls is not None:
        return tls[0]
    low = text.lower()
    if "rbac: access denied" in low:
        return "authz-denied"
    if "no healthy upstream" in low:
        return "no-healthy-upstream"
    if "probe failed" in low:
        return "plaintext-rejected" if "connection reset by peer" in low else "probe-failed"
    if "reset reason: connection termination" in low:
        return "upstream-reset"
    if "reset reason: connection failure" in low or "remote connection failure" in low:
        return "upstream-connect-failure"
    if "upstream connect error" in low:
        return "upstream-connect-failure"
    if "curl: (35)" in low and "wrong version number" in low:
        return "tls-to-plaintext-server"
    if re.search(r"curl: \((35|56)\).*connection reset by peer", low):
        return "plaintext-rejected" if "(56)" in low else "no-filter-chain"
    return None
