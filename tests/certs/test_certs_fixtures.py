"""The certificate readers and checks against real material: Istio and SPIRE SDS dumps with
istioctl's own `proxy-config secret` tables, Istio sample CA files, PKI test certificates.

Validity is judged at the tests' own clock (FIXTURE_NOW, the day the inventory was made), never
at today's date.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mtls_doctor.certs import (
    CERT_SUFFIXES,
    CertInventory,
    CheckPolicy,
    check_certificates,
    read_certificates,
    trust_view,
)
from mtls_doctor.certs.analyze import CertReport
from mtls_doctor.sources.paths import expand

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "secrets"
DUMPS = FIXTURES / "secret-dumps"
PEM = FIXTURES / "pem"
FIXTURE_NOW = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def inventory(*args: str | Path) -> CertInventory:
    files, problems = expand([str(a) for a in args], CERT_SUFFIXES)
    assert problems == []
    return read_certificates(files)


def report(*args: str | Path, now: datetime = FIXTURE_NOW) -> CertReport:
    return check_certificates(inventory(*args), CheckPolicy.at(now))


def pc_secret_rows(path: Path) -> list[dict[str, str]]:
    """Rows of an `istioctl proxy-config secret` table, split on its column positions."""
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    header = lines[0]
    names = [h for h in header.split("  ") if h.strip()]
    starts = [header.index(n.strip()) for n in names]
    rows = []
    for line in lines[1:]:
        cells = [line[s:e].strip() for s, e in zip(starts, [*starts[1:], None], strict=True)]
        rows.append(dict(zip([n.strip() for n in names], cells, strict=True)))
    return rows


@pytest.mark.parametrize(
    ("dump", "table"),
    [
        ("istio_sds_config_dump.json", "istio_sds_config_dump"),
        ("istio_1.24_sds_config_dump.json", "istio_1.24_sds_config_dump"),
        ("spire_sds_config_dump.json", "spire_sds_config_dump"),
        ("camelCase/istio_sds_config_dump.pc_secret.json", "istio_sds_config_dump"),
        ("camelCase/spire_sds_config_dump.pc_secret.json", "spire_sds_config_dump"),
    ],
)
def test_sds_dump_matches_istioctl_table(dump: str, table: str) -> None:
    rep = report(DUMPS / dump)
    rows = [
        r for r in pc_secret_rows(DUMPS / f"{table}.expected_pc_secret.txt") if r["SERIAL NUMBER"]
    ]
    assert rows
    for row in rows:
        serial = row["SERIAL NUMBER"].lower().lstrip("0")
        matches = [
            v
            for v in rep.certificates
            if v.serial == serial and f"#sds/{row['RESOURCE NAME']}" in v.source
        ]
        assert matches, f"serial {serial} of {row['RESOURCE NAME']} not read"
        v = matches[0]
        assert v.not_after == row["NOT AFTER"]
        assert v.not_before == row["NOT BEFORE"]
        assert ("#sds/" + row["RESOURCE NAME"]) in v.source
        assert v.expired == (row["VALID CERT"] == "false")
        if row.get("TRUST DOMAIN") and row["TYPE"] == "CA":
            assert v.source.endswith("/" + row["TRUST DOMAIN"])
        if row.get("TRUST DOMAIN") and row["TYPE"] == "Cert Chain":
            assert v.trust_domain == row["TRUST DOMAIN"]


def test_warming_secret_without_certificate_is_not_an_error() -> None:
    inv = inventory(DUMPS / "istio_sds_config_dump.json")
    assert inv.problems == ()
    members = {m for b in inv.bundles for m, _ in b.members}
    assert members == {"default", "ROOTCA"}


def test_expired_workload_certificate_found_in_istio_dump() -> None:
    rep = report(DUMPS / "istio_sds_config_dump.json")
    expired = {
        (f.code, f.origin.file if f.origin else None) for f in rep.findings if f.code == "CE101"
    }
    assert expired == {("CE101", str(DUMPS / "istio_sds_config_dump.json"))}
    assert any("#sds/default[0]" in f.message for f in rep.findings if f.code == "CE101")
    # the same dump judged on a day its certificate was valid: nothing expired
    valid_day = datetime(2023, 5, 15, 12, tzinfo=UTC)
    assert not [
        f
        for f in report(DUMPS / "istio_sds_config_dump.json", now=valid_day).findings
        if f.code in ("CE101", "CE102")
    ]


def test_spire_dump_federated_bundles_and_identity() -> None:
    inv = inventory(DUMPS / "spire_sds_config_dump.json")
    (bundle,) = inv.bundles
    assert {a.trust_domain for a in bundle.anchors} == {"east.local", "west.local"}
    view = trust_view(inv)
    (w,) = view.workloads
    assert w.spiffe_id == (
        "spiffe://east.local/ns/istio-system/sa/federation-ingress-gateway-service-account"
    )
    east = next(a for a in bundle.anchors if a.trust_domain == "east.local")
    assert w.chain_root in east.fingerprints
    rep = check_certificates(inv, CheckPolicy.at(FIXTURE_NOW))
    # east.local is one of the proxy's own federated trust domains: not unknown
    assert "CE403" not in {f.code for f in rep.findings}
    assert "CE201" not in {f.code for f in rep.findings}


def test_camel_case_and_snake_case_dumps_read_the_same() -> None:
    snake = report(DUMPS / "spire_sds_config_dump.json")
    camel = report(DUMPS / "camelCase" / "spire_sds_config_dump.pc_secret.json")
    assert [v.fingerprint_sha256 for v in snake.certificates] == [
        v.fingerprint_sha256 for v in camel.certificates
    ]


def test_bootstrap_gives_pod_namespace_and_service_account() -> None:
    inv = inventory(DUMPS / "hotelreservation-geo_trimmed_config_dump.json")
    (bundle,) = inv.bundles
    assert (bundle.owner.pod, bundle.owner.namespace, bundle.owner.service_account) == (
        "geo-5c54dcd5bd-z5ghf",
        "hr2",
        "default",
    )
    view = trust_view(inv)
    w = view.workload("default", "hr2", "geo-5c54dcd5bd-z5ghf")
    assert w is not None
    assert w.spiffe_id == "spiffe://cluster.local/ns/hr2/sa/default"
    assert w.chain_root in w.trusted_roots
    assert w.not_after == datetime(2025, 2, 18, 14, 49, 39, tzinfo=UTC)
    rep = check_certificates(inv, CheckPolicy.at(FIXTURE_NOW))
    assert {(f.code, f.subject.name) for f in rep.findings} == {("CE101", "geo-5c54dcd5bd-z5ghf")}


def test_proxies_with_different_roots_from_real_dumps() -> None:
    rep = report(
        DUMPS / "istio_sds_config_dump.json",
        DUMPS / "istio_1.24_sds_config_dump.json",
        DUMPS / "camelCase" / "compare_envoyconfigdumpsds.pc_secret.json",
    )
    differ = {f.subject.name for f in rep.findings if f.code == "CE301"}
    # two dumps share istiod's root; the 2019 dump (bookinfo) has its own
    assert differ == {str(DUMPS / "camelCase" / "compare_envoyconfigdumpsds.pc_secret.json")}


def _inventory_rows() -> list[dict[str, object]]:
    rows = json.loads((FIXTURES / "cert_inventory.json").read_text())
    return [
        r
        for r in rows
        if isinstance(r.get("idx"), int)
        and r.get("subject") is not None
        and "parse error" not in str(r.get("subject"))
    ]


def _openssl_time(text: str) -> datetime:
    return datetime.strptime(" ".join(text.split()), "%b %d %H:%M:%S %Y GMT").replace(tzinfo=UTC)


def test_every_inventoried_pem_certificate_is_read_as_openssl_read_it() -> None:
    rows = _inventory_rows()
    assert len({r["file"] for r in rows}) > 20
    rep = report(PEM)
    by_source = {v.source: v for v in rep.certificates}
    for row in rows:
        path = FIXTURES / str(row["file"])
        begins = [
            n
            for n, line in enumerate(path.read_text().splitlines(), start=1)
            if line.strip() == "-----BEGIN CERTIFICATE-----"
        ]
        v = by_source[f"{path}:{begins[int(str(row['idx']))]}"]
        assert v.not_after == _openssl_time(str(row["notAfter"])).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert v.serial == str(row["serial"]).lower().lstrip("0")
        uris = sorted(
            s.removeprefix("URI:") for s in str(row["san"]).split(", ") if s.startswith("URI:")
        )
        assert sorted(s.removeprefix("URI:") for s in v.sans if s.startswith("URI:")) == uris
        assert v.is_ca == bool(row["ca"])
        assert v.expired == bool(row["expired_now"])


def test_broken_pem_blocks_are_problems_and_the_rest_is_read() -> None:
    inv = inventory(PEM / "nodeagent-cache")
    problems = {(p.origin.file.rsplit("/", 1)[1], p.origin.line, p.level) for p in inv.problems}
    assert problems == {
        ("invalidpem.pem", 35, "error"),
        ("root-ca-bundle-with-graceful-failures.pem", 108, "error"),
        ("emptyfile.pem", None, "warning"),
    }
    subjects = {c.facts.subject for c in inv.certificates if "graceful" in c.source}
    assert "CN=SwissSign Gold CA - G2,O=SwissSign AG,C=CH" in subjects
    assert "CN=SwissSign RSA TLS Root CA 2022 - 1,O=SwissSign AG,C=CH" in subjects


def _plugin_dir(tmp: Path, suffix: str = "") -> Path:
    """Istio's samples/certs laid out as istiod reads a plug-in CA."""
    d = tmp / f"cacerts{suffix or '-main'}"
    d.mkdir()
    src = PEM / "samples-certs"
    shutil.copy(src / f"ca-cert{suffix}.pem", d / "ca-cert.pem")
    shutil.copy(src / "keys" / f"ca-key{suffix}.pem", d / "ca-key.pem")
    shutil.copy(src / f"cert-chain{suffix}.pem", d / "cert-chain.pem")
    shutil.copy(
        src / (f"root-cert{suffix}.pem" if suffix != "-alt-2" else "root-cert-alt.pem"),
        d / "root-cert.pem",
    )
    return d


def test_istio_sample_plugin_ca_is_clean(tmp_path: Path) -> None:
    d = _plugin_dir(tmp_path)
    inv = inventory(d)
    (bundle,) = inv.bundles
    assert bundle.kind == "cacerts"
    rep = check_certificates(inv, CheckPolicy.at(FIXTURE_NOW))
    assert rep.findings == ()


def test_istio_sample_multicluster_cas_share_a_root(tmp_path: Path) -> None:
    one, two = _plugin_dir(tmp_path, "-alt"), _plugin_dir(tmp_path, "-alt-2")
    rep = report(f"cluster1={one}", f"cluster2={two}")
    # Same root, so no CE301. But upstream's samples/certs/ca-key-alt-2.pem is not the key of
    # ca-cert-alt-2.pem (openssl agrees: their public keys differ), which istiod would refuse.
    assert {(f.code, f.cluster, f.origin.file if f.origin else "") for f in rep.findings} == {
        ("CE501", "cluster2", str(two / "ca-key.pem"))
    }
    view = trust_view(inventory(f"cluster1={one}", f"cluster2={two}"))
    assert view.clusters["cluster1"].roots == view.clusters["cluster2"].roots


def test_istio_sample_cas_with_different_roots_differ(tmp_path: Path) -> None:
    one, other = _plugin_dir(tmp_path, "-alt"), _plugin_dir(tmp_path)
    rep = report(f"cluster1={one}", f"cluster2={other}")
    assert {(f.code, f.cluster) for f in rep.findings} == {("CE301", "cluster2")}


def test_sample_key_that_belongs_to_another_ca(tmp_path: Path) -> None:
    d = _plugin_dir(tmp_path)
    shutil.copy(PEM / "samples-certs" / "keys" / "ca-key-alt.pem", d / "ca-key.pem")
    rep = report(d)
    assert {(f.code, f.subject.name) for f in rep.findings} == {("CE501", str(d))}


def test_pki_key_mismatch_fixture(tmp_path: Path) -> None:
    src = PEM / "pki-testdata"
    good = tmp_path / "good.pem"
    good.write_text((src / "cert.pem").read_text() + (src / "keys" / "key.pem").read_text())
    bad = tmp_path / "bad.pem"
    bad.write_text((src / "cert.pem").read_text() + (src / "keys" / "key-mismatch.pem").read_text())
    rep = report(good, bad)
    assert {(f.code, f.subject.name) for f in rep.findings if f.code == "CE501"} == {
        ("CE501", str(bad))
    }


def test_sample_workload_certificates_lifecycle_and_trust_domain() -> None:
    rep = report(PEM / "samples-certs" / "workload-foo-cert.pem")
    got = {(f.code, f.level) for f in rep.findings}
    # ten-year workload certificate in trust domain trust-domain-foo, no mesh config given
    assert got == {("CE601", "warning"), ("CE403", "warning")}


def test_pilot_mounted_files_are_a_workload_not_a_plugin_ca() -> None:
    inv = inventory(PEM / "tests-testdata-certs" / "pilot")
    (bundle,) = inv.bundles
    assert bundle.kind == "workload"
