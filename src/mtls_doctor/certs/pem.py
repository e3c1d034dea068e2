"""Split PEM text into certificates and private keys.

Certificates are parsed with `cryptography`. A private key is loaded only to learn its public
key's fingerprint (for key/certificate matching); the key object and its bytes are dropped at once
and never reach a record, a message or an output.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mtls_doctor.certs.facts import read_facts, spki_fingerprint
from mtls_doctor.certs.model import CertRecord, KeyRecord
from mtls_doctor.model.refs import Origin
from mtls_doctor.sources.problems import InputProblem

_BEGIN = re.compile(r"^-----BEGIN ([A-Z0-9 ]+)-----\s*$")
_END = re.compile(r"^-----END ([A-Z0-9 ]+)-----\s*$")
_KEY_LABELS = (
    "PRIVATE KEY",
    "RSA PRIVATE KEY",
    "EC PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "DSA PRIVATE KEY",
    "OPENSSH PRIVATE KEY",
)


def looks_like_pem(text: str) -> bool:
    return "-----BEGIN " in text


def is_key_label(label: str) -> bool:
    return label in _KEY_LABELS or label.endswith("PRIVATE KEY")


@dataclass(frozen=True, slots=True)
class Block:
    label: str
    line: int  # 1-based line of the BEGIN line within the text
    text: str  # the whole block, BEGIN to END (for keys: used once, then dropped)


def split_blocks(text: str) -> tuple[list[Block], list[tuple[int, str]]]:
    """PEM blocks in order, and (line, message) for blocks without an END line."""
    blocks: list[Block] = []
    broken: list[tuple[int, str]] = []
    label: str | None = None
    start = 0
    lines: list[str] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if label is None:
            m = _BEGIN.match(line)
            if m:
                label, start, lines = m.group(1), n, [line]
            continue
        m_begin = _BEGIN.match(line)
        if m_begin:
            broken.append((start, f"PEM block {label!r} has no END line"))
            label, start, lines = m_begin.group(1), n, [line]
            continue
        lines.append(line)
        m_end = _END.match(line)
        if m_end:
            if m_end.group(1) != label:
                broken.append(
                    (start, f"PEM block BEGIN {label!r} ends with END {m_end.group(1)!r}")
                )
            else:
                blocks.append(Block(label, start, "\n".join(lines) + "\n"))
            label = None
    if label is not None:
        broken.append((start, f"PEM block {label!r} has no END line"))
    return blocks, broken


@dataclass(frozen=True, slots=True)
class MemberRead:
    certs: tuple[CertRecord, ...]
    keys: tuple[KeyRecord, ...]
    problems: tuple[InputProblem, ...]


def read_member(
    text: str,
    *,
    cluster: str,
    member: str,
    origin: Origin,
    source: str,
    line_sources: bool,
) -> MemberRead:
    """Certificates and keys in one PEM text.

    `source` names the member (`file` or `file#secret/ns/name:key`); with `line_sources` each
    certificate's source is `file:line` (a PEM file), otherwise `source` plus `[index]` when the
    member holds more than one certificate.
    """
    blocks, broken = split_blocks(text)
    problems = [InputProblem(_at(origin, line, line_sources), msg) for line, msg in broken]
    parsed: list[tuple[Block, x509.Certificate]] = []
    keys: list[KeyRecord] = []
    for block in blocks:
        where = _at(origin, block.line, line_sources)
        if block.label in ("CERTIFICATE", "X509 CERTIFICATE"):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    cert = x509.load_pem_x509_certificate(block.text.encode("ascii", "replace"))
            except ValueError as exc:
                problems.append(InputProblem(where, f"unreadable certificate: {_reason(exc)}"))
                continue
            parsed.append((block, cert))
        elif is_key_label(block.label):
            key_source = f"{where}" if line_sources else source
            keys.append(_key_record(block, key_source, where, member))
    many = len(parsed) > 1
    certs: list[CertRecord] = []
    for index, (block, cert) in enumerate(parsed):
        where = _at(origin, block.line, line_sources)
        try:
            facts = read_facts(cert)
        except ValueError as exc:
            problems.append(InputProblem(where, f"unreadable certificate: {_reason(exc)}"))
            continue
        src = str(where) if line_sources else (f"{source}[{index}]" if many else source)
        certs.append(CertRecord(src, where, cluster, member, index, facts, cert))
    return MemberRead(tuple(certs), tuple(keys), tuple(problems))


def read_der(
    data: bytes, *, cluster: str, member: str, origin: Origin, source: str
) -> CertRecord | None:
    """A single DER certificate (a binary .crt/.der file), or None."""
    try:
        cert = x509.load_der_x509_certificate(data)
        facts = read_facts(cert)
    except ValueError:
        return None
    return CertRecord(source, origin, cluster, member, 0, facts, cert)


def _key_record(block: Block, source: str, origin: Origin, member: str) -> KeyRecord:
    if block.label == "OPENSSH PRIVATE KEY":
        return KeyRecord(source, origin, member, None, "OpenSSH key format")
    try:
        key = serialization.load_pem_private_key(block.text.encode("ascii", "replace"), None)
    except TypeError:
        return KeyRecord(source, origin, member, None, "encrypted private key")
    except (ValueError, Exception):  # unreadable or unsupported: say so without its content
        return KeyRecord(source, origin, member, None, "unreadable private key")
    try:
        fingerprint = spki_fingerprint(key.public_key())
    except (ValueError, TypeError):  # pragma: no cover - key type without SPKI
        return KeyRecord(source, origin, member, None, "unsupported private key type")
    finally:
        del key
    return KeyRecord(source, origin, member, fingerprint)


def _at(origin: Origin, line: int, line_sources: bool) -> Origin:
    return Origin(origin.file, line) if line_sources else origin


_BAD_BASE64 = re.compile(r"Invalid symbol (\d+), offset (\d+)")


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "Unable to load PEM file" in text:
        m = _BAD_BASE64.search(text)
        where = f" (byte {m.group(1)} at offset {m.group(2)})" if m else ""
        return f"the PEM body is not valid base64{where}"
    return text[:160]
