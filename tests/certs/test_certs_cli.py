"""`mtls-doctor certs` end to end: exit codes, options, the JSON contract, golden renderings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tests.certs.pki_factory as pki
from tests.certs.cert_scenarios import SCENARIOS
from tests.certs.pki_factory import HOUR, NOW, NOW_ARG

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures" / "secrets"
GOLDEN = HERE / "golden"
CONTRACT_FIELDS = {
    "source",
    "subject",
    "issuer",
    "serial",
    "sans",
    "spiffe_id",
    "trust_domain",
    "not_before",
    "not_after",
    "expired",
    "is_ca",
    "chain",
}


def certs(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mtls_doctor", "certs", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_clean_input_exits_0(tmp_path: Path) -> None:
    sc = SCENARIOS["plugin_ca_good"](tmp_path)
    run = certs(*sc.args, "--now", NOW_ARG)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no certificate findings" in run.stdout


def test_error_finding_exits_1_and_fail_on_changes_it(tmp_path: Path) -> None:
    sc = SCENARIOS["expired_workload"](tmp_path)
    assert certs(*sc.args, "--now", NOW_ARG).returncode == 1
    assert certs(*sc.args, "--now", NOW_ARG, "--fail-on", "never").returncode == 0


def test_warning_only_reaches_fail_on_warning(tmp_path: Path) -> None:
    sc = SCENARIOS["long_lived_and_wildcard"](tmp_path)
    assert certs(*sc.args, "--now", NOW_ARG).returncode == 0
    assert certs(*sc.args, "--now", NOW_ARG, "--fail-on", "warning").returncode == 1


def test_unreadable_input_exits_3_names_file_and_line_and_reads_the_rest() -> None:
    bad = FIXTURES / "pem" / "nodeagent-cache" / "invalidpem.pem"
    good = FIXTURES / "pem" / "samples-certs" / "root-cert.pem"
    run = certs(str(bad), str(good), "--now", NOW_ARG, "-o", "json")
    assert run.returncode == 3
    assert f"{bad}:35" in run.stderr
    assert "Traceback" not in run.stderr
    doc = json.loads(run.stdout)
    sources = {c["source"] for c in doc["certificates"]}
    assert f"{good}:1" in sources
    assert f"{bad}:2" in sources  # the good block before the broken one


@pytest.mark.parametrize("option", [["--now", "yesterday"], ["--workload-margin", "soon"]])
def test_usage_errors_exit_2(option: list[str]) -> None:
    run = certs(str(FIXTURES / "pem" / "samples-certs" / "root-cert.pem"), *option)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr


def test_now_decides_expiry_not_the_wall_clock() -> None:
    dump = str(FIXTURES / "secret-dumps" / "istio_sds_config_dump.json")
    when_valid = json.loads(certs(dump, "--now", "2023-05-15T12:00:00Z", "-o", "json").stdout)
    later = json.loads(certs(dump, "--now", "2023-05-17T00:00:00Z", "-o", "json").stdout)
    leaf = "#sds/default[0]"
    assert [c["expired"] for c in when_valid["certificates"] if c["source"].endswith(leaf)] == [
        False
    ]
    assert [c["expired"] for c in later["certificates"] if c["source"].endswith(leaf)] == [True]
    assert {f["code"] for f in later["findings"]} == {"CE101"}


def test_margins_are_options(tmp_path: Path) -> None:
    r = pki.root()
    leaf = pki.workload(r, not_before=NOW - 10 * HOUR, not_after=NOW + 1.5 * HOUR)
    path = pki.write_text(tmp_path / "w" / "cert.pem", pki.pem(leaf, r))
    default = json.loads(certs(str(path), "--now", NOW_ARG, "-o", "json").stdout)
    wider = json.loads(
        certs(str(path), "--now", NOW_ARG, "-o", "json", "--workload-margin", "2h").stdout
    )
    assert "CE103" not in {f["code"] for f in default["findings"]}
    assert {f["code"] for f in wider["findings"]} == {"CE103"}
    ttl = json.loads(
        certs(str(path), "--now", NOW_ARG, "-o", "json", "--max-workload-ttl", "1h").stdout
    )
    assert {f["code"] for f in ttl["findings"]} == {"CE601"}


def test_trust_domain_from_options_and_mesh_config_file(tmp_path: Path) -> None:
    r = pki.root()
    leaf = pki.workload(r, "spiffe://corp.example/ns/a/sa/b", not_after=NOW + 2 * HOUR)
    path = pki.write_text(tmp_path / "w.pem", pki.pem(leaf, r))
    by_default = json.loads(certs(str(path), "--now", NOW_ARG, "-o", "json").stdout)
    assert [(f["code"], f["level"]) for f in by_default["findings"]] == [("CE403", "warning")]
    ok = certs(str(path), "--now", NOW_ARG, "--trust-domain", "corp.example")
    assert ok.returncode == 0 and "no certificate findings" in ok.stdout
    alias = certs(str(path), "--now", NOW_ARG, "--trust-domain-alias", "corp.example")
    assert alias.returncode == 0
    mesh = pki.write_text(tmp_path / "mesh.yaml", "trustDomain: other.example\n")
    strict = json.loads(
        certs(str(path), "--now", NOW_ARG, "-o", "json", "--mesh-config", str(mesh)).stdout
    )
    assert [(f["code"], f["level"]) for f in strict["findings"]] == [("CE403", "error")]


def test_json_follows_the_certificate_contract(tmp_path: Path) -> None:
    sc = SCENARIOS["missing_intermediate"](tmp_path)
    doc = json.loads(certs(*sc.args, "--now", NOW_ARG, "-o", "json").stdout)
    assert set(doc) >= {"certificates", "findings"}
    for c in doc["certificates"]:
        assert set(c) >= CONTRACT_FIELDS
        assert isinstance(c["chain"], list) and c["chain"][0] == c["fingerprint_sha256"]
    leaf = next(c for c in doc["certificates"] if c["kind"] == "workload")
    assert leaf["spiffe_id"] == "spiffe://cluster.local/ns/default/sa/default"
    assert leaf["trust_domain"] == "cluster.local"
    assert leaf["chain_status"] == "incomplete"
    (finding,) = doc["findings"]
    assert finding["code"] == "CE202"
    assert finding["subject"] == {"kind": "Proxy", "namespace": "default", "name": "web-1"}
    assert finding["fix"].endswith(".")


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("MTLS_DOCTOR_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"missing golden file {path}; run with MTLS_DOCTOR_UPDATE_GOLDEN=1"
    assert text == path.read_text()


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_golden_rendering_of_real_dumps(fmt: str) -> None:
    run = certs(
        "secret-dumps/spire_sds_config_dump.json",
        "secret-dumps/hotelreservation-geo_trimmed_config_dump.json",
        "pem/samples-certs/workload-foo-root-certs.pem",
        "--now",
        "2024-10-27T22:00:00Z",
        "-o",
        fmt,
        cwd=FIXTURES,
    )
    assert run.returncode == 1, run.stderr
    _golden(f"certs.{fmt}", run.stdout)


def test_expiring_root_and_leaf_are_both_reported(tmp_path: Path) -> None:
    sc = SCENARIOS["expiring_soon"](tmp_path)
    doc = json.loads(certs(*sc.args, "--now", NOW_ARG, "-o", "json").stdout)
    expiring = {(f["code"], f["message"].split(" ")[0]) for f in doc["findings"]}
    assert expiring == {("CE103", "root"), ("CE103", "workload")}
    assert {c["kind"] for c in doc["certificates"] if c["expires_soon"]} == {"root", "workload"}
