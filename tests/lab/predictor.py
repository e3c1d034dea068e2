"""An independent, deliberately plain predictor for LabCases, written from istio-semantics.md.

It shares no code with the lab's classifier: it reads only the LabCase and walks the decision of
istio-semantics.md §0 — what the client sends (§2.4, §3.3, §7.3), which inbound chain takes it
(§1.5 matrix), the certificate checks of both sides (§1.4, §4.2, §5), RBAC (§8), and the app.
Certificate checks follow the TLS 1.3 order: the client verifies the server first (chain, then
validity, then SAN), then the server verifies the client.
"""

from __future__ import annotations

import re

from mtls_doctor.lab.case import (
    AutoMtls,
    IstioMutual,
    LabCase,
    NoTls,
    PrincipalMatch,
    RbacPolicy,
    SimpleTls,
)

Result = tuple[str, str | None]


def _wire(case: LabCase) -> tuple[str, str | None]:
    """What leaves the client: (kind, why-unprotected). kinds: plain, apptls, mtls-http,
    mtls-tcp, simple."""
    c = case.client
    app = "apptls" if case.app_protocol == "app-tls" else "plain"
    if not c.sidecar:
        return app, "no-client-sidecar"
    if c.passthrough:
        return app, "passthrough"
    if case.port_class == "http" and case.app_protocol != "http":
        return app, "passthrough"  # §7.3: only plaintext HTTP takes the HTTP chain
    tls = c.cluster_tls
    through_hcm = case.app_protocol == "http" and case.port_class in ("http", "auto")
    if isinstance(tls, NoTls):
        why = "peer-auth-disable" if case.server.mode == "DISABLE" else "destination-rule-disable"
        return app, why
    if isinstance(tls, AutoMtls) and tls.endpoint_tls_mode != "istio":
        return app, "no-server-sidecar" if not case.server.sidecar else "endpoint-not-mtls"
    if isinstance(tls, SimpleTls):
        return "simple", None
    return ("mtls-http" if through_hcm else "mtls-tcp"), None


def _matches(m: PrincipalMatch, principal: str | None) -> bool:
    if m.kind == "any":
        return True
    if principal is None:
        return False
    if m.kind == "authenticated":
        return True
    if m.kind == "exact":
        return principal == m.value
    if m.kind == "prefix":
        return principal.startswith(m.value)
    if m.kind == "regex":
        return re.fullmatch(m.value, principal) is not None
    return principal.endswith(m.value)


def _policy_matches(p: RbacPolicy, principal: str | None) -> bool:
    if p.never:
        return False
    ok = not p.principals or any(_matches(m, principal) for m in p.principals)
    return ok and not any(_matches(m, principal) for m in p.not_principals)


def _denied(case: LabCase, principal: str | None) -> bool:
    policies = case.server.rbac
    if any(p.action == "DENY" and _policy_matches(p, principal) for p in policies):
        return True
    allows = [p for p in policies if p.action == "ALLOW"]
    return bool(allows) and not any(_policy_matches(p, principal) for p in allows)


def _client_verifies_server(case: LabCase) -> str | None:
    c, s = case.client, case.server
    tls = c.cluster_tls
    if isinstance(tls, SimpleTls):
        if tls.ca == "skip":
            return None
        if tls.ca == "system":
            return "untrusted-root"
        sans = tls.sans
    else:
        assert isinstance(tls, IstioMutual | AutoMtls)
        sans = tls.sans
    if s.root not in (c.root, *c.trusts):
        return "untrusted-root"
    if s.cert_expired:
        return "cert-expired"
    if sans and s.identity not in sans:
        return "san-mismatch"
    return None


def _server_verifies_client(case: LabCase) -> str | None:
    c, s = case.client, case.server
    if isinstance(c.cluster_tls, SimpleTls):
        return "client-cert-missing"
    if c.root not in (s.root, *s.trusts):
        return "untrusted-root"
    if c.cert_expired:
        return "cert-expired"
    ident = c.identity or ""
    if s.trust_domains and not any(ident.startswith(f"spiffe://{td}/") for td in s.trust_domains):
        return "trust-domain-rejected"
    return None


def _to_app(case: LabCase, wire: str, why: str | None, *, mtls: bool) -> Result:
    """The bytes reach the app: plaintext, app TLS, or (sidecar TLS not terminated) raw TLS."""
    app_tls = case.server.app_tls
    if wire in ("mtls-http", "mtls-tcp", "simple") and not mtls:
        # The client sidecar's own TLS meets the app directly.
        if not app_tls:
            return "fail", "tls-to-plaintext-server"
        # A TLS app answers the handshake with its own (non-mesh) certificate.
        tls = case.client.cluster_tls
        if isinstance(tls, SimpleTls) and tls.ca == "skip":
            return "tls", None
        return "fail", "untrusted-root"
    inner_tls = case.app_protocol == "app-tls"
    if app_tls and not inner_tls:
        return "fail", "plaintext-to-tls-app"
    if mtls:
        return "mtls", None
    if inner_tls:
        return "tls", None
    return "plaintext", why


def predict(case: LabCase) -> Result:
    wire, why = _wire(case)
    s = case.server
    if not s.sidecar or s.inbound_excluded:
        return _to_app(case, wire, why, mtls=False)

    mode, klass = s.mode, case.port_class
    is_mtls = wire.startswith("mtls")
    is_tls = wire in ("apptls", "simple") or is_mtls

    # Which chain (§1.5 matrix): terminate mTLS, pass raw, or nothing / an error.
    if mode == "DISABLE":
        # An HTTP port has only the plaintext HTTP codec; TLS bytes there are a protocol error.
        # (On TCP and auto ports TLS bytes take the raw TCP chain to the app.)
        if klass == "http" and is_tls:
            if wire == "apptls":
                return "fail", "app-tls-on-http-port"
            return "fail", "tls-to-plaintext-server"
        if _denied(case, None):
            return "denied", "authz-denied"
        return _to_app(case, wire, why, mtls=False)

    if wire == "plain":
        if mode == "STRICT":
            return "fail", "plaintext-rejected"
        if _denied(case, None):
            return "denied", "authz-denied"
        return _to_app(case, wire, why, mtls=False)

    if mode == "STRICT" or is_mtls:
        # Terminated with Istio's server context (STRICT takes any TLS; PERMISSIVE the Istio ALPNs).
        if wire == "simple" or is_mtls:
            failed = _client_verifies_server(case)
            if failed:
                return "fail", failed
        if wire == "apptls":
            return "fail", "client-cert-missing"
        failed = _server_verifies_client(case)
        if failed:
            return "fail", failed
        principal = case.client.identity
        if _denied(case, principal):
            return "denied", "authz-denied"
        return _to_app(case, wire, why, mtls=True)

    # PERMISSIVE, non-Istio TLS (app TLS or DR SIMPLE): no Istio ALPN, so an HTTP port has
    # no filter chain for it; the cause says whose TLS it was (as the engine's `_at_server`).
    if klass == "http":
        return "fail", "app-tls-on-http-port" if wire == "apptls" else "dr-tls-on-http-port"
    if _denied(case, None):
        return "denied", "authz-denied"
    return _to_app(case, wire, why, mtls=False)
