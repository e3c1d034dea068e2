"""Each failure the certificate checks know, made with real certificates, gives exactly its
findings (code, subject) — and a clean input gives none."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtls_doctor.certs import CERT_SUFFIXES, CheckPolicy, check_certificates, read_certificates
from mtls_doctor.certs.analyze import CertReport
from mtls_doctor.sources.paths import expand
from tests.certs.cert_scenarios import SCENARIOS
from tests.certs.pki_factory import NOW


def run(args: list[str]) -> CertReport:
    files, problems = expand(args, CERT_SUFFIXES)
    assert problems == []
    inventory = read_certificates(files)
    assert inventory.problems == ()
    return check_certificates(inventory, CheckPolicy.at(NOW))


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_gives_exactly_its_findings(name: str, tmp_path: Path) -> None:
    sc = SCENARIOS[name](tmp_path)
    report = run(sc.args)
    got = {(f.code, f.subject.name) for f in report.findings}
    assert got == sc.expect, "\n".join(
        f"{f.code} {f.subject}: {f.message}" for f in report.findings
    )
    for code, level in sc.levels.items():
        assert {f.level for f in report.findings if f.code == code} == {level}
