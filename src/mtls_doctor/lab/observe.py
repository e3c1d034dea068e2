"""What real Envoy did, and what that means in DESIGN.md's verdict and cause vocabulary.

Failure causes are read from the wire evidence alone (access-log flags, details, transport
failure reasons on both sides, the app's own record), in the order the handshake meets them: the
client verifies the server certificate first, then the server verifies the client's, then filter
chains, then RBAC. For requests that reach the app, the verdict is observed (XFCC and the server
chain say mTLS; the app says whether TLS reached it); *why* the client sent plaintext is a
configuration fact the wire cannot show, so the lab names the mechanism it saw and the causes that
mechanism is consistent with.
"""

from __future__ import annotations

import re

from mtls_doctor.lab.case import AutoMtls, NoTls, Prediction, SimpleTls
from mtls_doctor.lab.logs import LogLine
from mtls_doctor.lab.runner import LabRun
from mtls_doctor.record import Record

PASSTHROUGH = "PassthroughCluster"


class Observation(Record):
    """The facts one replay produced, as a user would read them off logs and the client."""

    http_status: int | None
    response_flags: str | None
    details: str | None
    upstream_transport_failure_reason: str | None
    server_log_line: str | None
    client_log_line: str | None
    peer_identity_seen_by_app: str | None
    client_error: str | None
    app_reached: bool
    app_saw_tls: bool
    server_chain: str | None
    evidence: tuple[str, ...] = ()
    stats: tuple[str, ...] = ()


class Outcome(Record):
    """The observation classified. `cause` is set when the wire decides it; otherwise
    `consistent_causes` lists the causes the observed `mechanism` fits."""

    verdict: str
    cause: str | None
    mechanism: str
    consistent_causes: tuple[str | None, ...] = ()

    def agrees_with(self, predicted: Prediction) -> bool:
        if predicted.verdict != self.verdict:
            return False
        if predicted.cause == self.cause:
            return True
        return self.cause is None and predicted.cause in self.consistent_causes


def _first(lines: list[LogLine], *kinds: str) -> LogLine | None:
    for kind in kinds:
        for line in lines:
            if line.kind == kind:
                return line
    return None


def _xfcc_uri(xfcc: str | None) -> str | None:
    if not xfcc:
        return None
    match = re.search(r"URI=([^;,]+)", xfcc)
    return match.group(1) if match else None


def observe(run: LabRun) -> Observation:
    client_req = _first(run.client_lines, "http", "tcp")
    server_req = _first(run.server_lines, "http", "tcp")
    server_any = server_req or _first(run.server_lines, "conn")
    info = run.client_app_info or {}
    reached = info.get("app") == "lab-echo"
    chain = None
    for line in run.server_lines:
        chain = chain or line.get("fc")
    return Observation(
        http_status=run.client_status,
        response_flags=client_req.get("flags") if client_req else None,
        details=client_req.get("details") if client_req else None,
        upstream_transport_failure_reason=client_req.get("up_tfr") if client_req else None,
        server_log_line=server_any.raw if server_any else None,
        client_log_line=client_req.raw if client_req else None,
        peer_identity_seen_by_app=_xfcc_uri(info.get("xfcc")) if reached else None,
        client_error=run.client_error,
        app_reached=reached,
        app_saw_tls=bool(info.get("tls")) if reached else False,
        server_chain=chain,
        evidence=tuple(run.client_evidence[:4] + run.server_evidence[:4]),
        stats=tuple(
            f"{side} {name}: {value}"
            for side, counters in sorted(run.stats.items())
            for name, value in sorted(counters.items())
        ),
    )


# --- classification ---------------------------------------------------------------------------

_CLIENT_VERIFY = (  # client sidecar's view of the server certificate, or the server's alert
    ("unable_to_get_local_issuer", "untrusted-root"),
    ("UNKNOWN_CA", "untrusted-root"),
    ("certificate_has_expired", "cert-expired"),
    ("CERTIFICATE_EXPIRED", "cert-expired"),
    ("SAN_matcher", "san-mismatch"),
    ("WRONG_VERSION_NUMBER", "tls-to-plaintext-server"),
    ("PEER_DID_NOT_RETURN_A_CERTIFICATE", "client-cert-missing"),
    ("CERTIFICATE_REQUIRED", "client-cert-missing"),
)
_SERVER_VERIFY = (  # server sidecar's view of the client certificate
    ("unable_to_get_local_issuer", "untrusted-root"),
    ("certificate_has_expired", "cert-expired"),
    ("SAN_matcher", "trust-domain-rejected"),
    ("PEER_DID_NOT_RETURN_A_CERTIFICATE", "client-cert-missing"),
)


def _norm(text: str | None) -> str:
    return (text or "").replace(" ", "_")


def _rbac(run: LabRun) -> bool:
    for line in run.server_lines:
        for key in ("details", "term"):
            if (line.get(key) or "").startswith("rbac_access_denied"):
                return True
    return False


def _failure_cause(run: LabRun, obs: Observation) -> tuple[str | None, str]:
    client_tfr = " ".join(_norm(ln.get("up_tfr")) for ln in run.client_lines)
    client_debug = _norm(" ".join(run.client_evidence))
    for needle, cause in _CLIENT_VERIFY:
        if needle in client_tfr:
            return cause, "client sidecar TLS handshake failed"
    server_tfr = " ".join(_norm(ln.get("dn_tfr")) for ln in run.server_lines)
    for needle, cause in _SERVER_VERIFY:
        if needle in server_tfr:
            return cause, "server sidecar rejected the client's TLS"
    err = _norm(obs.client_error)
    for needle, cause in _CLIENT_VERIFY:
        if needle.upper() in err.upper() and cause != "tls-to-plaintext-server":
            return cause, "the client app's TLS handshake failed"
    events = {rec.get("event") for rec in run.app_records}
    if "tls-handshake-failed" in events:
        return "plaintext-to-tls-app", "the app expected TLS and got something else"
    no_chain = [ln for ln in run.server_lines if ln.get("details") == "filter_chain_not_found"]
    protocol_error = any("DPE" in (ln.get("flags") or "") for ln in run.server_lines)
    app_tls = run.case.app_protocol == "app-tls"
    if no_chain:
        tls_bytes = all("TLS_error" not in (ln.get("dn_tfr") or "") for ln in no_chain)
        if not tls_bytes:
            return "plaintext-rejected", "server sidecar found no filter chain for plaintext"
        if app_tls:
            return "app-tls-on-http-port", "server sidecar found no filter chain for the app's TLS"
        if isinstance(run.case.client.cluster_tls, SimpleTls):
            return (
                "dr-tls-on-http-port",
                "server sidecar found no filter chain for the client sidecar's SIMPLE TLS",
            )
        return None, "server sidecar found no filter chain for TLS without an Istio ALPN"
    if protocol_error and not app_tls and "tls-on-plaintext-app" not in events:
        return None, "bytes that are not HTTP met the server's HTTP parser"
    if protocol_error or "tls-on-plaintext-app" in events:
        if app_tls and not _client_wrapped(run):
            return "app-tls-on-http-port", "TLS from the app met a plaintext HTTP parser"
        return "tls-to-plaintext-server", "TLS met a plaintext server"
    if "UNKNOWN_CA" in client_debug:
        return "untrusted-root", "client sidecar got an unknown-CA alert"
    if run.case.app_protocol != "app-tls" and not run.client_sidecar and not run.server_sidecar:
        return None, "the app did not answer"
    return None, "no failure signature recognised"


def _client_wrapped(run: LabRun) -> bool:
    """True when the client sidecar put Istio mTLS around what the app sent."""
    return any(ln.get("up_tls") for ln in run.client_lines)


def _unprotected_mechanism(run: LabRun, verdict: str) -> Outcome:
    """Plaintext or app TLS reached the app: say how, and which causes that fits."""
    no_server = not run.server_sidecar
    plain_causes: set[str | None] = set()
    if not run.client_sidecar:
        return _tls_or_plain(
            verdict, "no-client-sidecar", "the client has no sidecar", {"no-client-sidecar"}
        )
    cluster = next((ln.get("cluster") for ln in run.client_lines if ln.get("cluster")), None)
    if cluster == PASSTHROUGH:
        return _tls_or_plain(
            verdict, "passthrough", "client sidecar used PassthroughCluster", {"passthrough"}
        )
    tls = run.case.client.cluster_tls
    if isinstance(tls, SimpleTls):
        return Outcome(verdict, None, "client sidecar originated non-Istio TLS", (None,))
    if isinstance(tls, AutoMtls):
        mechanism = "auto mTLS matched tlsMode-disabled: the endpoint is not marked istio"
        # istiod clears tlsMode for endpoints whose own PeerAuthentication says DISABLE (§3.4).
        plain_causes = {"endpoint-not-mtls", "peer-auth-disable"}
    elif isinstance(tls, NoTls):
        mechanism = "the client's cluster has no TLS"
        plain_causes = {
            "destination-rule-disable",
            "auto-mtls-off",
            "endpoint-not-mtls",
            "peer-auth-disable",
        }
    else:
        mechanism = "client sidecar sent plaintext"
    if no_server:
        plain_causes.add("no-server-sidecar")
    return _tls_or_plain(verdict, None, mechanism, plain_causes)


def _tls_or_plain(
    verdict: str, cause: str | None, mechanism: str, causes: set[str | None]
) -> Outcome:
    consistent: tuple[str | None, ...] = tuple(sorted(causes, key=lambda c: c or ""))
    if verdict == "tls":
        consistent = (None, *consistent)
    return Outcome(verdict, cause if verdict == "plaintext" else None, mechanism, consistent)


def classify(run: LabRun, obs: Observation | None = None) -> Outcome:
    obs = obs or observe(run)
    if _rbac(run):
        return Outcome("denied", "authz-denied", "server sidecar RBAC denied the request")
    if obs.app_reached:
        server_req = _first(run.server_lines, "http", "tcp")
        terminated = (
            server_req is not None
            and "mtls" in (server_req.get("fc") or "")
            and server_req.get("dn_tls") is not None
            and server_req.get("dn_peer") is not None
        )
        if terminated:
            return Outcome(
                "mtls", None, "server sidecar terminated Istio mTLS with a verified peer"
            )
        verdict = "tls" if obs.app_saw_tls else "plaintext"
        return _unprotected_mechanism(run, verdict)
    cause, mechanism = _failure_cause(run, obs)
    return Outcome("fail", cause, mechanism)
