"""Lab certificates have Istio's shape, and private keys never leave 0600 files in 0700 dirs."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

from mtls_doctor.lab.pki import LabPki

ID = "spiffe://cluster.local/ns/echo/sa/default"


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_workload_certificate_is_istio_shaped(tmp_path: Path) -> None:
    pki = LabPki(tmp_path)
    files = pki.workload("server", ID, "mesh", expired=False)
    cert = _load(tmp_path / files.cert)
    assert len(cert.subject) == 0
    san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    assert san.critical
    assert san.value.get_values_for_type(x509.UniformResourceIdentifier) == [ID]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    root = _load(tmp_path / "certs/root-mesh.crt")
    assert cert.issuer == root.subject
    cert.verify_directly_issued_by(root)
    now = dt.datetime.now(dt.UTC)
    assert cert.not_valid_before_utc < now < cert.not_valid_after_utc


def test_expired_variant_and_distinct_roots(tmp_path: Path) -> None:
    pki = LabPki(tmp_path)
    expired = _load(tmp_path / pki.workload("a", ID, "mesh", expired=True).cert)
    assert expired.not_valid_after_utc < dt.datetime.now(dt.UTC)
    other = _load(tmp_path / pki.workload("b", ID, "cluster2-root", expired=False).cert)
    assert other.issuer != expired.issuer
    bundle = (tmp_path / pki.bundle("both", ["mesh", "cluster2-root", "mesh"])).read_bytes()
    assert bundle.count(b"BEGIN CERTIFICATE") == 2


def test_private_keys_are_private(tmp_path: Path) -> None:
    pki = LabPki(tmp_path / "lab")
    files = pki.workload("client", ID, "mesh", expired=False)
    app = pki.app_server("echo.echo.svc.cluster.local")
    assert stat.S_IMODE((tmp_path / "lab/certs").stat().st_mode) == 0o700
    for key in (files.key, app.key):
        assert stat.S_IMODE((tmp_path / "lab" / key).stat().st_mode) == 0o600
    # CA keys stay in memory: no key file besides the two issued ones.
    keys = sorted(p.name for p in (tmp_path / "lab/certs").glob("*.key"))
    assert keys == ["app.key", "client.key"]
