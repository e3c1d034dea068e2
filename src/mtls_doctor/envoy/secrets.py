"""SDS secrets of a dump -> `SecretInfo` (certificate facts only; private keys are never read)."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any, Literal

from cryptography import x509

from mtls_doctor.envoy import fields as f
from mtls_doctor.envoy.records import SecretInfo

_PEM_END = b"-----END CERTIFICATE-----"


def _data_source_bytes(ds: object) -> bytes | None:
    raw = f.get(ds, "inline_bytes")
    if isinstance(raw, str):
        try:
            return base64.b64decode(raw, validate=False)
        except (binascii.Error, ValueError):
            return None
    s = f.get(ds, "inline_string")
    if isinstance(s, str):
        return s.encode()
    return None


def _load_pems(data: bytes) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    for block in data.split(_PEM_END):
        if b"-----BEGIN CERTIFICATE-----" not in block:
            continue
        pem = block[block.index(b"-----BEGIN CERTIFICATE-----") :] + _PEM_END + b"\n"
        try:
            certs.append(x509.load_pem_x509_certificate(pem))
        except ValueError:
            continue
    return certs


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sans(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    out: list[str] = [str(v) for v in ext.get_values_for_type(x509.UniformResourceIdentifier)]
    out.extend(str(v) for v in ext.get_values_for_type(x509.DNSName))
    out.extend(str(v) for v in ext.get_values_for_type(x509.IPAddress))
    return tuple(out)


def read_secret(entry: dict[str, Any], status: Literal["ACTIVE", "WARMING"]) -> SecretInfo:
    secret = f.obj(entry, "secret")
    name = f.text(entry, "name") or f.text(secret, "name") or ""
    kind: Literal["Cert Chain", "CA", "Unknown"] = "Unknown"
    data: bytes | None = None
    if f.get(secret, "tls_certificate") is not None:
        kind = "Cert Chain"
        data = _data_source_bytes(f.obj(f.obj(secret, "tls_certificate"), "certificate_chain"))
    elif f.get(secret, "validation_context") is not None:
        kind = "CA"
        data = _data_source_bytes(f.obj(f.obj(secret, "validation_context"), "trusted_ca"))
    if not data:
        return SecretInfo(name=name, kind=kind, status=status)
    certs = _load_pems(data)
    if not certs:
        return SecretInfo(name=name, kind=kind, status=status, error="no readable certificate")
    # istioctl reports the first certificate of the chain (the leaf, or the first root)
    first = certs[0]
    return SecretInfo(
        name=name,
        kind=kind,
        status=status,
        serial=f"{first.serial_number:032x}",
        not_before=_iso(first.not_valid_before_utc),
        not_after=_iso(first.not_valid_after_utc),
        sans=_sans(first),
        subject=first.subject.rfc4514_string(),
        issuer=first.issuer.rfc4514_string(),
        certificates=len(certs),
    )


def read_secrets(section: dict[str, Any]) -> list[SecretInfo]:
    out: list[SecretInfo] = []
    for entry in f.arr(section, "static_secrets"):
        out.append(read_secret(entry, "ACTIVE"))
    for entry in f.arr(section, "dynamic_active_secrets"):
        out.append(read_secret(entry, "ACTIVE"))
    for entry in f.arr(section, "dynamic_warming_secrets"):
        out.append(read_secret(entry, "WARMING"))
    return out


def valid_at(secret: SecretInfo, now: datetime) -> bool | None:
    """istioctl's VALID CERT: now is strictly between notBefore and notAfter."""
    if secret.not_before is None or secret.not_after is None:
        return None
    nb = datetime.strptime(secret.not_before, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    na = datetime.strptime(secret.not_after, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return nb < now < na
