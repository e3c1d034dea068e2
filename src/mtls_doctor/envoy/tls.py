"""Read an Envoy transport socket (Upstream/DownstreamTlsContext) into `TlsSettings`.

Istio's ISTIO_MUTUAL never appears by name in a dump: it is an UpstreamTlsContext whose
certificate comes over SDS as `default` and whose roots come as `ROOTCA`, with ALPN
`istio-peer-exchange,istio` (or `istio-http/1.1`, ...) and SPIFFE SAN matchers.
"""

from __future__ import annotations

from typing import Any

from mtls_doctor.envoy import fields as f
from mtls_doctor.envoy.records import TlsMode, TlsSettings

_TLS_SOCKET_NAMES = ("envoy.transport_sockets.tls", "tls")
_ISTIO_ALPN = ("istio", "istio-peer-exchange", "istio-http/1.0", "istio-http/1.1", "istio-h2")


def unwrap_socket(socket: object) -> Any:
    """The innermost transport socket (Istio wraps some in `internal_upstream`/`tcp_stats`)."""
    cur = socket
    for _ in range(4):
        cfg = f.typed_config(cur)
        inner = f.get(cfg, "transport_socket")
        if isinstance(inner, dict) and not _is_tls_context(cfg):
            cur = inner
            continue
        break
    return cur


def _is_tls_context(cfg: object) -> bool:
    return f.type_url(cfg).endswith(("UpstreamTlsContext", "DownstreamTlsContext"))


def is_tls_socket(socket: object) -> bool:
    if not isinstance(socket, dict):
        return False
    socket = unwrap_socket(socket)
    return f.get(socket, "name") in _TLS_SOCKET_NAMES or _is_tls_context(f.typed_config(socket))


def read_socket(socket: object, *, downstream: bool = False) -> TlsSettings | None:
    """TLS settings of a transport socket, or None for plaintext (absent / raw_buffer)."""
    if not is_tls_socket(socket):
        return None
    return read_context(f.typed_config(unwrap_socket(socket)), downstream=downstream)


def read_context(ctx: dict[str, Any], *, downstream: bool = False) -> TlsSettings:
    common = f.obj(ctx, "common_tls_context")
    alpn = tuple(str(a) for a in f.arr(common, "alpn_protocols"))
    cert_source = _cert_source(common)
    exact, prefix, other = _san_matchers(common)
    ca_source = _ca_source(common)
    params = f.obj(common, "tls_params")
    require = None
    if downstream:
        raw = f.get(ctx, "require_client_certificate")
        if isinstance(raw, dict):
            raw = raw.get("value")
        require = bool(raw)
    mode = _mode(cert_source, alpn, downstream=downstream, require=require)
    return TlsSettings(
        mode=mode,
        sni=f.text(ctx, "sni") or None,
        alpn=alpn,
        san_exact=exact,
        san_prefix=prefix,
        san_other=other,
        cert_source=cert_source,
        ca_source=ca_source,
        require_client_certificate=require,
        min_version=f.text(params, "tls_minimum_protocol_version"),
        max_version=f.text(params, "tls_maximum_protocol_version"),
    )


def _mode(
    cert: str | None, alpn: tuple[str, ...], *, downstream: bool, require: bool | None
) -> TlsMode:
    istio = cert == "sds:default" or any(a in _ISTIO_ALPN for a in alpn)
    if downstream:
        if not require:
            return "tls"
        return "istio-mtls" if cert == "sds:default" else "mtls"
    if cert is None:
        return "tls"
    return "istio-mtls" if istio else "mtls"


def _cert_source(common: dict[str, Any]) -> str | None:
    for sds in f.arr(common, "tls_certificate_sds_secret_configs"):
        name = f.text(sds, "name")
        if name:
            return f"sds:{name}"
    for cert in f.arr(common, "tls_certificates"):
        chain = f.obj(cert, "certificate_chain")
        filename = f.text(chain, "filename")
        if filename:
            return f"file:{filename}"
        return "inline"
    provider = f.obj(common, "tls_certificate_provider_instance")
    if provider:
        return f"provider:{f.text(provider, 'instance_name') or ''}"
    return None


def _validation(common: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The validation context with SAN matchers, and the SDS name of the roots if any."""
    combined = f.obj(common, "combined_validation_context")
    if combined:
        sds = f.text(f.obj(combined, "validation_context_sds_secret_config"), "name")
        return f.obj(combined, "default_validation_context"), sds
    sds_cfg = f.obj(common, "validation_context_sds_secret_config")
    if sds_cfg:
        return {}, f.text(sds_cfg, "name")
    return f.obj(common, "validation_context"), None


def _ca_source(common: dict[str, Any]) -> str | None:
    ctx, sds = _validation(common)
    if sds:
        return f"sds:{sds}"
    ca = f.obj(ctx, "trusted_ca")
    if not ca:
        provider = f.obj(ctx, "ca_certificate_provider_instance")
        return f"provider:{f.text(provider, 'instance_name') or ''}" if provider else None
    filename = f.text(ca, "filename")
    return f"file:{filename}" if filename else "inline"


def _san_matchers(
    common: dict[str, Any],
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    ctx, _ = _validation(common)
    matchers: list[dict[str, Any]] = [
        m for m in f.arr(ctx, "match_subject_alt_names") if isinstance(m, dict)
    ]
    for typed in f.arr(ctx, "match_typed_subject_alt_names"):
        m = f.obj(typed, "matcher")
        if m:
            matchers.append(m)
    exact: list[str] = []
    prefix: list[str] = []
    other: list[str] = []
    for m in matchers:
        if f.get(m, "exact") is not None:
            exact.append(str(f.get(m, "exact")))
        elif f.get(m, "prefix") is not None:
            prefix.append(str(f.get(m, "prefix")))
        elif f.get(m, "suffix") is not None:
            other.append(f"suffix:{f.get(m, 'suffix')}")
        elif f.get(m, "contains") is not None:
            other.append(f"contains:{f.get(m, 'contains')}")
        elif f.get(m, "safe_regex") is not None:
            other.append(f"regex:{f.text(f.obj(m, 'safe_regex'), 'regex') or ''}")
    # Envoy's older `verify_subject_alt_name` list (exact strings)
    exact.extend(str(s) for s in f.arr(ctx, "verify_subject_alt_name"))
    return tuple(exact), tuple(prefix), tuple(other)
