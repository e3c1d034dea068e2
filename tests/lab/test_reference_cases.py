"""Every case of envoy-behaviour.md §2 (and a few more), replayed through real Envoy.

Each asserts the lab's classification equals the hand-written expectation and, where the
reference recorded one, the wire signature real Envoy 1.40 gives (flags, details, failure reason,
server log line, peer identity).
"""

from __future__ import annotations

import pytest

from mtls_doctor.lab import run_case
from mtls_doctor.lab.case import LabCase
from tests.lab.reference_cases import CASES, CURL, ECHO

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("envoy")]

# name -> (observation field, substring it must contain), from envoy-behaviour.md §2-§3.
SIGNATURES: dict[str, list[tuple[str, str]]] = {
    "a-mtls-strict": [("peer_identity_seen_by_app", CURL), ("server_log_line", f"dn_peer={CURL}")],
    "d2-mtls-permissive": [("server_chain", "permissive-mtls-http")],
    "c-plaintext-strict": [
        ("stats", "no_filter_chain_match"),
        ("response_flags", "UC"),
        ("details", "connection_termination"),
        ("server_log_line", "filter_chain_not_found"),
    ],
    "i8-no-sidecar-strict": [("client_error", "reset"), ("server_log_line", "flags=NR")],
    "d-plaintext-permissive": [("server_chain", "permissive-plaintext-http")],
    "b-san-mismatch": [
        ("stats", "ssl.fail_verify_san"),
        ("response_flags", "UF"),
        ("upstream_transport_failure_reason", "CERTIFICATE_VERIFY_FAILED"),
        ("upstream_transport_failure_reason", "SAN_matcher"),
        ("upstream_transport_failure_reason", ECHO),
    ],
    "e-foreign-root": [("upstream_transport_failure_reason", "unable_to_get_local_issuer")],
    "e-foreign-client-root-only": [
        ("response_flags", "UC"),
        ("server_log_line", "unable_to_get_local_issuer"),
    ],
    "f-expired-server-cert": [
        ("stats", "ssl.fail_verify_error"),
        ("response_flags", "UF"),
        ("upstream_transport_failure_reason", "certificate_has_expired"),
    ],
    "g1-http-rbac-deny": [
        ("http_status", "403"),
        (
            "server_log_line",
            "rbac_access_denied_matched_policy[ns[echo]-policy[deny-curl]-rule[0]]",
        ),
    ],
    "g2-tcp-rbac-deny": [
        ("stats", "tcp.rbac.denied"),
        ("server_log_line", "term=rbac_access_denied_matched_policy"),
    ],
    "h2-mtls-to-disable-http": [
        ("upstream_transport_failure_reason", "WRONG_VERSION_NUMBER"),
        ("server_log_line", "http1.codec_error"),
    ],
    # The client's own error is a TLS 1.3 race (alert or EOF); the server log is not.
    "i5-app-tls-strict": [
        ("stats", "ssl.fail_verify_no_cert"),
        ("server_log_line", "PEER_DID_NOT_RETURN_A_CERTIFICATE"),
    ],
    "i7-app-tls-permissive-http": [("server_log_line", "filter_chain_not_found")],
    "app-tls-permissive-tcp": [("server_chain", "permissive-tls-passthrough")],
    "passthrough-permissive": [("client_log_line", "cluster=PassthroughCluster")],
}


@pytest.mark.parametrize(("case", "verdict", "cause"), CASES, ids=[c[0].name for c in CASES])
def test_reference_case(case: LabCase, verdict: str, cause: str | None) -> None:
    result = run_case(case)
    out, obs = result.outcome, result.observation
    seen = (
        out.verdict,
        out.cause if out.cause is not None else cause if cause in out.consistent_causes else None,
    )
    assert seen == (verdict, cause), (out, obs)
    assert result.agrees
    for field, needle in SIGNATURES.get(case.name, []):
        assert needle in str(getattr(obs, field)), (field, obs)
    assert result.exit_codes == dict.fromkeys(result.exit_codes, 0)


def test_mtls_is_seen_by_the_app_only_when_terminated() -> None:
    by_name = {c.name: c for c, _, _ in CASES}
    mtls = run_case(by_name["a-mtls-strict"]).observation
    plain = run_case(by_name["d-plaintext-permissive"]).observation
    assert mtls.peer_identity_seen_by_app == CURL
    assert plain.peer_identity_seen_by_app is None
    assert plain.app_reached and not plain.app_saw_tls
