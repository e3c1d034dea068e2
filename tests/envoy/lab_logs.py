"""Produce real Envoy log lines in istio-proxy's formats for failures the quoted logs lack.

    .venv/bin/python tests/envoy/lab_logs.py tests/fixtures/logs/lab

writes `envoy-1.40-access.log` (Istio's default TEXT access log format, copied from the
real 1.18 dump's HttpConnectionManager) and `envoy-1.40-debug.log` (istio-proxy's
`--log-format`, `connection` component at debug). Cases:
  1. TLS without a client certificate into a STRICT-style port (PEER_DID_NOT_RETURN_A_CERTIFICATE)
  2. TCP to Istio's BlackHoleCluster (REGISTRY_ONLY): UH
  3. a malformed HTTP/1.1 request into a plaintext HTTP port: 400 DPE with a method
"""

from __future__ import annotations

import contextlib
import datetime
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mtls_doctor.lab.envoyproc import stop
from tests.envoy.lab_dump import envoy_binary, free_port

# Istio's default access log format (from the HttpConnectionManager of the real 1.18 dump).
ISTIO_FORMAT = (
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" '
    "%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "
    '"%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% '
    '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" '
    '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% '
    "%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% "
    "%REQUESTED_SERVER_NAME% %ROUTE_NAME%\n"
)
# istio-proxy's Envoy --log-format (pilot-agent passes it on the command line)
ISTIO_LOG_FORMAT = "%Y-%m-%dT%T.%fZ\t%l\tenvoy %n %g:%#\t%v\tthread=%t"
T = "type.googleapis.com/envoy.extensions."


def _pem_pair() -> tuple[str, str, str]:
    """(root cert, server cert, server key) in Istio's shape: empty subject, SPIFFE URI SAN."""
    now = datetime.datetime.now(datetime.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cluster.local")])
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName(
        [x509.UniformResourceIdentifier("spiffe://cluster.local/ns/echo/sa/default")]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(root_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(san, critical=True)
        .sign(root_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return root.public_bytes(pem).decode(), cert.public_bytes(pem).decode(), key_pem


def _log(path: Path) -> list[dict[str, Any]]:
    return [
        {
            "name": "envoy.access_loggers.file",
            "typed_config": {
                "@type": T + "access_loggers.file.v3.FileAccessLog",
                "path": str(path),
                "log_format": {"text_format_source": {"inline_string": ISTIO_FORMAT}},
            },
        }
    ]


def _tcp(cluster: str, log: Path) -> dict[str, Any]:
    return {
        "name": "envoy.filters.network.tcp_proxy",
        "typed_config": {
            "@type": T + "filters.network.tcp_proxy.v3.TcpProxy",
            "stat_prefix": cluster,
            "cluster": cluster,
            "access_log": _log(log),
        },
    }


def _cluster(name: str, port: int | None) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "type": "STATIC", "connect_timeout": "1s"}
    if port is not None:
        c["load_assignment"] = {
            "cluster_name": name,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": {
                                    "socket_address": {"address": "127.0.0.1", "port_value": port}
                                }
                            }
                        }
                    ]
                }
            ],
        }
    return c


def write_config(work: Path, ports: dict[str, int]) -> Path:
    root, cert, key = _pem_pair()
    access = work / "access.log"
    strict = {
        "name": "virtualInbound",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": ports["strict"]}},
        "listener_filters": [
            {
                "name": "envoy.filters.listener.tls_inspector",
                "typed_config": {"@type": T + "filters.listener.tls_inspector.v3.TlsInspector"},
            }
        ],
        "access_log": _log(access),
        "filter_chains": [
            {
                "filter_chain_match": {"transport_protocol": "tls"},
                "transport_socket": {
                    "name": "envoy.transport_sockets.tls",
                    "typed_config": {
                        "@type": T + "transport_sockets.tls.v3.DownstreamTlsContext",
                        "require_client_certificate": True,
                        "common_tls_context": {
                            "tls_certificates": [
                                {
                                    "certificate_chain": {"inline_string": cert},
                                    "private_key": {"inline_string": key},
                                }
                            ],
                            "validation_context": {"trusted_ca": {"inline_string": root}},
                        },
                    },
                },
                "filters": [_tcp("inbound|8080||", access)],
            }
        ],
    }
    blackhole = {
        "name": "0.0.0.0_443",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": ports["blackhole"]}},
        "filter_chains": [{"filters": [_tcp("BlackHoleCluster", access)]}],
    }
    http = {
        "name": "0.0.0.0_8080",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": ports["http"]}},
        "filter_chains": [
            {
                "filters": [
                    {
                        "name": "envoy.filters.network.http_connection_manager",
                        "typed_config": {
                            "@type": T
                            + "filters.network.http_connection_manager.v3.HttpConnectionManager",
                            "stat_prefix": "inbound_0.0.0.0_8080",
                            "access_log": _log(access),
                            "http_filters": [
                                {
                                    "name": "envoy.filters.http.router",
                                    "typed_config": {"@type": T + "filters.http.router.v3.Router"},
                                }
                            ],
                            "route_config": {
                                "virtual_hosts": [
                                    {
                                        "name": "inbound|http|8080",
                                        "domains": ["*"],
                                        "routes": [
                                            {
                                                "match": {"prefix": "/"},
                                                "route": {"cluster": "inbound|8080||"},
                                            }
                                        ],
                                    }
                                ]
                            },
                        },
                    }
                ]
            }
        ],
    }
    bootstrap = {
        "admin": {
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": ports["admin"]}}
        },
        "static_resources": {
            "listeners": [strict, blackhole, http],
            # the app: any live TCP port will do (the admin listener), so the handshake decides
            "clusters": [
                _cluster("inbound|8080||", ports["admin"]),
                _cluster("BlackHoleCluster", None),
            ],
        },
    }
    path = work / "bootstrap.yaml"
    path.write_text(yaml.safe_dump(bootstrap))
    return path


def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("envoy did not start")


def _clients(ports: dict[str, int]) -> None:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["istio-peer-exchange", "istio"])
    try:
        with (
            socket.create_connection(("127.0.0.1", ports["strict"]), timeout=2) as raw,
            ctx.wrap_socket(raw) as tls,
        ):
            tls.sendall(b"hello")
            tls.recv(10)
    except OSError:
        pass  # the server aborts the handshake: that is the case
    with socket.create_connection(("127.0.0.1", ports["blackhole"]), timeout=2) as s:
        s.sendall(b"\x16\x03\x01")
        with contextlib.suppress(OSError):
            s.recv(10)
    with socket.create_connection(("127.0.0.1", ports["http"]), timeout=2) as s:
        s.sendall(b"GET /bad HTTP/1.1\r\nHost: echo\r\nthis is not a header\r\n\r\n")
        with contextlib.suppress(OSError):
            s.recv(1000)


def capture(envoy: str) -> tuple[str, str]:
    """(access log, connection debug log) of the three cases."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ports = {k: free_port() for k in ("admin", "strict", "blackhole", "http")}
        bootstrap = write_config(work, ports)
        stderr = (work / "envoy.err").open("wb")
        args = [envoy, "-c", str(bootstrap), "--disable-hot-restart", "--concurrency", "1"]
        args += ["-l", "warning", "--component-log-level", "connection:debug"]
        args += ["--log-format", ISTIO_LOG_FORMAT, "--file-flush-interval-msec", "50"]
        proc = subprocess.Popen(args, stdout=stderr, stderr=subprocess.STDOUT)
        try:
            _wait_ready(ports["admin"], proc)
            _clients(ports)
            time.sleep(1.0)
        finally:
            stop(proc, timeout=5)
            stderr.close()
        access = (work / "access.log").read_text()
        debug = "".join(
            line
            for line in (work / "envoy.err").read_text().splitlines(keepends=True)
            if "\tenvoy connection " in line and ("TLS" in line or "handshake" in line)
        )
        return access, debug


if __name__ == "__main__":
    binary = envoy_binary()
    if binary is None:
        sys.exit("envoy not found")
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    access, debug = capture(binary)
    (out / "envoy-1.40-access.log").write_text(access)
    (out / "envoy-1.40-debug.log").write_text(debug)
