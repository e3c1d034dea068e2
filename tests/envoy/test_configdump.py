"""Config dump reading against real dumps, and against istioctl's own expected outputs."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mtls_doctor.envoy.configdump import read_dump
from mtls_doctor.envoy.fields import camel
from mtls_doctor.envoy.records import ProxyConfig
from mtls_doctor.envoy.secrets import valid_at

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "configdump"
REAL = FIX / "realcluster-apache" / "istio-1.18.2_hotelreservation-geo_sidecar_config_dump.json"
HEAD = FIX / "istio-head"


def load(path: Path) -> ProxyConfig:
    return read_dump(path.read_bytes(), path.name)


@pytest.fixture(scope="module")
def real() -> ProxyConfig:
    return load(REAL)


@pytest.fixture(scope="module")
def real_raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(REAL.read_bytes())
    return data


# --- the real Istio 1.18 sidecar -------------------------------------------------------------


def test_real_dump_proxy_identity(real: ProxyConfig) -> None:
    p = real.proxy
    assert (p.kind, p.pod, p.namespace, p.ip) == (
        "sidecar",
        "geo-5c54dcd5bd-z5ghf",
        "hr2",
        "172.16.188.31",
    )
    assert (p.istio_version, p.envoy_version, p.service_account) == ("1.18.2", "1.26.4", "default")
    assert real.problems == () and not real.legacy
    assert set(real.sections) >= {"bootstrap", "clusters", "endpoints", "listeners", "secrets"}


def test_auto_mtls_clusters_match_the_raw_json(real: ProxyConfig, real_raw: dict[str, Any]) -> None:
    """Independent walk of the raw JSON: which clusters carry a tlsMode-istio socket match."""
    section = next(c for c in real_raw["configs"] if c["@type"].endswith("ClustersConfigDump"))
    raw_auto = {
        e["cluster"]["name"]
        for key in ("static_clusters", "dynamic_active_clusters")
        for e in section.get(key, [])
        if any(
            m.get("match") == {"tlsMode": "istio"}
            for m in e["cluster"].get("transport_socket_matches", [])
        )
    }
    ours = {c.name for c in real.clusters if c.auto_mtls}
    assert ours == raw_auto
    assert len(raw_auto) == 122  # the fixture README's inventory


def test_istio_mtls_cluster_settings(real: ProxyConfig) -> None:
    c = real.cluster("outbound|5000||frontend.hr2.svc.cluster.local")
    assert c is not None and c.tls is not None
    assert (c.direction, c.port, c.subset, c.host) == (
        "outbound",
        5000,
        None,
        "frontend.hr2.svc.cluster.local",
    )
    assert (c.mode, c.auto_mtls, c.fallback_mode) == ("istio-mtls", True, "none")
    assert c.tls.sni == "outbound_.5000_._.frontend.hr2.svc.cluster.local"
    assert c.tls.alpn == ("istio-peer-exchange", "istio")
    assert c.tls.san_exact == ("spiffe://cluster.local/ns/hr2/sa/default",)
    assert (c.tls.cert_source, c.tls.ca_source) == ("sds:default", "sds:ROOTCA")
    assert c.origin is not None and c.origin.line is not None
    assert "frontend.hr2" in REAL.read_text().splitlines()[c.origin.line - 1]


def test_plaintext_clusters_have_no_tls_socket_in_raw_json(
    real: ProxyConfig, real_raw: dict[str, Any]
) -> None:
    section = next(c for c in real_raw["configs"] if c["@type"].endswith("ClustersConfigDump"))
    by_name = {e["cluster"]["name"]: e["cluster"] for e in section["dynamic_active_clusters"]}
    plain = [c for c in real.clusters if c.direction == "outbound" and c.mode == "none"]
    assert plain
    for c in plain:
        raw = json.dumps(by_name[c.name])
        assert "UpstreamTlsContext" not in raw, c.name


def test_inbound_port_is_permissive_and_the_rejected_listener_is_reported(
    real: ProxyConfig,
) -> None:
    port = real.port(8083)
    assert port is not None
    assert port.mode == "PERMISSIVE"
    kinds = {(ch.transport_protocol, ch.alpn, ch.mutual, ch.plaintext) for ch in port.chains}
    assert ("tls", ("istio-peer-exchange", "istio"), True, False) in kinds
    assert ("raw_buffer", (), False, True) in kinds
    assert port.rejected is not None and "LuaValidationError" in port.rejected
    ev102 = [f for f in real.findings if f.code == "EV102"]
    assert [f.subject.name for f in ev102] == ["geo-5c54dcd5bd-z5ghf"]
    assert "virtualInbound" in ev102[0].message


def test_endpoints_carry_tls_mode(real: ProxyConfig) -> None:
    modes = {(e.cluster, e.tls_mode) for e in real.endpoints}
    assert ("outbound|5000||frontend.hr2.svc.cluster.local", "istio") in modes
    assert ("outbound|443||kubernetes.default.svc.cluster.local", None) in modes


def test_secrets_are_read_without_keys(real: ProxyConfig) -> None:
    by_name = {s.name: s for s in real.secrets}
    assert by_name["default"].kind == "Cert Chain"
    assert by_name["default"].sans == ("spiffe://cluster.local/ns/hr2/sa/default",)
    assert by_name["ROOTCA"].kind == "CA" and by_name["ROOTCA"].subject == "O=cluster.local"


def test_san_less_mtls_finding_only_where_mtls_is_used(real: ProxyConfig) -> None:
    flagged = {f.message.split()[1] for f in real.findings if f.code == "EV103"}
    istio_eps = {e.cluster for e in real.endpoints if e.tls_mode == "istio"}
    for name in flagged:
        c = real.cluster(name)
        assert c is not None and c.tls is not None and c.tls.sans == ()
        assert name in istio_eps
    # kube-apiserver's cluster has the auto-mTLS match but no mesh endpoint: not flagged
    assert "outbound|443||kubernetes.default.svc.cluster.local" not in flagged


# --- both field-naming styles ------------------------------------------------------------------


def to_camel(value: Any, keep: bool = False) -> Any:
    """Re-marshal like protojson: field names camelCase; Struct/map data keys untouched."""
    if isinstance(value, list):
        return [to_camel(v, keep) for v in value]
    if not isinstance(value, dict):
        return value
    if keep:
        return value
    out: dict[str, Any] = {}
    for k, v in value.items():
        data_key = k.startswith("@") or not re.fullmatch(r"[a-z][a-z0-9_]*", k)
        new = k if data_key else camel(k)
        struct_valued = k in ("filter_metadata", "match") or (
            k == "metadata" and isinstance(v, dict) and "ISTIO_VERSION" in v
        )
        out[new] = dict(v) if struct_valued and isinstance(v, dict) else to_camel(v)
    return out


def test_camel_case_dump_reads_the_same(real: ProxyConfig, real_raw: dict[str, Any]) -> None:
    camel_bytes = json.dumps(to_camel(real_raw)).encode()
    assert (
        b"transportSocketMatches" in camel_bytes and b"transport_socket_matches" not in camel_bytes
    )
    other = read_dump(camel_bytes, "camel.json")

    def strip(cfg: ProxyConfig) -> tuple[Any, ...]:
        return (
            tuple((c.name, c.mode, c.auto_mtls, c.tls) for c in cfg.clusters),
            tuple((p.port, p.mode, p.chains) for p in cfg.inbound),
            cfg.endpoints,
            cfg.secrets,
            cfg.proxy,
        )

    assert strip(other) == strip(real)


def test_istioctl_endpoint_json_matches_the_snake_case_dump() -> None:
    snake = load(HEAD / "endpoint_configdump.json")
    camel_list = load(HEAD / "endpoint_pc_output.expected.json")  # istioctl pc endpoint -o json
    assert camel_list.sections == ("endpoints",) and camel_list.problems == ()
    assert set(camel_list.endpoints) == set(snake.endpoints)
    assert {e.address for e in snake.endpoints if e.tls_mode == "istio"}


def test_endpoints_agree_with_istioctl_table() -> None:
    """istioctl pc endpoint's expected table for the same dump: NAME STATUS LOCALITY CLUSTER."""
    rows = set()
    for line in (HEAD / "endpoint_pc_output.expected.txt").read_text().splitlines()[1:]:
        parts = line.split()
        if parts:
            rows.add((parts[0], parts[1], parts[-1]))
    ours = {
        (e.address, e.health, e.cluster) for e in load(HEAD / "endpoint_configdump.json").endpoints
    }
    assert ours == rows


def _expected_blocks() -> dict[str, list[list[str]]]:
    blocks: dict[str, list[list[str]]] = {}
    for line in (HEAD / "proxyconfig_config_dump_summary.expected.txt").read_text().splitlines():
        for prefix in ("cluster/", "secret/", "endpoint/"):
            if line.startswith(prefix):
                blocks.setdefault(prefix, []).append(line.split())
    return blocks


def test_clusters_agree_with_istioctl_summary() -> None:
    cfg = load(HEAD / "proxyconfig_config_dump.json")
    expected = {}
    for row in _expected_blocks()["cluster/"]:
        name, fqdn, port, subset, direction, ctype = row[:6]
        expected[name.removeprefix("cluster/")] = (fqdn, port, subset, direction, ctype)
    ours = {}
    for c in cfg.clusters:
        if c.host is not None:
            ours[c.name] = (c.host, str(c.port), c.subset or "-", c.direction, c.discovery_type)
        else:
            ours[c.name] = ("cluster/" + c.name, "-", "-", "-", c.discovery_type)
    assert ours == expected


def test_secrets_agree_with_istioctl_summary() -> None:
    cfg = load(HEAD / "proxyconfig_config_dump.json")
    now = datetime.now(UTC)
    expected = set()
    for row in _expected_blocks()["secret/"]:
        name = row[0].removeprefix("secret/")
        kind = "Cert Chain" if row[1] == "Cert" else row[1]
        rest = row[3:] if row[1] == "Cert" else row[2:]
        status, valid, serial, not_after, not_before = rest
        expected.add((name, kind, status, valid, serial, not_after, not_before))
    ours = {
        (
            s.name,
            s.kind,
            s.status,
            str(valid_at(s, now)).lower(),
            s.serial,
            s.not_after,
            s.not_before,
        )
        for s in cfg.secrets
    }
    assert ours == expected
    assert cfg.proxy.istio_version == "1.21.0-1226"


def test_subset_cluster_with_destination_rule_sans() -> None:
    cfg = load(HEAD / "describe_http_config.json")
    c = cfg.cluster("outbound|9080|v1|productpage.default.svc.cluster.local")
    assert c is not None and c.tls is not None
    assert c.subset == "v1" and c.auto_mtls
    assert set(c.tls.san_exact) == {
        "spiffe://cluster.local/ns/default/sa/bookinfo-productpage",
        "spiffe://cluster.local/ns/default/sa/default",
    }


def test_rbac_policies_on_inbound_ports() -> None:
    cfg = load(HEAD / "authz_listeners_configdump.json")
    port80 = cfg.port(80)
    assert port80 is not None
    names = {(r.name, r.action, r.layer, r.shadow) for r in port80.rbac}
    assert ("ns[default]-policy[httpbin]-rule[0]", "ALLOW", "http", False) in names
    assert ("istio-ext-authz-ns[default]-policy[ext-authz]-rule[0]", "DENY", "http", True) in names
    deny_all = [f for f in cfg.findings if f.code == "EV109"]
    assert deny_all and all("TCP" in f.message for f in deny_all)


# --- what is not a v3 config dump ------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "from-tag-1.6.0/compare_envoyconfigdump2020.json",
        "from-tag-1.6.0/describe_productpage-v1-c7765c886-v99jb.json",
        "from-tag-1.7.0/echo_config_dump.json",
    ],
)
def test_legacy_v2_dumps_are_reported_unsupported(name: str) -> None:
    cfg = load(FIX / "legacy-v2api" / name)
    assert cfg.legacy
    assert [f.code for f in cfg.findings] == ["EV101"]
    assert cfg.clusters == () and cfg.inbound == ()
    assert cfg.proxy.istio_version is not None
    assert cfg.proxy.istio_version in cfg.findings[0].message


@pytest.mark.parametrize(
    ("path", "words"),
    [
        (FIX / "legacy-v2api/from-tag-1.6.0/envoy_admin_clusters.json", "/clusters"),
        (HEAD / "ztunnel_dump.json", "ztunnel"),
    ],
)
def test_other_envoy_outputs_are_named(path: Path, words: str) -> None:
    cfg = load(path)
    assert [p.level for p in cfg.problems] == ["warning"]
    assert words in cfg.problems[0].message


def test_bootstrap_gives_identity_and_static_clusters() -> None:
    cfg = load(HEAD / "bootstrap_auth_golden.json")
    assert cfg.proxy.pod == "foo" and cfg.proxy.istio_version == "binary-1.0"
    assert {c.name for c in cfg.clusters} >= {"sds-grpc", "xds-grpc"}


def test_truncated_dump_keeps_the_complete_resources(real: ProxyConfig) -> None:
    data = REAL.read_bytes()
    cut = data[: len(data) // 2]
    cfg = read_dump(cut, "cut.json")
    assert [(p.level, p.origin.file, p.origin.line) for p in cfg.problems] == [
        ("warning", "cut.json", cut.count(b"\n") + 1)
    ]
    assert "ends in the middle" in cfg.problems[0].message
    full = {c.name: c for c in real.clusters}
    assert cfg.clusters, "the clusters before the cut are read"
    for c in cfg.clusters:  # every cluster read is whole: identical to the full dump's
        assert c.tls == full[c.name].tls and c.matches == full[c.name].matches


def test_dump_cut_before_any_resource_is_an_error() -> None:
    cfg = read_dump(REAL.read_bytes()[:300], "tiny.json")
    assert [p.level for p in cfg.problems] == ["error"]
    assert cfg.clusters == ()


@pytest.mark.parametrize(
    "data", [b"", b"hello: [", b"[1, 2, 3]", b'{"configs": "nope"}', b"\xff\xfe\x00"]
)
def test_garbage_never_raises(data: bytes) -> None:
    cfg = read_dump(data, "bad.json")
    assert cfg.clusters == () and cfg.inbound == ()
    assert cfg.problems or cfg.sections == ()
