"""Envoy bootstraps that mirror what istiod gives the two sidecars of one edge.

Server: one inbound listener for the target port whose filter chains follow the PeerAuthentication
mode and the port class (istio-semantics.md §1.5; STRICT matches `tls` without ALPN, as istiod
emits it), the DownstreamTlsContext of §1.4, and RBAC from the AuthorizationPolicy rules (§8).
Client: one outbound listener shaped per port class (§7.3), the service cluster with the TLS the
case predicts (§2.4, auto-mTLS `transport_socket_matches` of §3.3) and PassthroughCluster.
"""

from __future__ import annotations

from typing import Any

import yaml

from mtls_doctor.lab import envoyconf as ec
from mtls_doctor.lab.case import AutoMtls, IstioMutual, LabCase, NoTls, SimpleTls
from mtls_doctor.lab.envoyconf import Json
from mtls_doctor.record import Record


class Ports(Record):
    app: int
    server_listener: int
    server_admin: int
    client_listener: int
    client_admin: int


# Files each sidecar reads or writes, relative to the lab directory (Envoy's working directory).
CLIENT_CERT = "certs/client.crt"
CLIENT_KEY = "certs/client.key"
CLIENT_BUNDLE = "certs/client-roots.crt"
CLIENT_SYSTEM_CA = "certs/system-roots.crt"
SERVER_CERT = "certs/server.crt"
SERVER_KEY = "certs/server.key"
SERVER_BUNDLE = "certs/server-roots.crt"
SERVER_ACCESS_LOG = "logs/server-access.log"
CLIENT_ACCESS_LOG = "logs/client-access.log"


def inbound_cluster_name(case: LabCase) -> str:
    return f"inbound|{case.port}||"


def outbound_cluster_name(case: LabCase) -> str:
    return f"outbound|{case.port}||{case.host}"


def _base(node: str, admin_port: int, listeners: list[Json], clusters: list[Json]) -> Json:
    return {
        "node": {"id": node, "cluster": node.split("~")[2]},
        "admin": {"address": ec.socket_address(admin_port)},
        "static_resources": {"listeners": listeners, "clusters": clusters},
    }


def dump(config: Json) -> str:
    return yaml.safe_dump(config, sort_keys=False, width=120)


# --- server ------------------------------------------------------------------------------------


def server_bootstrap(case: LabCase, ports: Ports) -> Json:
    server = case.server
    cluster = inbound_cluster_name(case)
    log = SERVER_ACCESS_LOG

    def downstream_tls(alpn: list[str]) -> Json:
        validation: Json = {"trusted_ca": {"filename": SERVER_BUNDLE}}
        prefixes = tuple(f"spiffe://{td}/" for td in server.trust_domains)
        if prefixes:
            validation["match_typed_subject_alt_names"] = ec.san_matchers(prefixes, prefix=True)
        return ec.tls_socket(
            "DownstreamTlsContext",
            {
                "require_client_certificate": True,
                "common_tls_context": {
                    "tls_params": ec.TLS_PARAMS,
                    "alpn_protocols": alpn,
                    "tls_certificates": [
                        {
                            "certificate_chain": {"filename": SERVER_CERT},
                            "private_key": {"filename": SERVER_KEY},
                        }
                    ],
                    "validation_context": validation,
                },
            },
        )

    def http_chain(name: str, match: Json, *, tls: bool) -> Json:
        route = {"match": {"prefix": "/"}, "route": {"cluster": cluster, "timeout": "0s"}}
        hcm = ec.http_connection_manager(
            f"inbound_{case.port}_{name}",
            route,
            ec.access_log(log, "srv:http", http=True),
            http_filters=ec.rbac_filters(server.rbac, network=False),
            inbound=True,
        )
        chain: Json = {"name": name, "filter_chain_match": match, "filters": [hcm]}
        if tls:
            chain["transport_socket"] = downstream_tls(["h2", "http/1.1"])
        return chain

    def tcp_chain(name: str, match: Json, *, tls: bool) -> Json:
        filters = [
            *ec.rbac_filters(server.rbac, network=True),
            ec.tcp_proxy(cluster, cluster, ec.access_log(log, "srv:tcp", http=False)),
        ]
        chain: Json = {"name": name, "filter_chain_match": match, "filters": filters}
        if tls:
            chain["transport_socket"] = downstream_tls(["istio-peer-exchange", "h2", "http/1.1"])
        return chain

    tls_m: Json = {"transport_protocol": "tls"}
    raw_m: Json = {"transport_protocol": "raw_buffer"}

    def alpn(match: Json, alpns: list[str]) -> Json:
        return match | {"application_protocols": alpns}

    mode, klass = server.mode, case.port_class
    chains: list[Json]
    if klass == "http":
        chains = {
            "STRICT": [http_chain("strict-mtls-http", tls_m, tls=True)],
            "PERMISSIVE": [
                http_chain("permissive-mtls-http", alpn(tls_m, ec.ALL_ISTIO_MTLS_ALPNS), tls=True),
                http_chain("permissive-plaintext-http", raw_m, tls=False),
            ],
            "DISABLE": [http_chain("disable-plaintext-http", raw_m, tls=False)],
        }[mode]
    elif klass == "tcp":
        chains = {
            "STRICT": [tcp_chain("strict-mtls-tcp", tls_m, tls=True)],
            "PERMISSIVE": [
                tcp_chain("permissive-mtls-tcp", alpn(tls_m, ec.ALL_ISTIO_MTLS_ALPNS), tls=True),
                tcp_chain("permissive-tls-passthrough", tls_m, tls=False),
                tcp_chain("permissive-plaintext-tcp", raw_m, tls=False),
            ],
            "DISABLE": [tcp_chain("disable-plaintext-tcp", raw_m, tls=False)],
        }[mode]
    else:
        http_raw = alpn(raw_m, ec.PLAINTEXT_HTTP_ALPNS)
        chains = {
            "STRICT": [
                http_chain("strict-mtls-http", alpn(tls_m, ec.MTLS_HTTP_ALPNS), tls=True),
                tcp_chain("strict-mtls-tcp", tls_m, tls=True),
            ],
            "PERMISSIVE": [
                http_chain("permissive-mtls-http", alpn(tls_m, ec.MTLS_HTTP_ALPNS), tls=True),
                http_chain("permissive-plaintext-http", http_raw, tls=False),
                tcp_chain("permissive-mtls-tcp", alpn(tls_m, ec.MTLS_TCP_WITH_MXC_ALPNS), tls=True),
                tcp_chain("permissive-plaintext-tcp", raw_m, tls=False),
                tcp_chain("permissive-tls-passthrough", tls_m, tls=False),
            ],
            "DISABLE": [
                http_chain("disable-plaintext-http", http_raw, tls=False),
                tcp_chain("disable-plaintext-tcp", raw_m, tls=False),
            ],
        }[mode]
    listener: Json = {
        "name": f"inbound_{case.port}",
        "address": ec.socket_address(ports.server_listener),
        "enable_reuse_port": False,
        "listener_filters": _listener_filters(chains),
        "filter_chains": chains,
        "access_log": ec.access_log(log, "srv:conn", http=False),
    }
    clusters = [ec.static_cluster(cluster, ports.app)]
    node = f"sidecar~127.0.0.1~server.lab~{case.host}"
    return _base(node, ports.server_admin, [listener], clusters)


def _listener_filters(chains: list[Json]) -> list[Json]:
    """istiod adds the TLS inspector only where a chain matches `tls`, the HTTP inspector only
    where one matches plaintext HTTP ALPNs (listener_inbound.go populateListenerFilters)."""
    matches = [c.get("filter_chain_match", {}) for c in chains]
    filters: list[Json] = []
    if any(m.get("transport_protocol") == "tls" for m in matches):
        filters.append(ec.TLS_INSPECTOR)
    if any(
        m.get("transport_protocol") == "raw_buffer" and m.get("application_protocols")
        for m in matches
    ):
        filters.append(ec.HTTP_INSPECTOR)
    return filters


# --- client ------------------------------------------------------------------------------------

PASSTHROUGH = "PassthroughCluster"


def client_bootstrap(case: LabCase, ports: Ports) -> Json:
    client = case.client
    upstream_port = ports.server_listener if case.server_proxied else ports.app
    log = CLIENT_ACCESS_LOG
    name = outbound_cluster_name(case)
    clusters: list[Json] = [ec.static_cluster(PASSTHROUGH, upstream_port)]

    def hcm_chain(cluster: str, match: Json) -> Json:
        route = {
            "match": {"prefix": "/"},
            "route": {"cluster": cluster, "timeout": "0s", "retry_policy": _ISTIO_RETRY},
        }
        hcm = ec.http_connection_manager(
            f"outbound_{case.port}", route, ec.access_log(log, "cli:http", http=True), inbound=False
        )
        return {"name": "outbound-http", "filter_chain_match": match, "filters": [hcm]}

    def tcp_chain(cluster: str, chain_name: str) -> Json:
        proxy = ec.tcp_proxy(cluster, cluster, ec.access_log(log, "cli:tcp", http=False))
        return {"name": chain_name, "filters": [proxy]}

    http_match: Json = {
        "transport_protocol": "raw_buffer",
        "application_protocols": [*ec.PLAINTEXT_HTTP_ALPNS, "http/1.0"],
    }
    listener_filters: list[Json] = []
    chains: list[Json] = []
    default_chain: Json | None = None
    if client.passthrough:
        chains = [tcp_chain(PASSTHROUGH, "passthrough")]
    elif case.port_class == "tcp":
        clusters.append(_service_cluster(case, name, upstream_port, http=False))
        chains = [tcp_chain(name, "outbound-tcp")]
    elif case.port_class == "http":
        # istiod: the HTTP chain only takes plaintext HTTP; anything else (e.g. app TLS) falls to
        # the PassthroughFilterChain (listener.go buildSidecarOutboundListener).
        clusters.append(_service_cluster(case, name, upstream_port, http=True))
        listener_filters = [ec.TLS_INSPECTOR, ec.HTTP_INSPECTOR]
        chains = [hcm_chain(name, http_match)]
        default_chain = tcp_chain(PASSTHROUGH, "passthrough")
    else:  # auto: HTTP sniffed onto the HCM, everything else over tcp_proxy, same service
        tcp_name = name + "|tcp"
        clusters.append(_service_cluster(case, name, upstream_port, http=True))
        clusters.append(_service_cluster(case, tcp_name, upstream_port, http=False))
        listener_filters = [ec.TLS_INSPECTOR, ec.HTTP_INSPECTOR]
        chains = [hcm_chain(name, http_match)]
        default_chain = tcp_chain(tcp_name, "outbound-tcp")
    listener: Json = {
        "name": f"0.0.0.0_{case.port}",
        "address": ec.socket_address(ports.client_listener),
        "enable_reuse_port": False,
        "listener_filters": listener_filters,
        "filter_chains": chains,
        "access_log": ec.access_log(log, "cli:conn", http=False),
    }
    if default_chain is not None:
        listener["default_filter_chain"] = default_chain
    node = "sidecar~127.0.0.1~client.lab~lab.svc.cluster.local"
    return _base(node, ports.client_admin, [listener], clusters)


# Istio's default route retry policy (networking/core/route/retry/retry.go DefaultPolicy).
_ISTIO_RETRY: Json = {
    "retry_on": "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
    "num_retries": 2,
    "retry_host_predicate": [
        {
            "name": "envoy.retry_host_predicates.previous_hosts",
            "typed_config": {
                "@type": "type.googleapis.com/"
                "envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"
            },
        }
    ],
    "host_selection_retry_max_attempts": 5,
}


def _service_cluster(case: LabCase, name: str, port: int, *, http: bool) -> Json:
    """The outbound service cluster. `http`: used by the HCM, where Istio's `istio.alpn` filter
    rewrites the ALPN of ISTIO_MUTUAL upstreams; upstream Envoy has no such filter, so the HCM's
    cluster carries that ALPN itself."""
    tls = case.client.cluster_tls
    extra: dict[str, Any] = {}
    if isinstance(tls, NoTls):
        return ec.static_cluster(name, port)
    if isinstance(tls, IstioMutual | AutoMtls):
        alpn = ec.ISTIO_ALPN_FILTER_HTTP11 if http else list(tls.alpn)
        socket = _istio_mutual_socket(tls.sni, tls.sans, alpn)
        if isinstance(tls, IstioMutual):
            extra["transport_socket"] = socket
        else:
            extra["transport_socket_matches"] = [
                {
                    "name": "tlsMode-istio",
                    "match": {"tlsMode": "istio"},
                    "transport_socket": socket,
                },
                {"name": "tlsMode-disabled", "match": {}, "transport_socket": ec.RAW_BUFFER_SOCKET},
            ]
            if tls.endpoint_tls_mode == "istio":
                extra["endpoint_metadata"] = {
                    "filter_metadata": {"envoy.transport_socket_match": {"tlsMode": "istio"}}
                }
        return ec.static_cluster(name, port, **extra)
    return ec.static_cluster(name, port, **_simple_tls(tls, http=http))


def _istio_mutual_socket(sni: str, sans: tuple[str, ...], alpn: list[str]) -> Json:
    validation: Json = {"trusted_ca": {"filename": CLIENT_BUNDLE}}
    if sans:
        validation["match_typed_subject_alt_names"] = ec.san_matchers(sans)
    return ec.tls_socket(
        "UpstreamTlsContext",
        {
            "sni": sni,
            "common_tls_context": {
                "tls_params": ec.TLS_PARAMS,
                "alpn_protocols": alpn,
                "tls_certificates": [
                    {
                        "certificate_chain": {"filename": CLIENT_CERT},
                        "private_key": {"filename": CLIENT_KEY},
                    }
                ],
                "validation_context": validation,
            },
        },
    )


def _simple_tls(tls: SimpleTls, *, http: bool) -> Json:
    common: Json = {"tls_params": ec.TLS_PARAMS}
    if tls.ca != "skip":
        ca_file = CLIENT_SYSTEM_CA if tls.ca == "system" else CLIENT_BUNDLE
        validation: Json = {"trusted_ca": {"filename": ca_file}}
        if tls.sans:
            validation["match_typed_subject_alt_names"] = ec.san_matchers(tls.sans)
        common["validation_context"] = validation
    context: Json = {"common_tls_context": common}
    if tls.sni:
        context["sni"] = tls.sni
    extra: Json = {"transport_socket": ec.tls_socket("UpstreamTlsContext", context)}
    if tls.sni is None and http:
        # istiod sets auto_sni (and auto_san_validation without SANs) for SIMPLE with no sni.
        extra["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/"
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "upstream_http_protocol_options": {
                    "auto_sni": True,
                    "auto_san_validation": not tls.sans and tls.ca != "skip",
                },
                "explicit_http_config": {"http_protocol_options": {}},
            }
        }
    return extra
