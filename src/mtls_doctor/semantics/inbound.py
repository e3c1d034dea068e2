"""What the server sidecar's inbound listener does with the bytes that arrive
(istio-semantics.md §1.5, the `TestInbound` matrix)."""

from __future__ import annotations

from typing import Literal

from mtls_doctor.semantics.peerauthn import Mode

Wire = Literal["plaintext-http", "plaintext-tcp", "app-tls", "istio-mtls"]
PortKind = Literal["http", "tcp", "auto", "passthrough"]
Inbound = Literal[
    "mtls",  # Istio mTLS terminated; the app gets the inner bytes
    "plain",  # plaintext accepted and handed to the app
    "raw",  # bytes passed to the app undecoded (TLS the app must terminate)
    "no-filter-chain",  # connection closed: NR filter_chain_not_found
    "client-cert-required",  # TLS handshake fails: the server demands a client certificate
    "protocol-error",  # the HTTP codec meets bytes it cannot parse
]


def inbound(mode: Mode, port: PortKind, wire: Wire) -> Inbound:
    """The outcome at the server sidecar for `wire` bytes on a port of class `port`."""
    if mode == "STRICT":
        if wire == "istio-mtls":
            return "mtls"
        if wire == "app-tls":
            return "client-cert-required"
        return "no-filter-chain"
    if mode == "PERMISSIVE":
        if wire == "istio-mtls":
            return "mtls"
        if wire == "app-tls":
            return "no-filter-chain" if port == "http" else "raw"
        if wire == "plaintext-tcp" and port == "http":
            return "protocol-error"
        return "plain"
    # DISABLE: no TLS inspection worth the name; raw_buffer chains only
    if port == "http":
        return "plain" if wire == "plaintext-http" else "protocol-error"
    if wire in ("istio-mtls", "app-tls"):
        return "raw"
    return "plain"
