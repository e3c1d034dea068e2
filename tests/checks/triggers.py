"""Which fixture triggers each finding code: the table `tests/checks/test_catalog.py` checks.

Every code in `mtls_doctor.checks.catalog.CATALOG` needs at least one entry here; the test
fails, code by code, for any code without one, and for an entry whose fixture does not produce
the code on the expected subject.

How to add an entry (one per code, more are welcome):

    TRIGGERS["PA101"] = (
        Trigger(
            fixture="scenarios/strict-without-sidecar/mesh.yaml",   # under tests/fixtures/
            subject="PeerAuthentication/prod/default",              # Kind/namespace/name
            run=analyze_manifests,                                  # Path -> findings
            line=12,                                                # optional: origin line
        ),
    )

`run` takes the fixture's absolute path (a file or a directory) and returns the findings the
tool produces for it: the real reader and checks of the family, nothing stubbed. Put small
runner functions below, one per kind of input, and keep the table sorted by code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from mtls_doctor.checks.finding import Finding

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

Runner = Callable[[Path], Iterable[Finding]]


@dataclass(frozen=True)
class Trigger:
    fixture: str  # path relative to tests/fixtures/
    subject: str  # the expected subject, Kind/namespace/name
    run: Runner  # fixture path -> the findings the tool reports for it
    line: int | None = None  # when set, a finding must also point at this line of the fixture

    @property
    def path(self) -> Path:
        return FIXTURES / self.fixture


# --- runners (one per kind of input; the real code of each family) --------------------------


def analyze_manifests(path: Path) -> list[Finding]:
    """The core pipeline on manifests: load, edges, checks."""
    from mtls_doctor.analysis import analyze
    from mtls_doctor.model.load import load_mesh

    return analyze(load_mesh([str(path)])).findings


def certificate_findings(path: Path) -> list[Finding]:
    """The certs reader and checks, at the clock the trigger fixtures were made for."""
    from datetime import UTC, datetime

    from mtls_doctor.certs import CERT_SUFFIXES, CheckPolicy, check_certificates, read_certificates
    from mtls_doctor.sources.paths import expand

    files, _ = expand([str(path)], CERT_SUFFIXES)
    policy = CheckPolicy.at(datetime(2026, 11, 23, 12, tzinfo=UTC))
    return list(check_certificates(read_certificates(files), policy).findings)


def _ce(code: str, folder: str, subject: str) -> tuple[str, tuple[Trigger, ...]]:
    return code, (Trigger(f"secrets/triggers/{folder}", subject, certificate_findings),)


# --- the table, sorted by code --------------------------------------------------------------

TRIGGERS: dict[str, tuple[Trigger, ...]] = {
    "ED101": (
        Trigger(
            "mesh/serviceentry-strict.yaml", "ServiceEntry/curl/global-echo", analyze_manifests, 42
        ),
    ),
    "ED102": (
        Trigger(
            "mesh/serviceentry-permissive.yaml",
            "ServiceEntry/curl/global-echo",
            analyze_manifests,
            42,
        ),
    ),
    "ED103": (
        Trigger("mesh/service-without-workloads.yaml", "Service/shop/cart", analyze_manifests, 14),
    ),
    "PA101": (
        Trigger(
            "mesh/peerauthentication-rejected.yaml",
            "PeerAuthentication/b/default",
            analyze_manifests,
            1,
        ),
    ),
    "SE101": (
        Trigger(
            "mesh/serviceentry-san-mismatch.yaml",
            "ServiceEntry/curl/global-echo",
            analyze_manifests,
            42,
        ),
    ),
    "SE102": (
        Trigger(
            "mesh/serviceentry-permissive.yaml",
            "WorkloadEntry/curl/echo-pod",
            analyze_manifests,
            53,
        ),
    ),
}


TRIGGERS.update(
    dict(
        [
            _ce("CE101", "expired_workload", "Proxy/default/web-1"),
            _ce("CE102", "not_yet_valid", "Proxy/default/web-1"),
            _ce("CE103", "expiring_soon", "Proxy/default/web-1"),
            _ce("CE201", "chain_other_root_same_name", "Proxy/default/web-1"),
            _ce("CE202", "missing_intermediate", "Proxy/default/web-1"),
            _ce("CE203", "plugin_ca_mixed_up", "Secret/ns1/cacerts"),
            _ce("CE301", "roots_differ_between_namespaces", "ConfigMap/legacy/istio-ca-root-cert"),
            _ce("CE302", "roots_differ_between_proxies", "Proxy/default/rotating-1"),
            _ce("CE401", "no_uri_san", "Proxy/default/web-1"),
            _ce("CE402", "malformed_spiffe", "Proxy/default/upper-1"),
            _ce("CE403", "unknown_trust_domain", "Proxy/default/other-1"),
            _ce("CE404", "identity_not_the_pods", "Proxy/shop/cart-1"),
            _ce("CE501", "plugin_ca_key_mismatch", "Secret/ns1/cacerts"),
            _ce("CE502", "plugin_ca_not_signed_by_root", "Secret/ns1/cacerts"),
            _ce("CE503", "plugin_ca_not_a_ca", "Secret/ns1/cacerts"),
            _ce("CE504", "plugin_ca_path_length", "Secret/ns1/cacerts"),
            _ce("CE505", "plugin_ca_mixed_up", "Secret/ns1/cacerts"),
            _ce("CE506", "plugin_ca_member_missing", "Secret/ns1/cacerts"),
            _ce("CE601", "long_lived_and_wildcard", "Proxy/default/long-1"),
            _ce("CE602", "long_lived_and_wildcard", "Proxy/web/wild-1"),
        ]
    )
)


def _envoy_triggers() -> dict[str, tuple[Trigger, ...]]:
    """The EV and LG entries, kept beside the envoy tests (same fields as `Trigger`)."""
    from tests.envoy.triggers_envoy import ENVOY_TRIGGERS

    return {
        code: tuple(Trigger(t.fixture, t.subject, t.run, t.line) for t in entries)
        for code, entries in ENVOY_TRIGGERS.items()
    }


TRIGGERS.update(_envoy_triggers())


def _mesh(fixture: str, subject: str, line: int) -> tuple[Trigger, ...]:
    return (Trigger(fixture, subject, analyze_manifests, line),)


# The runbook and AuthorizationPolicy checks: tests/fixtures/mesh/checks-<family>.yaml put each
# resource that must trigger a code next to a look-alike that must not (tests/scenarios/checks-*).
TRIGGERS.update(
    {
        "AZ101": _mesh("mesh/checks-az.yaml", "AuthorizationPolicy/shop/legacy-api-callers", 114),
        "AZ102": _mesh("mesh/checks-az.yaml", "AuthorizationPolicy/shop/allow-nothing", 146),
        "AZ103": _mesh("mesh/checks-az.yaml", "AuthorizationPolicy/shop/split", 157),
        "AZ104": _mesh("mesh/checks-az.yaml", "AuthorizationPolicy/shop/typos", 175),
        "AZ105": _mesh("mesh/checks-az.yaml", "AuthorizationPolicy/shop/typos", 175),
        "AZ106": _mesh("mesh/checks-az.yaml", "AuthorizationPolicy/shop/ext-authz", 192),
        "AZ107": _mesh("mesh/checks-az.yaml", "AuthorizationPolicy/shop/ghost", 227),
        "DR101": _mesh("mesh/checks-dr.yaml", "DestinationRule/shop/api-disable", 84),
        "DR102": _mesh("mesh/checks-dr.yaml", "DestinationRule/legacy/db-mutual", 136),
        "DR103": _mesh("mesh/checks-dr.yaml", "DestinationRule/shop/payments-tls", 148),
        "DR104": _mesh("mesh/checks-dr.yaml", "DestinationRule/shop/shipping-subsets", 226),
        "DR105": _mesh("mesh/checks-dr.yaml", "DestinationRule/shop/skip-verify", 172),
        "DR106": _mesh("mesh/checks-dr.yaml", "DestinationRule/shop/cred-sidecar", 185),
        "IN101": _mesh("mesh/checks-in.yaml", "Deployment/shop/batch", 85),
        "IN102": _mesh("mesh/checks-in.yaml", "Namespace/legacy", 10),
        "IN103": _mesh("mesh/checks-in.yaml", "DaemonSet/shop/node-agent", 118),
        "IN104": _mesh("mesh/checks-in.yaml", "Deployment/hooks/validator", 182),
        "IN105": _mesh("mesh/checks-in.yaml", "Deployment/shop/probed", 135),
        "IN106": _mesh("mesh/checks-in.yaml", "Deployment/shop/metrics", 159),
        "PA102": _mesh("mesh/checks-pa.yaml", "PeerAuthentication/shop/web-ports", 77),
        "PA103": _mesh("mesh/checks-pa.yaml", "PeerAuthentication/shop/metrics-unused", 104),
        "PA104": _mesh("mesh/checks-pa.yaml", "PeerAuthentication/shop/ghost", 118),
        "PA105": _mesh(
            "mesh/checks-pa.yaml", "PeerAuthentication/istio-system/mesh-permissive", 32
        ),
        "PA106": _mesh("mesh/checks-pa.yaml", "PeerAuthentication/istio-system/web-from-root", 43),
        "PA107": _mesh("mesh/checks-pa.yaml", "PeerAuthentication/legacy/default", 131),
        "PA108": _mesh("mesh/checks-pa.yaml", "PeerAuthentication/plain/default", 141),
        "PR101": _mesh("mesh/checks-in.yaml", "Service/hooks/mutator", 230),
        "PR102": _mesh("mesh/checks-pr.yaml", "Service/shop/tlsapp", 28),
        "PR103": _mesh("mesh/checks-pr.yaml", "Service/shop/cache", 72),
        "SE103": _mesh("mesh/checks-se.yaml", "WorkloadEntry/curl/echo-a", 75),
        "SE104": _mesh("mesh/checks-se.yaml", "ServiceEntry/curl/echo-accepted", 90),
        "SE105": _mesh("mesh/checks-se.yaml", "ServiceEntry/curl/echo-external", 126),
        "TR101": _mesh("mesh/checks-az.yaml", "AuthorizationPolicy/shop/foreign", 240),
    }
)
