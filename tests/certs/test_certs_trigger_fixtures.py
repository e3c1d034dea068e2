"""The stored trigger fixtures (tests/fixtures/secrets/triggers/) still give exactly the findings
their builders promise, judged at the builders' clock. tests/checks/triggers.py points at them."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtls_doctor.certs import CERT_SUFFIXES, CheckPolicy, check_certificates, read_certificates
from mtls_doctor.checks.finding import Finding
from mtls_doctor.sources.paths import expand
from tests.certs.cert_scenarios import SCENARIOS
from tests.certs.make_trigger_fixtures import STORED, TRIGGERS
from tests.certs.pki_factory import NOW


def certificate_findings(path: Path) -> list[Finding]:
    """The runner proposed for tests/checks/triggers.py: the certs reader and checks at the
    clock the fixtures were made for."""
    files, _ = expand([str(path)], CERT_SUFFIXES)
    return list(check_certificates(read_certificates(files), CheckPolicy.at(NOW)).findings)


@pytest.mark.parametrize("name", STORED)
def test_stored_fixture_gives_its_findings(name: str, tmp_path: Path) -> None:
    expected = SCENARIOS[name](tmp_path).expect
    got = {(f.code, f.subject.name) for f in certificate_findings(TRIGGERS / name)}
    assert got == expected


def test_stored_fixtures_cover_every_code() -> None:
    from mtls_doctor.certs.codes import CODES

    covered = {f.code for name in STORED for f in certificate_findings(TRIGGERS / name)}
    assert covered == {c.code for c in CODES}
