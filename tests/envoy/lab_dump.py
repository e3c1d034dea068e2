"""Produce a real Envoy `/config_dump` of an Istio-shaped sidecar on loopback.

Used by test_envoy_lab.py (runs Envoy) and to (re)generate the checked-in fixture:
    .venv/bin/python tests/envoy/lab_dump.py tests/fixtures/configdump/envoy-lab/config_dump.json

The config (files CDS/LDS, SDS from an unreachable agent) gives what the other fixtures lack:
a listener Envoy rejects (duplicate filter chain match), SDS secrets that never arrive
(WARMING), and inbound ports enforced STRICT (with network RBAC), PERMISSIVE and DISABLE.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from mtls_doctor.lab.envoyproc import stop

ECHO = "outbound|8080||echo.echo.svc.cluster.local"
T = "type.googleapis.com/envoy.extensions."
DENY_POLICY = "ns[labns]-policy[deny-curl]-rule[0]"
SANLESS = "outbound|443||api.partner.example"


def envoy_binary() -> str | None:
    here = Path(sys.executable).parent / "envoy"
    return str(here) if here.exists() else shutil.which("envoy")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _sds(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "sds_config": {
            "api_config_source": {
                "api_type": "GRPC",
                "transport_api_version": "V3",
                "grpc_services": [{"envoy_grpc": {"cluster_name": "sds-grpc"}}],
            },
            "initial_fetch_timeout": "1s",
            "resource_api_version": "V3",
        },
    }


def _upstream_tls(sans: list[str]) -> dict[str, Any]:
    return {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": T + "transport_sockets.tls.v3.UpstreamTlsContext",
            "sni": "outbound_.8080_._.echo.echo.svc.cluster.local",
            "common_tls_context": {
                "alpn_protocols": ["istio-peer-exchange", "istio"],
                "tls_certificate_sds_secret_configs": [_sds("default")],
                "combined_validation_context": {
                    "default_validation_context": {
                        "match_subject_alt_names": [{"exact": s} for s in sans]
                    },
                    "validation_context_sds_secret_config": _sds("ROOTCA"),
                },
            },
        },
    }


def _downstream_mtls() -> dict[str, Any]:
    return {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": T + "transport_sockets.tls.v3.DownstreamTlsContext",
            "require_client_certificate": True,
            "common_tls_context": {
                "alpn_protocols": ["h2", "http/1.1"],
                "tls_certificate_sds_secret_configs": [_sds("default")],
                "combined_validation_context": {
                    "default_validation_context": {
                        "match_subject_alt_names": [{"prefix": "spiffe://cluster.local/"}]
                    },
                    "validation_context_sds_secret_config": _sds("ROOTCA"),
                },
            },
        },
    }


def _tcp(stat: str) -> dict[str, Any]:
    return {
        "name": "envoy.filters.network.tcp_proxy",
        "typed_config": {
            "@type": T + "filters.network.tcp_proxy.v3.TcpProxy",
            "stat_prefix": stat,
            "cluster": ECHO,
        },
    }


def _rbac() -> dict[str, Any]:
    return {
        "name": "envoy.filters.network.rbac",
        "typed_config": {
            "@type": T + "filters.network.rbac.v3.RBAC",
            "stat_prefix": "tcp.",
            "rules": {
                "action": "DENY",
                "policies": {
                    DENY_POLICY: {
                        "permissions": [{"any": True}],
                        "principals": [
                            {
                                "authenticated": {
                                    "principal_name": {
                                        "exact": "spiffe://cluster.local/ns/curl/sa/curl"
                                    }
                                }
                            }
                        ],
                    }
                },
            },
        },
    }


def _gateway_listeners(https_port: int, http_port: int) -> list[dict[str, Any]]:
    """An ingress gateway's ports as Istio builds them: SNI chains on 443 (SIMPLE with a
    credentialName, ISTIO_MUTUAL for mesh-internal hosts) and plaintext on 80."""
    simple = _downstream_mtls()
    simple["typed_config"]["require_client_certificate"] = False
    common = simple["typed_config"]["common_tls_context"]
    common["tls_certificate_sds_secret_configs"] = [_sds("kubernetes://shop-credential")]
    del common["combined_validation_context"]
    return [
        {
            "@type": "type.googleapis.com/envoy.config.listener.v3.Listener",
            "name": "0.0.0.0_8443",
            "traffic_direction": "OUTBOUND",
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": https_port}},
            "listener_filters": [
                {
                    "name": "envoy.filters.listener.tls_inspector",
                    "typed_config": {"@type": T + "filters.listener.tls_inspector.v3.TlsInspector"},
                }
            ],
            "filter_chains": [
                {
                    "filter_chain_match": {"server_names": ["shop.example.com"]},
                    "transport_socket": simple,
                    "filters": [_tcp("shop")],
                },
                {
                    "filter_chain_match": {"server_names": ["echo.internal.example"]},
                    "transport_socket": _downstream_mtls(),
                    "filters": [_tcp("internal")],
                },
            ],
        },
        {
            "@type": "type.googleapis.com/envoy.config.listener.v3.Listener",
            "name": "0.0.0.0_8080",
            "traffic_direction": "OUTBOUND",
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": http_port}},
            "filter_chains": [{"filters": [_tcp("http")]}],
        },
    ]


def write_config(
    workdir: Path, admin_port: int, inbound_port: int, bad_port: int, gateway: bool = False
) -> Path:
    cluster = {
        "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
        "name": ECHO,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": ECHO,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": {
                                    "socket_address": {"address": "127.0.0.1", "port_value": 18080}
                                }
                            },
                            "metadata": {
                                "filter_metadata": {
                                    "envoy.transport_socket_match": {"tlsMode": "istio"}
                                }
                            },
                        }
                    ]
                }
            ],
        },
        "transport_socket_matches": [
            {
                "name": "tlsMode-istio",
                "match": {"tlsMode": "istio"},
                "transport_socket": _upstream_tls(["spiffe://cluster.local/ns/echo/sa/default"]),
            },
            {
                "name": "tlsMode-disabled",
                "match": {},
                "transport_socket": {
                    "name": "envoy.transport_sockets.raw_buffer",
                    "typed_config": {"@type": T + "transport_sockets.raw_buffer.v3.RawBuffer"},
                },
            },
        ],
    }
    inbound = {
        "@type": "type.googleapis.com/envoy.config.listener.v3.Listener",
        "name": "virtualInbound",
        "traffic_direction": "INBOUND",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": inbound_port}},
        "listener_filters": [
            {
                "name": "envoy.filters.listener.tls_inspector",
                "typed_config": {"@type": T + "filters.listener.tls_inspector.v3.TlsInspector"},
            }
        ],
        "filter_chains": [
            {
                "name": "inbound_8080_strict",
                "filter_chain_match": {"destination_port": 8080, "transport_protocol": "tls"},
                "transport_socket": _downstream_mtls(),
                "filters": [_rbac(), _tcp("s8080")],
            },
            {
                "name": "inbound_9080_mtls",
                "filter_chain_match": {
                    "destination_port": 9080,
                    "transport_protocol": "tls",
                    "application_protocols": ["istio-peer-exchange", "istio"],
                },
                "transport_socket": _downstream_mtls(),
                "filters": [_tcp("p9080")],
            },
            {
                "name": "inbound_9080_plaintext",
                "filter_chain_match": {
                    "destination_port": 9080,
                    "transport_protocol": "raw_buffer",
                },
                "filters": [_tcp("p9080r")],
            },
            {
                "name": "inbound_7070_disable",
                "filter_chain_match": {"destination_port": 7070},
                "filters": [_tcp("d7070")],
            },
        ],
    }
    rejected = {  # two chains with the same (empty) match: Envoy rejects the listener
        "@type": "type.googleapis.com/envoy.config.listener.v3.Listener",
        "name": "10.0.0.1_443",
        "traffic_direction": "OUTBOUND",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": bad_port}},
        "filter_chains": [{"filters": [_tcp("a")]}, {"filters": [_tcp("b")]}],
    }
    # an auto-mTLS cluster without SAN matchers (a ServiceEntry whose endpoints have no
    # service account): any workload certificate from the mesh root is accepted
    sanless = json.loads(json.dumps(cluster))
    sanless["name"] = SANLESS
    sanless["load_assignment"]["cluster_name"] = SANLESS
    tls_ctx = sanless["transport_socket_matches"][0]["transport_socket"]["typed_config"]
    tls_ctx["sni"] = "outbound_.443_._.api.partner.example"
    tls_ctx["common_tls_context"]["combined_validation_context"]["default_validation_context"] = {}
    (workdir / "cds.yaml").write_text(yaml.safe_dump({"resources": [cluster, sanless]}))
    listeners = [inbound, rejected]
    if gateway:  # a gateway has no virtualInbound; a port it cannot bind stays rejected too
        listeners = [*_gateway_listeners(inbound_port, free_port()), rejected]
    (workdir / "lds.yaml").write_text(yaml.safe_dump({"resources": listeners}))
    agent_port = free_port()  # nothing listens there: SDS secrets stay WARMING
    bootstrap = {
        "node": {
            "id": (
                "router~127.0.0.1~gw-0.istio-system~istio-system.svc.cluster.local"
                if gateway
                else "sidecar~127.0.0.1~lab-0.labns~labns.svc.cluster.local"
            ),
            "cluster": "lab.labns",
            "metadata": {
                "ISTIO_VERSION": "lab",
                "NAME": "gw-0" if gateway else "lab-0",
                "NAMESPACE": "istio-system" if gateway else "labns",
                "SERVICE_ACCOUNT": "istio-ingressgateway" if gateway else "lab",
            },
        },
        "admin": {
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}
        },
        "dynamic_resources": {
            "cds_config": {
                "path_config_source": {"path": str(workdir / "cds.yaml")},
                "resource_api_version": "V3",
            },
            "lds_config": {
                "path_config_source": {"path": str(workdir / "lds.yaml")},
                "resource_api_version": "V3",
            },
        },
        "static_resources": {
            "clusters": [
                {
                    "name": "sds-grpc",
                    "type": "STATIC",
                    "connect_timeout": "1s",
                    "typed_extension_protocol_options": {
                        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                            "@type": T + "upstreams.http.v3.HttpProtocolOptions",
                            "explicit_http_config": {"http2_protocol_options": {}},
                        }
                    },
                    "load_assignment": {
                        "cluster_name": "sds-grpc",
                        "endpoints": [
                            {
                                "lb_endpoints": [
                                    {
                                        "endpoint": {
                                            "address": {
                                                "socket_address": {
                                                    "address": "127.0.0.1",
                                                    "port_value": agent_port,
                                                }
                                            }
                                        }
                                    }
                                ]
                            }
                        ],
                    },
                }
            ]
        },
    }
    path = workdir / "bootstrap.yaml"
    path.write_text(yaml.safe_dump(bootstrap))
    return path


def capture(envoy: str, timeout: float = 15.0, gateway: bool = False) -> bytes:
    """Start Envoy, wait until its listeners are in, fetch /config_dump?include_eds, stop it."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        admin = free_port()
        bootstrap = write_config(work, admin, free_port(), free_port(), gateway)
        ready = b"0.0.0.0_8443" if gateway else b"virtualInbound"
        log = (work / "envoy.log").open("wb")
        proc = subprocess.Popen(
            [
                envoy,
                "-c",
                str(bootstrap),
                "--disable-hot-restart",
                "--concurrency",
                "1",
                "-l",
                "warning",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + timeout
            url = f"http://127.0.0.1:{admin}/config_dump?include_eds"
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=2) as resp:
                        body: bytes = resp.read()
                    if ready in body and b"error_state" in body:
                        return body
                except OSError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError((work / "envoy.log").read_text()[-2000:])
                time.sleep(0.2)
        finally:
            stop(proc, timeout=5)
            log.close()


if __name__ == "__main__":
    binary = envoy_binary()
    if binary is None:
        sys.exit("envoy not found")
    out = Path(sys.argv[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(capture(binary, gateway=len(sys.argv) > 2 and sys.argv[2] == "gateway"))
