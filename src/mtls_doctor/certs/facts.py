"""Facts read from one X.509 certificate: names, SANs, SPIFFE identity, validity, CA flags.

Pure functions over `cryptography` objects; nothing here decides whether a fact is a problem.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import warnings
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import ExtensionOID

# spiffe://<trust domain>/<path>: trust domain is lower-case letters, digits, '.', '-', '_';
# the path is segments of letters, digits, '.', '-', '_' (no empty, '.' or '..' segments).
_TRUST_DOMAIN = re.compile(r"^[a-z0-9._-]+$")
_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass(frozen=True, slots=True)
class SpiffeId:
    """A parsed `spiffe://` URI. `problem` is None when the ID follows the SPIFFE spec."""

    uri: str
    trust_domain: str | None
    path: str
    problem: str | None

    @property
    def istio_namespace(self) -> str | None:
        parts = self.path.strip("/").split("/")
        return parts[1] if len(parts) == 4 and parts[0] == "ns" and parts[2] == "sa" else None

    @property
    def istio_service_account(self) -> str | None:
        parts = self.path.strip("/").split("/")
        return parts[3] if len(parts) == 4 and parts[0] == "ns" and parts[2] == "sa" else None


def parse_spiffe_id(uri: str) -> SpiffeId:
    """Parse a URI SAN that claims the `spiffe` scheme, naming what is wrong with it, if any."""
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme.lower() != "spiffe":
        return SpiffeId(uri, None, "", "not a spiffe:// URI")
    if scheme != "spiffe":
        problem: str | None = "the scheme must be lower-case `spiffe`"
    else:
        problem = None
    authority, slash, path = rest.partition("/")
    path = slash + path
    td: str | None = authority or None
    if not authority:
        return SpiffeId(uri, None, path, "empty trust domain")
    if "@" in authority:
        problem = problem or "user info is not allowed in a SPIFFE ID"
    if ":" in authority:
        problem = problem or "a port is not allowed in a SPIFFE ID"
    if not _TRUST_DOMAIN.match(authority) and problem is None:
        problem = f"trust domain {authority!r} has characters other than a-z 0-9 . - _"
    if "?" in path or "#" in path:
        problem = problem or "query and fragment are not allowed in a SPIFFE ID"
    elif path:
        segments = path[1:].split("/")
        if path.endswith("/"):
            problem = problem or "the path must not end with '/'"
        elif any(s in ("", ".", "..") for s in segments):
            problem = problem or "the path has an empty, '.' or '..' segment"
        elif not all(_PATH_SEGMENT.match(s) for s in segments):
            problem = problem or "the path has characters other than A-Z a-z 0-9 . - _"
    return SpiffeId(uri, td, path, problem)


@dataclass(frozen=True, slots=True)
class CertFacts:
    """What a certificate says. `is_ca` is None when it has no basicConstraints extension."""

    subject: str
    issuer: str
    serial: str
    version: int
    sans: tuple[str, ...]
    uri_sans: tuple[str, ...]
    dns_sans: tuple[str, ...]
    spiffe: tuple[SpiffeId, ...]
    not_before: datetime
    not_after: datetime
    is_ca: bool | None
    path_length: int | None
    key_cert_sign: bool | None  # None: no keyUsage extension
    self_issued: bool  # subject == issuer
    self_signed: bool  # self-issued and its signature verifies with its own key
    fingerprint_sha256: str
    spki_sha256: str
    subject_key_id: str | None
    authority_key_id: str | None

    @property
    def spiffe_id(self) -> str | None:
        return self.spiffe[0].uri if self.spiffe else None

    @property
    def trust_domain(self) -> str | None:
        return self.spiffe[0].trust_domain if self.spiffe else None

    @property
    def lifetime_seconds(self) -> float:
        return (self.not_after - self.not_before).total_seconds()

    @property
    def kind(self) -> str:
        """root, intermediate, workload (a leaf with a SPIFFE ID) or leaf."""
        if self.is_ca or (self.is_ca is None and self.key_cert_sign):
            return "root" if self.self_signed else "intermediate"
        if self.is_ca is None and self.self_signed and not self.sans:
            return "root"  # an old-style (no basicConstraints) self-signed anchor
        return "workload" if self.spiffe else "leaf"


def spki_fingerprint(key: PublicKeyTypes) -> str:
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def _name(name: x509.Name) -> str:
    try:
        return name.rfc4514_string()
    except ValueError:  # pragma: no cover - undecodable attribute
        return "<unprintable name>"


def _sans(cert: x509.Certificate) -> tuple[list[str], list[str], list[str]]:
    try:
        ext = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    except x509.ExtensionNotFound:
        return [], [], []
    san = ext.value
    assert isinstance(san, x509.SubjectAlternativeName)
    uris = [str(u) for u in san.get_values_for_type(x509.UniformResourceIdentifier)]
    dns = [str(d) for d in san.get_values_for_type(x509.DNSName)]
    out = [f"URI:{u}" for u in uris] + [f"DNS:{d}" for d in dns]
    out += [f"IP:{ip}" for ip in san.get_values_for_type(x509.IPAddress)]
    out += [f"email:{e}" for e in san.get_values_for_type(x509.RFC822Name)]
    return out, uris, dns


def _basic_constraints(cert: x509.Certificate) -> tuple[bool | None, int | None]:
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None, None
    return bc.ca, bc.path_length


def _key_cert_sign(cert: x509.Certificate) -> bool | None:
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    return bool(ku.key_cert_sign)


def _key_ids(cert: x509.Certificate) -> tuple[str | None, str | None]:
    ski: str | None = None
    aki: str | None = None
    with contextlib.suppress(x509.ExtensionNotFound):
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest.hex()
    try:
        ident = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        aki = ident.key_identifier.hex() if ident.key_identifier else None
    except x509.ExtensionNotFound:
        pass
    return ski, aki


def check_signature(cert: x509.Certificate, issuer: x509.Certificate) -> bool | None:
    """True when `issuer`'s subject is `cert`'s issuer and its key verifies `cert`'s signature;
    None when the algorithm or key type is one `cryptography` cannot check.
    """
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except InvalidSignature:
        return False
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None
    return True


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    return check_signature(cert, issuer) is True


def read_facts(cert: x509.Certificate) -> CertFacts:
    """Every fact the checks use, read once. Malformed extensions read as absent."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. a non-positive serial: read it all the same
        return _read_facts(cert)


def _read_facts(cert: x509.Certificate) -> CertFacts:
    try:
        sans, uris, dns = _sans(cert)
    except (ValueError, x509.DuplicateExtension):
        sans, uris, dns = [], [], []
    try:
        is_ca, path_length = _basic_constraints(cert)
        key_cert_sign = _key_cert_sign(cert)
        ski, aki = _key_ids(cert)
    except (ValueError, x509.DuplicateExtension):
        is_ca, path_length, key_cert_sign, ski, aki = None, None, None, None, None
    subject, issuer = _name(cert.subject), _name(cert.issuer)
    self_issued = cert.subject == cert.issuer
    spiffe = tuple(parse_spiffe_id(u) for u in uris if u.lower().startswith("spiffe:"))
    try:
        spki = spki_fingerprint(cert.public_key())
    except (ValueError, TypeError):  # pragma: no cover - unsupported key type
        spki = ""
    return CertFacts(
        subject=subject,
        issuer=issuer,
        serial=format(cert.serial_number, "x"),
        version=cert.version.value + 1,
        sans=tuple(sans),
        uri_sans=tuple(uris),
        dns_sans=tuple(dns),
        spiffe=spiffe,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        is_ca=is_ca,
        path_length=path_length,
        key_cert_sign=key_cert_sign,
        self_issued=self_issued,
        self_signed=self_issued and check_signature(cert, cert) is not False,
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
        spki_sha256=spki,
        subject_key_id=ski,
        authority_key_id=aki,
    )
