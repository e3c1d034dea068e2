"""Envoy config building blocks (plain dicts) shared by the server and client bootstraps."""

from __future__ import annotations

from typing import Any

from mtls_doctor.lab.case import PrincipalMatch, RbacPolicy

Json = dict[str, Any]

LOOPBACK = "127.0.0.1"

_T = "type.googleapis.com/"
TLS_INSPECTOR: Json = {
    "name": "envoy.filters.listener.tls_inspector",
    "typed_config": {
        "@type": _T + "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"
    },
}
HTTP_INSPECTOR: Json = {
    "name": "envoy.filters.listener.http_inspector",
    "typed_config": {
        "@type": _T + "envoy.extensions.filters.listener.http_inspector.v3.HttpInspector"
    },
}
TLS_PARAMS: Json = {
    "tls_minimum_protocol_version": "TLSv1_2",
    "tls_maximum_protocol_version": "TLSv1_3",
}

# istiod's ALPN sets (pilot/pkg/networking/core/listener.go).
ALL_ISTIO_MTLS_ALPNS = [
    "istio",
    "istio-peer-exchange",
    "istio-http/1.0",
    "istio-http/1.1",
    "istio-h2",
]
MTLS_HTTP_ALPNS = ["istio-http/1.0", "istio-http/1.1", "istio-h2"]
MTLS_TCP_WITH_MXC_ALPNS = ["istio-peer-exchange", "istio"]
PLAINTEXT_HTTP_ALPNS = ["http/1.1", "h2c"]
# What Istio's `istio.alpn` HTTP filter sets on ISTIO_MUTUAL upstreams for HTTP/1.1 traffic.
ISTIO_ALPN_FILTER_HTTP11 = ["istio-http/1.1", "istio", "http/1.1"]

# Access log formats. Envoy writes `_` for spaces inside details and failure reasons.
_COMMON = (
    "flags=%RESPONSE_FLAGS% details=%RESPONSE_CODE_DETAILS% term=%CONNECTION_TERMINATION_DETAILS% "
)
_TAIL = (
    'up_tfr="%UPSTREAM_TRANSPORT_FAILURE_REASON%" up_host=%UPSTREAM_HOST% '
    "cluster=%UPSTREAM_CLUSTER% fc=%FILTER_CHAIN_NAME% dn_peer=%DOWNSTREAM_PEER_URI_SAN% "
    "dn_tls=%DOWNSTREAM_TLS_VERSION% up_peer=%UPSTREAM_PEER_URI_SAN% "
    "up_tls=%UPSTREAM_TLS_VERSION% sni=%REQUESTED_SERVER_NAME% "
)
HTTP_FORMAT = (
    '[{tag}] [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" '
    "%RESPONSE_CODE% " + _COMMON + _TAIL + "dur=%DURATION%ms\n"
)
CONN_FORMAT = (
    "[{tag}] [%START_TIME%] CONN "
    + _COMMON
    + 'dn_tfr="%DOWNSTREAM_TRANSPORT_FAILURE_REASON%" '
    + _TAIL
    + "remote=%DOWNSTREAM_REMOTE_ADDRESS% rx=%BYTES_RECEIVED% tx=%BYTES_SENT% dur=%DURATION%ms\n"
)


def access_log(path: str, tag: str, *, http: bool) -> list[Json]:
    fmt = (HTTP_FORMAT if http else CONN_FORMAT).replace("{tag}", tag)
    return [
        {
            "name": "envoy.access_loggers.file",
            "typed_config": {
                "@type": _T + "envoy.extensions.access_loggers.file.v3.FileAccessLog",
                "path": path,
                "log_format": {"text_format_source": {"inline_string": fmt}},
            },
        }
    ]


def socket_address(port: int) -> Json:
    return {"socket_address": {"address": LOOPBACK, "port_value": port}}


def static_cluster(name: str, port: int, **extra: Any) -> Json:
    endpoint: Json = {"endpoint": {"address": socket_address(port)}}
    metadata = extra.pop("endpoint_metadata", None)
    if metadata is not None:
        endpoint["metadata"] = metadata
    cluster: Json = {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "lb_policy": "ROUND_ROBIN",
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [endpoint]}]},
    }
    cluster.update(extra)
    return cluster


def tls_socket(context_type: str, context: Json) -> Json:
    return {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {"@type": _T + "envoy.extensions.transport_sockets.tls.v3." + context_type}
        | context,
    }


RAW_BUFFER_SOCKET: Json = {
    "name": "envoy.transport_sockets.raw_buffer",
    "typed_config": {"@type": _T + "envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer"},
}


def san_matchers(values: tuple[str, ...], *, prefix: bool = False) -> list[Json]:
    out: list[Json] = []
    for value in values:
        san_type = "URI" if "://" in value else "DNS"
        out.append({"san_type": san_type, "matcher": {"prefix" if prefix else "exact": value}})
    return out


def tcp_proxy(stat_prefix: str, cluster: str, log: list[Json]) -> Json:
    return {
        "name": "envoy.filters.network.tcp_proxy",
        "typed_config": {
            "@type": _T + "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
            "stat_prefix": stat_prefix,
            "cluster": cluster,
            "access_log": log,
        },
    }


def http_connection_manager(
    stat_prefix: str,
    route: Json,
    log: list[Json],
    *,
    http_filters: list[Json] | None = None,
    inbound: bool,
) -> Json:
    config: Json = {
        "@type": _T
        + "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": stat_prefix,
        "access_log": log,
        "route_config": {
            "name": stat_prefix,
            "virtual_hosts": [{"name": "lab", "domains": ["*"], "routes": [route]}],
        },
        "http_filters": [
            *(http_filters or []),
            {
                "name": "envoy.filters.http.router",
                "typed_config": {"@type": _T + "envoy.extensions.filters.http.router.v3.Router"},
            },
        ],
    }
    if inbound:
        # What istiod sets on sidecar inbound HTTP chains; it tells the app the peer identity.
        config["forward_client_cert_details"] = "APPEND_FORWARD"
        config["set_current_client_cert_details"] = {"subject": True, "dns": True, "uri": True}
    return {"name": "envoy.filters.network.http_connection_manager", "typed_config": config}


# --- RBAC ---------------------------------------------------------------------------------


def _principal(match: PrincipalMatch) -> Json:
    if match.kind == "any":
        return {"any": True}
    if match.kind == "authenticated":
        return {"authenticated": {"principal_name": {"safe_regex": {"regex": ".+"}}}}
    if match.kind == "regex":
        return {"authenticated": {"principal_name": {"safe_regex": {"regex": match.value}}}}
    return {"authenticated": {"principal_name": {match.kind: match.value}}}


def _policy(policy: RbacPolicy) -> Json:
    if policy.never:  # istiod's rbacPolicyMatchNever
        return {
            "permissions": [{"not_rule": {"any": True}}],
            "principals": [{"not_id": {"any": True}}],
        }
    ids: list[Json] = []
    if policy.principals:
        ids.append({"or_ids": {"ids": [_principal(p) for p in policy.principals]}})
    if policy.not_principals:
        ids.append({"not_id": {"or_ids": {"ids": [_principal(p) for p in policy.not_principals]}}})
    principals = [{"and_ids": {"ids": ids}}] if ids else [{"any": True}]
    return {"permissions": [{"any": True}], "principals": principals}


def rbac_filters(policies: tuple[RbacPolicy, ...], *, network: bool) -> list[Json]:
    """DENY then ALLOW filters, as istiod orders them; none when there are no policies."""
    filters: list[Json] = []
    for action in ("DENY", "ALLOW"):
        chosen = [p for p in policies if p.action == action]
        if not chosen:
            continue
        rules = {"action": action, "policies": {p.name: _policy(p) for p in chosen}}
        if network:
            filters.append(
                {
                    "name": "envoy.filters.network.rbac",
                    "typed_config": {
                        "@type": _T + "envoy.extensions.filters.network.rbac.v3.RBAC",
                        "stat_prefix": "tcp.",
                        "rules": rules,
                    },
                }
            )
        else:
            filters.append(
                {
                    "name": "envoy.filters.http.rbac",
                    "typed_config": {
                        "@type": _T + "envoy.extensions.filters.http.rbac.v3.RBAC",
                        "rules": rules,
                    },
                }
            )
    return filters
