"""The bootstraps mirror istiod's shapes (istio-semantics.md §1.4, §1.5, §2.4, §3.3, §8)."""

from __future__ import annotations

from typing import Any

import pytest

from mtls_doctor.lab import bootstrap as bs
from mtls_doctor.lab.case import (
    AutoMtls,
    ClientSide,
    IstioMutual,
    LabCase,
    NoTls,
    Prediction,
    PrincipalMatch,
    RbacPolicy,
    ServerSide,
)

PORTS = bs.Ports(
    app=20001, server_listener=20002, server_admin=20003, client_listener=20004, client_admin=20005
)
SNI = "outbound_.8080_._.echo.echo.svc.cluster.local"
ECHO = "spiffe://cluster.local/ns/echo/sa/default"


def _case(mode: str = "STRICT", port_class: str = "http", **client: Any) -> LabCase:
    return LabCase(
        client=ClientSide(**client),
        server=ServerSide(mode=mode),  # type: ignore[arg-type]
        predicted=Prediction("mtls"),
        port_class=port_class,  # type: ignore[arg-type]
    )


def _walk(node: Any) -> list[Any]:
    out = [node]
    if isinstance(node, dict):
        for v in node.values():
            out += _walk(v)
    elif isinstance(node, list):
        for v in node:
            out += _walk(v)
    return out


def _chains(config: dict[str, Any]) -> list[dict[str, Any]]:
    return config["static_resources"]["listeners"][0]["filter_chains"]  # type: ignore[no-any-return]


def _filter_names(config: dict[str, Any]) -> list[str]:
    return [f["name"] for f in config["static_resources"]["listeners"][0]["listener_filters"]]


@pytest.mark.parametrize("mode", ["STRICT", "PERMISSIVE", "DISABLE"])
@pytest.mark.parametrize("port_class", ["http", "tcp", "auto"])
def test_every_address_is_loopback_and_reuse_port_off(mode: str, port_class: str) -> None:
    case = _case(
        mode, port_class, cluster_tls=AutoMtls(endpoint_tls_mode="istio", sni=SNI, sans=(ECHO,))
    )
    for config in (bs.server_bootstrap(case, PORTS), bs.client_bootstrap(case, PORTS)):
        addresses = [
            n["address"] for n in _walk(config) if isinstance(n, dict) and "port_value" in n
        ]
        assert addresses and set(addresses) == {"127.0.0.1"}
        for listener in config["static_resources"]["listeners"]:
            assert listener["enable_reuse_port"] is False
            assert listener["access_log"]  # listener-level log: handshake failures land here


def test_strict_http_matches_tls_without_alpn() -> None:
    config = bs.server_bootstrap(_case("STRICT"), PORTS)
    [chain] = _chains(config)
    assert chain["filter_chain_match"] == {"transport_protocol": "tls"}
    tls = chain["transport_socket"]["typed_config"]
    assert tls["require_client_certificate"] is True
    sans = tls["common_tls_context"]["validation_context"]["match_typed_subject_alt_names"]
    assert sans == [{"san_type": "URI", "matcher": {"prefix": "spiffe://cluster.local/"}}]
    assert _filter_names(config) == ["envoy.filters.listener.tls_inspector"]


def test_permissive_tcp_has_mtls_passthrough_and_plaintext_chains() -> None:
    chains = _chains(bs.server_bootstrap(_case("PERMISSIVE", "tcp"), PORTS))
    by_name = {c["name"]: c for c in chains}
    assert by_name["permissive-mtls-tcp"]["filter_chain_match"]["application_protocols"][:2] == [
        "istio",
        "istio-peer-exchange",
    ]
    assert "transport_socket" not in by_name["permissive-tls-passthrough"]
    assert by_name["permissive-plaintext-tcp"]["filter_chain_match"] == {
        "transport_protocol": "raw_buffer"
    }


def test_disable_has_no_tls_inspector() -> None:
    config = bs.server_bootstrap(_case("DISABLE"), PORTS)
    assert _filter_names(config) == []
    assert all("transport_socket" not in c for c in _chains(config))


def test_auto_mtls_uses_transport_socket_matches_and_endpoint_metadata() -> None:
    tls = AutoMtls(endpoint_tls_mode="istio", sni=SNI, sans=(ECHO,))
    clusters = bs.client_bootstrap(_case(cluster_tls=tls), PORTS)["static_resources"]["clusters"]
    svc = next(c for c in clusters if c["name"].startswith("outbound|"))
    matches = svc["transport_socket_matches"]
    assert [m["name"] for m in matches] == ["tlsMode-istio", "tlsMode-disabled"]
    upstream = matches[0]["transport_socket"]["typed_config"]
    assert upstream["sni"] == SNI
    vc = upstream["common_tls_context"]["validation_context"]
    assert vc["match_typed_subject_alt_names"] == [{"san_type": "URI", "matcher": {"exact": ECHO}}]
    lb = svc["load_assignment"]["endpoints"][0]["lb_endpoints"][0]
    assert lb["metadata"]["filter_metadata"]["envoy.transport_socket_match"] == {"tlsMode": "istio"}
    off = AutoMtls(endpoint_tls_mode="disabled", sni=SNI)
    clusters = bs.client_bootstrap(_case(cluster_tls=off), PORTS)["static_resources"]["clusters"]
    svc = next(c for c in clusters if c["name"].startswith("outbound|"))
    assert "metadata" not in svc["load_assignment"]["endpoints"][0]["lb_endpoints"][0]


def test_istio_mutual_is_one_socket_and_plaintext_has_none() -> None:
    mutual = IstioMutual(sni=SNI, sans=(ECHO,), alpn=("istio-peer-exchange", "istio"))
    clusters = bs.client_bootstrap(_case(port_class="tcp", cluster_tls=mutual), PORTS)[
        "static_resources"
    ]["clusters"]
    svc = next(c for c in clusters if c["name"].startswith("outbound|"))
    assert "transport_socket_matches" not in svc
    ctx = svc["transport_socket"]["typed_config"]["common_tls_context"]
    assert ctx["alpn_protocols"] == ["istio-peer-exchange", "istio"]
    clusters = bs.client_bootstrap(_case(cluster_tls=NoTls()), PORTS)["static_resources"][
        "clusters"
    ]
    assert all("transport_socket" not in c for c in clusters)


def test_rbac_deny_then_allow_on_the_chain_kind() -> None:
    rules = (
        RbacPolicy(
            name="ns[echo]-policy[a]-rule[0]",
            action="ALLOW",
            principals=(PrincipalMatch(kind="authenticated"),),
        ),
        RbacPolicy(
            name="ns[echo]-policy[d]-rule[0]",
            action="DENY",
            principals=(PrincipalMatch(kind="exact", value=ECHO),),
        ),
    )
    case = LabCase(
        client=ClientSide(),
        server=ServerSide(rbac=rules),
        predicted=Prediction("mtls"),
        port_class="auto",
    )
    chains = {c["name"]: c for c in _chains(bs.server_bootstrap(case, PORTS))}
    hcm = chains["permissive-mtls-http"]["filters"][0]["typed_config"]
    assert [f["name"] for f in hcm["http_filters"]] == [
        "envoy.filters.http.rbac",
        "envoy.filters.http.rbac",
        "envoy.filters.http.router",
    ]
    assert [f["typed_config"]["rules"]["action"] for f in hcm["http_filters"][:2]] == [
        "DENY",
        "ALLOW",
    ]
    tcp = [f["name"] for f in chains["permissive-mtls-tcp"]["filters"]]
    assert tcp == [
        "envoy.filters.network.rbac",
        "envoy.filters.network.rbac",
        "envoy.filters.network.tcp_proxy",
    ]
