"""Access-log parsing and LabCase decoding (no Envoy needed)."""

from __future__ import annotations

import msgspec
import pytest

from mtls_doctor.lab.case import AutoMtls, LabCase, decode_case, encode_case
from mtls_doctor.lab.logs import parse_line

# Copied from envoy-behaviour.md §3 b) (a real Envoy 1.40 line), with our tag syntax.
SAN_LINE = (
    '[cli:http] [2026-11-23T08:31:18.100Z] "GET /case-b HTTP/1.1" 503 flags=UF '
    "details=upstream_reset_before_response_started{remote_connection_failure|TLS_error:|268435581:"
    "SSL_routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:verify_cert_failed:_SAN_matcher,"
    "_certificate_SANs_are_[spiffe://cluster.local/ns/echo/sa/default]:TLS_error_end} term=- "
    'up_tfr="TLS_error:|268435581:SSL_routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:'
    'verify_cert_failed:_SAN_matcher:TLS_error_end" up_host=127.0.0.1:16001 '
    "cluster=outbound|8080|b|echo.echo.svc.cluster.local fc=- dn_peer=- dn_tls=- up_peer=- "
    "up_tls=- sni=- dur=2ms"
)
CONN_LINE = (
    "[srv:conn] [2026-11-23T08:31:18.200Z] CONN flags=NR details=filter_chain_not_found term=- "
    'dn_tfr="TLS_error|error:1000009c:SSL_routines:OPENSSL_internal:HTTP_REQUEST:TLS_error_end" '
    'up_tfr="-" up_host=- cluster=- fc=- dn_peer=- dn_tls=- up_peer=- up_tls=- sni=- '
    "remote=127.0.0.1:43080 rx=0 tx=0 dur=0ms"
)


def test_parse_http_line() -> None:
    line = parse_line(SAN_LINE)
    assert line is not None
    assert (line.side, line.kind, line.code, line.path) == ("cli", "http", 503, "/case-b")
    assert line.get("flags") == "UF"
    assert "SAN_matcher" in (line.get("up_tfr") or "")
    assert line.get("cluster") == "outbound|8080|b|echo.echo.svc.cluster.local"
    assert line.get("up_peer") is None


def test_parse_conn_line() -> None:
    line = parse_line(CONN_LINE)
    assert line is not None
    assert (line.side, line.kind, line.code) == ("srv", "conn", None)
    assert line.get("details") == "filter_chain_not_found"
    assert "HTTP_REQUEST" in (line.get("dn_tfr") or "")
    assert parse_line("[2026-11-23 08:00:00.000][1][info][main] starting") is None


def test_case_round_trips_through_yaml() -> None:
    yaml_text = b"""
name: we-san
client:
  cluster_tls: {mode: auto, endpoint_tls_mode: istio, sni: s, sans: [spiffe://cluster.local/ns/curl/sa/client]}
server: {mode: STRICT}
predicted: {verdict: fail, cause: san-mismatch}
"""
    case = decode_case(yaml_text, yaml=True)
    assert isinstance(case.client.cluster_tls, AutoMtls)
    assert case.client.cluster_tls.sans == ("spiffe://cluster.local/ns/curl/sa/client",)
    assert decode_case(encode_case(case), yaml=True) == case
    assert msgspec.json.decode(msgspec.json.encode(case), type=LabCase) == case


def test_bad_case_names_the_field() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"server.mode"):
        decode_case(b"client: {}\nserver: {mode: LOOSE}\npredicted: {verdict: mtls}\n", yaml=True)
