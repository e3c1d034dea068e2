"""Log reading against real lines from bug reports (each file's source is in PROVENANCE.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtls_doctor.envoy.causes import LOG_ONLY_CAUSES, NEXT_STEP
from mtls_doctor.envoy.codes import LG_CAUSE_CODES
from mtls_doctor.envoy.logfindings import log_findings
from mtls_doctor.envoy.logs import LogEvent, read_log

LOGS = Path(__file__).resolve().parent.parent / "fixtures" / "logs"

# DESIGN.md's cause table (edge causes); log events use these or LOG_ONLY_CAUSES.
DESIGN_CAUSES = {
    "no-client-sidecar", "no-server-sidecar", "endpoint-not-mtls", "peer-auth-disable",
    "destination-rule-disable", "auto-mtls-off", "passthrough", "plaintext-rejected",
    "san-mismatch", "untrusted-root", "trust-domain-rejected", "client-cert-missing",
    "tls-to-plaintext-server", "app-tls-on-http-port", "plaintext-to-tls-app", "cert-expired",
    "blackholed", "authz-denied", "missing-input",
}  # fmt: skip


def events(rel: str) -> tuple[LogEvent, ...]:
    path = LOGS / rel
    return read_log(path.read_text(encoding="utf-8"), rel)


def by_line(rel: str) -> dict[int, LogEvent]:
    return {e.line: e for e in events(rel)}


def test_unknown_ca_through_ingress_gateway_1_7_format() -> None:
    (e,) = events("access/istio-28493_503_UF_URX_TLSV1_ALERT_UNKNOWN_CA_ingressgateway.log")
    assert (e.cause, e.response_flags, e.response_code) == ("untrusted-root", "UF,URX", 503)
    assert e.upstream_cluster == "outbound|8080|v1|keerthg-test-card-5-v1.default.svc.cluster.local"
    assert e.destination == "keerthg-test-card-5-v1.default.svc.cluster.local:8080"
    assert e.reason == "TLSV1_ALERT_UNKNOWN_CA"
    assert e.next_step == NEXT_STEP["untrusted-root"]


def test_rbac_deny_names_the_policy() -> None:
    (e,) = events("access/istio-40944_403_rbac_access_denied_bad_CUSTOM_action.log")
    assert (e.cause, e.response_code) == ("authz-denied", 403)
    assert e.policy == "default-deny-all-due-to-bad-CUSTOM-action"
    assert (
        e.details == "rbac_access_denied_matched_policy[default-deny-all-due-to-bad-CUSTOM-action]"
    )
    assert e.sni == "outbound_.8000_._.httpbin.foo.svc.cluster.local"


def test_filter_chain_not_found_lines_but_not_the_passthrough_line() -> None:
    got = by_line("access/istio-community-1435_NR_filter_chain_not_found_mongodb.log")
    assert set(got) == {1, 2, 3, 4, 6}  # line 5 is a normal PassthroughCluster connection
    assert {e.cause for e in got.values()} == {"no-filter-chain"}
    assert got[3].peer == "10.12.129.6:4921"


def test_dpe_server_and_wrong_version_client() -> None:
    got = by_line("access/istio-32079_400_DPE_server_and_WRONG_VERSION_NUMBER_client.log")
    assert got[1].kind == "client" and got[1].reason == "WRONG_VERSION_NUMBER"
    assert got[1].cause == "tls-to-plaintext-server"
    # the server's line alone cannot tell TLS bytes from a malformed request (see lab logs)
    assert (got[2].response_flags, got[2].response_code) == ("DPE", 400)
    assert got[2].cause == "downstream-protocol-error"
    assert "mTLS into a plaintext HTTP port" in (got[2].next_step or "")


def test_json_access_log_and_its_normal_record() -> None:
    got = by_line("access/istio-17139_json_UF_URX_headless_tcp_1.3.log")
    assert set(got) == {1}  # record 2 is a successful metrics scrape
    assert got[1].response_flags == "UF,URX"
    assert got[1].upstream_cluster == "outbound|7600||keycloak-headless.our_ns.svc.cluster.local"
    assert got[1].cause == "upstream-connect-failure"  # no TLS reason logged in 1.3


def test_cut_json_record_is_read_in_part() -> None:
    line = (
        (LOGS / "access/istio-17139_json_UF_URX_headless_tcp_1.3.log").read_text().splitlines()[0]
    )
    (e,) = read_log(line[: line.index('"start_time"')], "cut.log")
    assert e.truncated and e.response_flags == "UF,URX" and e.cause == "upstream-connect-failure"


def test_istio_1_0_format_and_uh() -> None:
    (e,) = events("access/istio-10515_503_UH_egress_legacy_1.0.log")
    assert (e.cause, e.response_flags, e.response_code) == ("no-healthy-upstream", "UH", 503)


def test_kubectl_timestamps_and_prefix_are_tolerated() -> None:
    # the Istio 1.8 lines carry `kubectl logs --timestamps`; none of them is a failure
    assert events("access/istio-29109_inbound_and_passthrough_lines.log") == ()
    line = (LOGS / "access/istio-40944_403_rbac_access_denied_bad_CUSTOM_action.log").read_text()
    prefixed = "[pod/httpbin-7f8d/istio-proxy] 2022-09-30T11:31:37.400000000Z " + line
    (e,) = read_log(prefixed, "k.log")
    assert e.policy == "default-deny-all-due-to-bad-CUSTOM-action"


def test_ztunnel_policy_rejection() -> None:
    (e,) = events("access/ztunnel-1273_policy_rejection_access_logs.log")
    assert e.cause == "authz-denied"
    assert e.peer == "spiffe://cluster.local/ns/default/sa/bookinfo-reviews"
    assert e.upstream_cluster == "productpage.default.svc.cluster.local"


def test_debug_block_of_one_connection_is_one_event() -> None:
    got = events("debug/istio-26349_CERTIFICATE_VERIFY_FAILED_handshake_debug.log")
    c321 = [e for e in got if e.connection == "C321"]
    assert len(c321) == 1
    assert c321[0].line == 4 and len(c321[0].message.splitlines()) == 2  # TLS error + pool line
    assert c321[0].cause == "cert-verify-failed"  # Envoy 1.15 does not say SAN or root
    reply = [e for e in got if e.line == 8]
    assert reply and reply[0].details is not None and reply[0].details.startswith("upstream_reset")


def test_tls_error_without_reason() -> None:
    (e,) = events("debug/istio-29721_TLS_error_missing_reason.log")
    assert (e.cause, e.reason, e.line, e.connection) == (
        "tls-handshake-failed",
        "no reason given",
        9,
        "C42",
    )


def test_agent_ca_and_sds_failures() -> None:
    got = by_line("debug/istio-36957_agent_ca_request_failed_sds.log")
    assert {n: e.cause for n, e in got.items()} == {
        2: "ca-unreachable", 3: "ca-unreachable", 4: "ca-unreachable", 5: "ca-unreachable",
        7: "sds-failure",
    }  # fmt: skip


def test_rbac_debug_allowed_denied_and_checking_request() -> None:
    got = by_line("debug/envoy-36346_rbac_enforced_allowed_denied.log")
    assert (got[1].cause, got[1].policy) == (None, "whitelist")
    assert (got[2].cause, got[2].policy) == ("authz-denied", "none")
    block = events("debug/oidc-filter-5_rbac_checking_request_with_peer_SAN.log")
    assert len(block) == 1  # header lines belong to the dump
    assert (
        block[0].peer
        == "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"
    )
    assert block[0].sni == "outbound_.80_._.appwebform-service.appwebform.svc.cluster.local"


def test_client_messages() -> None:
    got = by_line("client/client_messages_upstream_connect_error_variants.txt")
    assert got[2].cause == "cert-verify-failed"
    assert got[10].cause == "tls-to-plaintext-server"
    assert got[8].cause == "upstream-reset"
    assert got[14].cause == "authz-denied"
    assert all(e.kind == "client" for e in got.values())
    probes = events("client/kubelet_probe_failures_STRICT.txt")
    assert [e.cause for e in probes] == ["plaintext-rejected", "plaintext-rejected"]


def test_lab_envoy_1_40_lines() -> None:
    """Our own loopback runs (reference/envoy-behaviour.md §3)."""
    got = by_line("lab/envoy-1.40-lab-lines.log")
    assert got[6].cause == "san-mismatch" and got[6].response_flags == "UF"
    assert got[1].cause == "san-mismatch" and got[1].kind == "debug"
    # plaintext into STRICT: the client sees UC, the server logs NR filter_chain_not_found
    assert got[9].cause == "upstream-reset" and got[11].cause == "no-filter-chain"
    assert got[13].cause == "no-filter-chain"
    # TLS 1.3 rejection of the client certificate: UC with an empty transport failure reason
    assert got[17].response_flags == "UC" and got[17].reason is None
    assert got[18].cause == "untrusted-root"  # the client's only trace: the alert
    assert got[21].cause == "untrusted-root"  # the server: unable to get local issuer
    assert got[25].cause == "cert-expired"
    assert (got[30].cause, got[30].policy) == ("authz-denied", "ns[echo]-policy[deny-curl]-rule[0]")
    assert got[33].cause == "authz-denied"  # network RBAC: in the termination details
    assert got[35].cause == "tls-to-plaintext-server"
    assert (got[36].response_flags, got[36].cause) == ("DPE", "downstream-protocol-error")
    # the tls_inspector's HTTP_REQUEST on a plaintext connection is not an error
    assert 12 not in got and 16 not in got


ALL_FILES = sorted(
    str(p.relative_to(LOGS))
    for p in LOGS.rglob("*")
    if p.is_file() and p.suffix in (".log", ".txt")
)


@pytest.mark.parametrize("rel", ALL_FILES)
def test_every_cause_is_known_and_has_a_next_step(rel: str) -> None:
    for e in events(rel):
        assert e.line >= 1 and e.source == rel
        if e.cause is not None:
            assert e.cause in DESIGN_CAUSES | set(LOG_ONLY_CAUSES), e.cause
            assert e.next_step, e.cause
            assert e.cause in LG_CAUSE_CODES, e.cause


def test_findings_group_by_cause_and_cluster() -> None:
    evs = events("access/istio-community-1435_NR_filter_chain_not_found_mongodb.log") + events(
        "access/istio-28493_503_UF_URX_TLSV1_ALERT_UNKNOWN_CA_ingressgateway.log"
    )
    found = {
        (f.code, f.subject.kind, f.subject.namespace, f.subject.name) for f in log_findings(evs)
    }
    assert found == {
        (
            "LG108",
            "LogFile",
            "",
            "access/istio-community-1435_NR_filter_chain_not_found_mongodb.log",
        ),
        ("LG102", "Service", "default", "keerthg-test-card-5-v1"),
    }
    nr = next(f for f in log_findings(evs) if f.code == "LG108")
    assert nr.message.startswith("5 inbound connection(s)")
    assert nr.origin is not None and nr.origin.line == 1


@pytest.mark.parametrize("junk", ["", "\n\n", "}{", '"', "[" * 50, "\x00\x01binary", "é" * 3])
def test_junk_never_raises(junk: str) -> None:
    assert all(e.cause is None or e.cause in LG_CAUSE_CODES for e in read_log(junk, "junk"))


def test_generated_envoy_1_40_lines() -> None:
    """Lines real Envoy 1.40 wrote in Istio's formats (tests/envoy/lab_logs.py)."""
    access = events("lab/envoy-1.40-access.log")
    # the no-client-certificate connection leaves an access line that shows nothing wrong
    assert [(e.cause, e.response_flags, e.upstream_cluster) for e in access] == [
        ("blackholed", "UH", "BlackHoleCluster"),
        ("downstream-protocol-error", "DPE", None),
    ]
    (debug,) = events("lab/envoy-1.40-debug.log")
    assert (debug.cause, debug.kind, debug.connection) == ("client-cert-missing", "debug", "C1")
    assert debug.reason == "no client certificate"


def test_peer_is_the_other_side() -> None:
    (client_side,) = events(
        "access/istio-28493_503_UF_URX_TLSV1_ALERT_UNKNOWN_CA_ingressgateway.log"
    )
    assert client_side.peer == "XX.XX.XX.XX:8200"  # the upstream host of an outbound call
    (server_side,) = events("access/istio-40944_403_rbac_access_denied_bad_CUSTOM_action.log")
    assert server_side.peer == "192.168.54.235:57754"  # the caller of an inbound request


def test_groups_by_cause_cluster_and_caller_host() -> None:
    from mtls_doctor.envoy.logfindings import group_events

    evs = events("access/istio-community-1435_NR_filter_chain_not_found_mongodb.log")
    groups = {(g.cause, g.peer): g.count for g in group_events(evs)}
    # five NR connections from two callers (ports differ per connection)
    assert groups == {
        ("no-filter-chain", "10.10.123.127"): 2,
        ("no-filter-chain", "10.12.129.6"): 3,
    }
    first = group_events(evs)[0].first
    assert (first.file, first.line) == (
        "access/istio-community-1435_NR_filter_chain_not_found_mongodb.log",
        1,
    )
