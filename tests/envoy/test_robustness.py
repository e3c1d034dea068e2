"""Property tests: no input shape makes the readers raise."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mtls_doctor.envoy.configdump import read_dump
from mtls_doctor.envoy.logfindings import log_findings
from mtls_doctor.envoy.logs import read_log

# field names the readers look at, in both naming styles, plus data keys
KEYS = [
    "configs", "@type", "dynamic_active_clusters", "static_clusters", "cluster", "name",
    "transport_socket", "transportSocket", "transport_socket_matches", "match", "tlsMode",
    "typed_config", "common_tls_context", "alpn_protocols", "sni", "combined_validation_context",
    "default_validation_context", "match_subject_alt_names", "exact", "prefix",
    "tls_certificate_sds_secret_configs", "dynamic_listeners", "active_state", "error_state",
    "listener", "filter_chains", "filter_chain_match", "destination_port", "transport_protocol",
    "filters", "rules", "policies", "action", "dynamic_endpoint_configs", "endpoint_config",
    "lb_endpoints", "metadata", "filter_metadata", "envoy.transport_socket_match",
    "dynamic_active_secrets", "secret", "tls_certificate", "certificate_chain", "inline_bytes",
    "bootstrap", "node", "id", "address", "socket_address", "port_value", "traffic_direction",
    "last_updated", "require_client_certificate", "http_filters", "shadow_rules",
]  # fmt: skip
TYPES = [
    "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
    "type.googleapis.com/envoy.admin.v3.ListenersConfigDump",
    "type.googleapis.com/envoy.admin.v3.EndpointsConfigDump",
    "type.googleapis.com/envoy.admin.v3.SecretsConfigDump",
    "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump",
    "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
    "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 70000), st.sampled_from(TYPES + KEYS),
    st.text(max_size=8),
)  # fmt: skip
values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), values, max_size=6))
def test_any_dump_shape_reads_without_raising(doc: dict[str, Any]) -> None:
    cfg = read_dump(json.dumps(doc).encode(), "fuzz.json")
    assert cfg.source == "fuzz.json"


@settings(max_examples=200, deadline=None)
@given(st.lists(values, max_size=5))
def test_any_section_list_reads_without_raising(items: list[Any]) -> None:
    read_dump(json.dumps(items).encode(), "fuzz.json")


FRAGMENTS = [
    "[2024-07-10T08:45:32.932Z]", '"- - -"', '"GET / HTTP/1.1"', "0", "503", "403", "UF,URX",
    "NR", "filter_chain_not_found", "-", '"-"', "rbac_access_denied_matched_policy[x]",
    '"TLS error: 268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED"',
    "outbound|8080||a.b.svc.cluster.local", "10.0.0.1:80", "[debug][connection]", "[C1]",
    "\tdebug\tenvoy connection\t", "2020-01-01T00:00:00.000000Z", "{", '"response_flags":',
    "upstream connect error or disconnect/reset before headers.", "flags=UF", "details=x",
    "src.addr=1.2.3.4:5", 'error="policy rejection"', "'a', 'b'", "[pod/x/istio-proxy]",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(FRAGMENTS), max_size=25), max_size=6))
def test_any_log_text_reads_without_raising(lines: list[list[str]]) -> None:
    text = "\n".join(" ".join(parts) for parts in lines)
    events = read_log(text, "fuzz.log")
    log_findings(events)
    assert all(1 <= e.line <= max(1, len(lines)) for e in events)
