"""Run every certificate check over an inventory and describe each certificate for output."""

from __future__ import annotations

from dataclasses import dataclass

from mtls_doctor.certs.chain import build_path
from mtls_doctor.certs.check_chains import (
    chain_findings,
    judge_bundle,
    key_findings,
    plugin_ca_findings,
)
from mtls_doctor.certs.check_identity import identity_findings
from mtls_doctor.certs.check_roots import root_findings
from mtls_doctor.certs.check_validity import lifecycle_findings, validity_findings
from mtls_doctor.certs.model import Bundle, CertInventory, CertRecord
from mtls_doctor.certs.policy import CheckPolicy, iso
from mtls_doctor.checks.finding import LEVEL_RANK, Finding
from mtls_doctor.sources.problems import InputProblem


@dataclass(frozen=True, slots=True)
class CertView:
    """One certificate occurrence as the report shows it (JSON field names per DESIGN.md)."""

    source: str
    subject: str
    issuer: str
    serial: str
    sans: tuple[str, ...]
    spiffe_id: str | None
    trust_domain: str | None
    not_before: str
    not_after: str
    expired: bool
    not_yet_valid: bool
    expires_soon: bool  # valid now, but within the margin of its kind
    is_ca: bool
    chain: tuple[str, ...]  # fingerprints from this certificate up to where its path ends
    chain_status: str
    fingerprint_sha256: str
    kind: str  # root, intermediate, workload, leaf
    cluster: str
    bundle: str
    bundle_kind: str
    member: str
    namespace: str | None
    pod: str | None
    proxy: str | None
    path_length: int | None
    key_cert_sign: bool | None


@dataclass(frozen=True, slots=True)
class CertReport:
    certificates: tuple[CertView, ...]
    findings: tuple[Finding, ...]
    problems: tuple[InputProblem, ...]


def _view(bundle: Bundle, cert: CertRecord, policy: CheckPolicy) -> CertView:
    f = cert.facts
    anchors = [c for a in bundle.anchors for c in a.certs]
    pool = list(bundle.certificates)
    path = build_path(cert, pool, anchors)
    return CertView(
        source=cert.source,
        subject=f.subject,
        issuer=f.issuer,
        serial=f.serial,
        sans=f.sans,
        spiffe_id=f.spiffe_id,
        trust_domain=f.trust_domain,
        not_before=iso(f.not_before),
        not_after=iso(f.not_after),
        expired=f.not_after < policy.now,
        not_yet_valid=f.not_before > policy.now,
        expires_soon=policy.now
        <= f.not_after
        <= policy.now + policy.margin_for(f.kind, f.not_after - f.not_before),
        is_ca=bool(f.is_ca),
        chain=tuple(c.fingerprint for c in path.path),
        chain_status=path.status,
        fingerprint_sha256=f.fingerprint_sha256,
        kind=f.kind,
        cluster=cert.cluster,
        bundle=bundle.label,
        bundle_kind=bundle.kind,
        member=cert.member,
        namespace=bundle.owner.namespace,
        pod=bundle.owner.pod,
        proxy=bundle.owner.proxy,
        path_length=f.path_length,
        key_cert_sign=f.key_cert_sign,
    )


def check_certificates(inventory: CertInventory, policy: CheckPolicy) -> CertReport:
    """Every CE finding for the inventory, and a view of every certificate in it."""
    findings: list[Finding] = []
    views: list[CertView] = []
    for bundle in inventory.bundles:
        mesh = inventory.mesh_for(bundle.cluster)
        views.extend(_view(bundle, c, policy) for c in bundle.certificates)
        findings.extend(validity_findings(bundle, policy))
        findings.extend(lifecycle_findings(bundle, policy))
        findings.extend(chain_findings(bundle, judge_bundle(bundle)))
        findings.extend(key_findings(bundle))
        findings.extend(plugin_ca_findings(bundle))
        findings.extend(identity_findings(bundle, mesh))
    findings.extend(root_findings(inventory.bundles))
    unique = list(dict.fromkeys(findings))
    unique.sort(key=lambda x: (-LEVEL_RANK[x.level], x.code, str(x.subject), x.message))
    return CertReport(tuple(views), tuple(unique), inventory.problems)
