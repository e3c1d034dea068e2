"""The lab renderers print Envoy's text as it is (no rich markup eaten) and the JSON contract."""

from __future__ import annotations

import io
import json

from rich.console import Console

from mtls_doctor.lab.observe import Observation, Outcome
from mtls_doctor.lab.result import LabResult
from mtls_doctor.report.lab import render_json, render_text
from tests.lab.reference_cases import CASES

BY_NAME = {c.name: c for c, _, _ in CASES}
TFR = (
    "TLS_error:|268435581:SSL_routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:"
    "verify_cert_failed:_SAN_matcher,_certificate_SANs_are_[spiffe://cluster.local/ns/echo/sa/default]"
    ":TLS_error_end"
)


def _result() -> LabResult:
    obs = Observation(
        http_status=503,
        response_flags="URX,UF",
        details="upstream_reset_before_response_started{remote_connection_failure|" + TFR + "}",
        upstream_transport_failure_reason=TFR,
        server_log_line="[srv:conn] [t] CONN flags=- details=- fc=strict-mtls-http",
        client_log_line="[cli:http] [t] 503 flags=URX,UF",
        peer_identity_seen_by_app=None,
        client_error=None,
        app_reached=False,
        app_saw_tls=False,
        server_chain="strict-mtls-http",
    )
    return LabResult(
        case=BY_NAME["b-san-mismatch"],
        observation=obs,
        outcome=Outcome("fail", "san-mismatch", "client sidecar TLS handshake failed"),
        agrees=True,
        envoy_version="abc/1.40.0/Clean/RELEASE/BoringSSL",
        seconds=0.2,
        exit_codes={"client": 0, "server": 0},
    )


def test_text_keeps_brackets_and_says_agree() -> None:
    buf = io.StringIO()
    Console(file=buf, width=400, soft_wrap=True).print(render_text(_result()))
    text = buf.getvalue()
    assert "[spiffe://cluster.local/ns/echo/sa/default]" in text
    assert "AGREE" in text and "DISAGREE" not in text
    assert "Envoy 1.40.0" in text


def test_json_contract() -> None:
    doc = json.loads(render_json([_result()]))
    [replay] = doc["replays"]
    assert replay["case"] == "b-san-mismatch"
    assert replay["to"] == "echo.echo.svc.cluster.local:8080"
    assert replay["predicted"] == {"verdict": "fail", "cause": "san-mismatch", "symptom": None}
    assert replay["observed"]["verdict"] == "fail"
    assert replay["observed"]["upstream_transport_failure_reason"] == TFR
    assert replay["agree"] is True
