"""Render a certificate report as JSON (DESIGN.md's certificate contract) or a text table.

Renderers decide nothing: every value comes from `CertReport`. No private key material ever
reaches a report, so none can reach its rendering.
"""

from __future__ import annotations

from typing import Any

import msgspec

from mtls_doctor.certs.analyze import CertReport, CertView
from mtls_doctor.report.findings_json import finding_json
from mtls_doctor.sources.problems import InputProblem


def certificate_json(v: CertView) -> dict[str, Any]:
    return {
        "source": v.source,
        "subject": v.subject,
        "issuer": v.issuer,
        "serial": v.serial,
        "sans": list(v.sans),
        "spiffe_id": v.spiffe_id,
        "trust_domain": v.trust_domain,
        "not_before": v.not_before,
        "not_after": v.not_after,
        "expired": v.expired,
        "is_ca": v.is_ca,
        "chain": list(v.chain),
        "chain_status": v.chain_status,
        "fingerprint_sha256": v.fingerprint_sha256,
        "kind": v.kind,
        "cluster": v.cluster,
        "not_yet_valid": v.not_yet_valid,
        "expires_soon": v.expires_soon,
        "bundle": v.bundle,
        "bundle_kind": v.bundle_kind,
        "member": v.member,
        "namespace": v.namespace,
        "pod": v.pod,
        "proxy": v.proxy,
        "path_length": v.path_length,
        "key_cert_sign": v.key_cert_sign,
    }


def problem_json(p: InputProblem) -> dict[str, Any]:
    return {"origin": str(p.origin), "level": p.level, "message": p.message}


def render_json(report: CertReport) -> str:
    doc = {
        "certificates": [certificate_json(v) for v in report.certificates],
        "findings": [finding_json(f) for f in report.findings],
        "problems": [problem_json(p) for p in report.problems],
    }
    return msgspec.json.format(msgspec.json.encode(doc), indent=2).decode()


def _state(v: CertView) -> str:
    if v.expired:
        return "EXPIRED"
    if v.not_yet_valid:
        return "NOT YET VALID"
    if v.expires_soon:
        return "expiring"
    return "valid"


def _identity(v: CertView) -> str:
    if v.spiffe_id:
        return v.spiffe_id
    if v.subject:
        return v.subject
    return ", ".join(v.sans) or "-"


_HEADERS = ("SOURCE", "KIND", "IDENTITY", "NOT AFTER", "STATE", "CHAIN", "SHA-256")


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def render_text(report: CertReport) -> str:
    lines: list[str] = []
    if report.certificates:
        rows: list[tuple[str, ...]] = [_HEADERS]
        rows.extend(
            (
                v.source,
                v.kind,
                _identity(v),
                v.not_after,
                _state(v),
                v.chain_status,
                v.fingerprint_sha256[:16],
            )
            for v in report.certificates
        )
        lines.extend(_table(rows))
    else:
        lines.append("no certificates found")
    lines.append("")
    if report.findings:
        for f in report.findings:
            lines.append(f"{f.level:<7} {f.code} {f.subject}: {f.message}")
            where = f"{f.origin}" + (f" [cluster {f.cluster}]" if f.cluster else "")
            lines.append(f"        at {where}")
            lines.append(f"        fix: {f.fix}")
    else:
        lines.append("no certificate findings")
    counts = {
        lvl: sum(1 for f in report.findings if f.level == lvl)
        for lvl in ("error", "warning", "info")
    }
    lines.append("")
    lines.append(
        f"{len(report.certificates)} certificate(s); {counts['error']} error(s), "
        f"{counts['warning']} warning(s), {counts['info']} info"
    )
    return "\n".join(lines) + "\n"
