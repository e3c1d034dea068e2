"""Triggers of the EV and LG codes, in the format of tests/checks/triggers.py.

For the lead to merge into tests/checks/triggers.py (copy the two runners and the entries);
tests/envoy/test_triggers.py checks every entry here against the real readers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from mtls_doctor.checks.finding import Finding
from mtls_doctor.envoy.configdump import read_dump
from mtls_doctor.envoy.logfindings import log_findings
from mtls_doctor.envoy.logs import read_log
from tests.envoy import compare_fixture

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

Runner = Callable[[Path], Iterable[Finding]]


@dataclass(frozen=True)
class Trigger:
    fixture: str
    subject: str
    run: Runner
    line: int | None = None

    @property
    def path(self) -> Path:
        return FIXTURES / self.fixture


def envoy_dump(path: Path) -> Iterable[Finding]:
    """`mtls-doctor envoy FILE`: the findings of one config dump."""
    return read_dump(path.read_bytes(), str(path.relative_to(FIXTURES))).findings


def proxy_logs(path: Path) -> Iterable[Finding]:
    """`mtls-doctor logs FILE`: the findings of one log file."""
    rel = str(path.relative_to(FIXTURES))
    return log_findings(read_log(path.read_text(encoding="utf-8"), rel))


def predictions(path: Path) -> Iterable[Finding]:
    """The proxy of a dump against predictions (tests/envoy/compare_fixture.py)."""
    return compare_fixture.run(path)


LAB_DUMP = "configdump/envoy-lab/config_dump.json"
GEO = "Pod/hr2/geo-5c54dcd5bd-z5ghf"
PREDICTED = "configdump/compare/geo-predictions.yaml"
LAB_PREDICTED = "configdump/compare/lab-predictions.yaml"
LAB_POD = "Pod/labns/lab-0"


def _log(fixture: str, subject: str | None = None, line: int | None = None) -> Trigger:
    return Trigger(fixture, subject or f"LogFile/{fixture}", proxy_logs, line)


ENVOY_TRIGGERS: dict[str, tuple[Trigger, ...]] = {
    "EV101": (
        Trigger(
            "configdump/legacy-v2api/from-tag-1.6.0/compare_envoyconfigdump2020.json",
            "Pod/default/details-v1-78d78fbddf-xb9kw",
            envoy_dump,
        ),
    ),
    "EV102": (
        Trigger(
            "configdump/realcluster-apache/istio-1.18.2_hotelreservation-geo_sidecar_config_dump.json",
            "Pod/hr2/geo-5c54dcd5bd-z5ghf",
            envoy_dump,
        ),
        Trigger(LAB_DUMP, LAB_POD, envoy_dump),
    ),
    "EV103": (Trigger(LAB_DUMP, LAB_POD, envoy_dump),),
    "EV104": (
        Trigger(LAB_DUMP, LAB_POD, envoy_dump),
        Trigger(
            "configdump/realcluster-apache/istio-1.18.2_hotelreservation-geo_sidecar_config_dump.json",
            "Pod/hr2/geo-5c54dcd5bd-z5ghf",
            envoy_dump,
        ),
    ),
    "EV105": (Trigger(LAB_DUMP, LAB_POD, envoy_dump),),
    "EV106": (
        Trigger(
            "configdump/istio-head/proxyconfig_config_dump.json",
            "Pod/default/httpbin-istio-waypoint-58f646c5ff-dbfkz",
            envoy_dump,
        ),
    ),
    "EV107": (Trigger(LAB_DUMP, LAB_POD, envoy_dump),),
    "EV108": (
        Trigger(
            "configdump/realcluster-apache/istio-1.18.2_hotelreservation-geo_sidecar_config_dump.json",
            "Pod/hr2/geo-5c54dcd5bd-z5ghf",
            envoy_dump,
        ),
    ),
    "EV109": (
        Trigger(
            "configdump/istio-head/authz_listeners_configdump.json",
            "ConfigDump/configdump/istio-head/authz_listeners_configdump.json",
            envoy_dump,
        ),
    ),
    "EV201": (Trigger(PREDICTED, GEO, predictions),),
    "EV202": (Trigger(PREDICTED, GEO, predictions),),
    "EV203": (Trigger(LAB_PREDICTED, LAB_POD, predictions),),
    "EV204": (Trigger(PREDICTED, GEO, predictions),),
    "EV205": (Trigger(LAB_PREDICTED, LAB_POD, predictions),),
    "LG101": (_log("logs/lab/envoy-1.40-lab-lines.log", line=1),),
    "LG102": (
        _log(
            "logs/access/istio-28493_503_UF_URX_TLSV1_ALERT_UNKNOWN_CA_ingressgateway.log",
            "Service/default/keerthg-test-card-5-v1",
            line=1,
        ),
    ),
    "LG103": (_log("logs/lab/envoy-1.40-lab-lines.log"),),
    "LG104": (_log("logs/lab/envoy-1.40-debug.log", line=1),),
    "LG105": (_log("logs/client/kubelet_probe_failures_STRICT.txt", line=1),),
    "LG106": (
        _log("logs/access/istio-32079_400_DPE_server_and_WRONG_VERSION_NUMBER_client.log", line=1),
    ),
    "LG107": (
        _log("logs/access/istio-40944_403_rbac_access_denied_bad_CUSTOM_action.log", line=1),
        _log(
            "logs/access/ztunnel-1273_policy_rejection_access_logs.log",
            "Service/default/productpage",
        ),
    ),
    "LG108": (
        _log("logs/access/istio-community-1435_NR_filter_chain_not_found_mongodb.log", line=1),
    ),
    "LG109": (_log("logs/debug/istio-36957_agent_ca_request_failed_sds.log", line=2),),
    "LG110": (_log("logs/debug/istio-36957_agent_ca_request_failed_sds.log", line=7),),
    "LG111": (_log("logs/debug/istio-29721_TLS_error_missing_reason.log", line=9),),
    "LG112": (
        _log(
            "logs/access/ztunnel-1662_503_UC_ingressgateway_to_ztunnel_ambient.log",
            "Service/http-echo-istio/http-echo",
        ),
    ),
    "LG113": (_log("logs/access/istio-10515_503_UH_egress_legacy_1.0.log"),),
    "LG114": (_log("logs/debug/istio-31780_ads_stream_no_healthy_upstream.log"),),
    "LG115": (_log("logs/lab/envoy-1.40-access.log"),),
    "LG116": (_log("logs/debug/istio-36649_probe_app_failed_sidecar_defaultEndpoint.log"),),
    "LG117": (
        _log("logs/lab/envoy-1.40-access.log"),
        _log("logs/access/istio-32079_400_DPE_server_and_WRONG_VERSION_NUMBER_client.log", line=2),
    ),
    "LG118": (
        _log("logs/debug/istio-26349_CERTIFICATE_VERIFY_FAILED_handshake_debug.log", line=4),
    ),
    "LG119": (
        _log(
            "logs/access/istio-17139_json_UF_URX_headless_tcp_1.3.log",
            "Service/our_ns/keycloak-headless",
        ),
    ),
}
