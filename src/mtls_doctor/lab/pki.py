"""Lab certificates: one CA per root name, Istio-shaped workload certificates, an app certificate.

Workload certificates look like istiod's: empty subject, one critical URI SAN (the SPIFFE
identity), EKU serverAuth+clientAuth, digitalSignature+keyEncipherment. Keys are ECDSA P-256
(istiod can issue those too) because RSA key generation would dominate a replay's run time.
Every key is written with mode 0600 into a directory with mode 0700.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mtls_doctor.record import Record

_VALIDITY = dt.timedelta(hours=24)


class CertFiles(Record):
    """Paths relative to the lab directory (Envoy runs with the lab directory as its cwd)."""

    cert: str
    key: str


class Authority:
    """A self-signed lab root CA."""

    def __init__(self, name: str, org: str) -> None:
        self.name = name
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                x509.NameAttribute(NameOID.COMMON_NAME, f"mtls-doctor lab root {name}"),
            ]
        )
        ski = x509.SubjectKeyIdentifier.from_public_key(self.key.public_key())
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=3))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .sign(self.key, hashes.SHA256())
        )

    def issue(
        self,
        sans: list[x509.GeneralName],
        *,
        expired: bool = False,
        subject: x509.Name | None = None,
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        if expired:
            not_before, not_after = now - dt.timedelta(days=2), now - dt.timedelta(days=1)
        else:
            not_before, not_after = now - dt.timedelta(minutes=5), now + _VALIDITY
        name = subject if subject is not None else x509.Name([])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            # An empty subject makes the SAN extension critical (RFC 5280 4.2.1.6), as istiod does.
            .add_extension(x509.SubjectAlternativeName(sans), critical=len(name) == 0)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=True,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        return cert, key


def make_private_dir(path: Path) -> Path:
    """Create `path` (and parents) and make it mode 0700."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def write_private_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """Write a key so that it is never readable by others, not even for a moment."""
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    path.chmod(0o600)


class LabPki:
    """The certificates one replay needs, written under `<lab dir>/certs` (mode 0700)."""

    def __init__(self, lab_dir: Path) -> None:
        self.lab_dir = lab_dir
        self.certs_dir = make_private_dir(lab_dir / "certs")
        self._cas: dict[str, Authority] = {}

    def _rel(self, path: Path) -> str:
        return str(path.relative_to(self.lab_dir))

    def authority(self, name: str) -> Authority:
        if name not in self._cas:
            ca = Authority(name, org=f"{name}.lab")
            self._cas[name] = ca
            (self.certs_dir / f"root-{_safe(name)}.crt").write_bytes(_pem(ca.cert))
        return self._cas[name]

    def bundle(self, label: str, roots: list[str]) -> str:
        """A root bundle `<label>.crt` holding the named roots, in order; its relative path."""
        unique = list(dict.fromkeys(roots))
        path = self.certs_dir / f"{label}.crt"
        path.write_bytes(b"".join(_pem(self.authority(r).cert) for r in unique))
        return self._rel(path)

    def workload(self, label: str, identity: str, root: str, *, expired: bool) -> CertFiles:
        """An Istio-shaped workload certificate for `identity`, signed by root `root`."""
        cert, key = self.authority(root).issue(
            [x509.UniformResourceIdentifier(identity)], expired=expired
        )
        return self._write(label, cert, key)

    def app_server(self, host: str) -> CertFiles:
        """The app's own TLS certificate (not a mesh certificate): CN and DNS SAN = host."""
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
        cert, key = self.authority("app").issue([x509.DNSName(host)], subject=subject)
        return self._write("app", cert, key)

    def _write(
        self, label: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
    ) -> CertFiles:
        cert_path = self.certs_dir / f"{label}.crt"
        key_path = self.certs_dir / f"{label}.key"
        cert_path.write_bytes(_pem(cert))
        write_private_key(key_path, key)
        return CertFiles(cert=self._rel(cert_path), key=self._rel(key_path))


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
