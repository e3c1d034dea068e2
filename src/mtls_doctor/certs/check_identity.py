"""SPIFFE identities: present, well formed, in an accepted trust domain, the proxy's own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mtls_doctor.certs import codes
from mtls_doctor.certs.check_validity import presented_workload_leaves
from mtls_doctor.certs.model import Bundle, CertRecord, MeshTrust
from mtls_doctor.checks.finding import Finding, Subject


def identity_findings(bundle: Bundle, mesh: MeshTrust) -> Iterator[Finding]:
    seen: set[str] = set()
    presented = list(presented_workload_leaves(bundle))
    for cert in presented:
        if not cert.facts.uri_sans:
            seen.add(cert.fingerprint)
            yield codes.SPIFFE_NO_URI.finding(
                bundle.subject, origin=cert.origin, cluster=bundle.cluster, source=cert.source
            )
    for cert in bundle.certificates:
        if cert.fingerprint in seen:
            continue
        seen.add(cert.fingerprint)
        yield from _spiffe_form(bundle, cert)
        yield from _trust_domain(bundle, cert, mesh)
    yield from _owner_identity(bundle, presented, mesh)


def _spiffe_form(bundle: Bundle, cert: CertRecord) -> Iterator[Finding]:
    where: dict[str, Any] = {"origin": cert.origin, "cluster": bundle.cluster}
    ids = cert.facts.spiffe
    for sid in ids:
        if sid.problem:
            yield codes.SPIFFE_MALFORMED.finding(
                bundle.subject, **where, source=cert.source, spiffe_id=sid.uri, reason=sid.problem
            )
    if len(ids) > 1:
        yield codes.SPIFFE_MALFORMED.finding(
            bundle.subject,
            **where,
            source=cert.source,
            spiffe_id=ids[1].uri,
            reason=f"a certificate must carry exactly one SPIFFE ID; it has {len(ids)}",
        )


def _trust_domain(bundle: Bundle, cert: CertRecord, mesh: MeshTrust) -> Iterator[Finding]:
    f = cert.facts
    if f.is_ca or not f.spiffe or f.spiffe[0].problem:
        return
    td = f.trust_domain
    federated = {a.trust_domain for a in bundle.anchors if a.trust_domain}
    if td is None or td in mesh.accepted or td in federated:
        return
    assumed = mesh.origin is None
    yield codes.SPIFFE_TRUST_DOMAIN.finding(
        bundle.subject,
        origin=cert.origin,
        cluster=bundle.cluster,
        level="warning" if assumed else None,
        source=cert.source,
        trust_domain=td,
        cluster_name=bundle.cluster,
        accepted=", ".join(repr(t) for t in mesh.accepted),
        assumed=" (the default; no mesh config was given)" if assumed else "",
    )


def _owner_identity(
    bundle: Bundle, presented: list[CertRecord], mesh: MeshTrust
) -> Iterator[Finding]:
    owner = bundle.owner
    if bundle.kind != "proxy" or not owner.namespace or not owner.service_account:
        return
    for cert in presented:
        sid = cert.facts.spiffe[0] if cert.facts.spiffe else None
        if sid is None or sid.problem:
            continue
        ns, sa = sid.istio_namespace, sid.istio_service_account
        if ns is None:
            continue  # not an Istio-form identity (e.g. a SPIRE path): nothing to compare
        if (ns, sa) != (owner.namespace, owner.service_account):
            yield mismatch_finding(
                bundle.subject,
                cert,
                expected=f"spiffe://{sid.trust_domain}/ns/{owner.namespace}/sa/"
                f"{owner.service_account}",
                who=f"proxy {owner.pod or owner.proxy}",
                basis="its bootstrap (pod namespace and service account)",
                cluster=bundle.cluster,
            )


def mismatch_finding(
    subject: Subject,
    cert: CertRecord,
    *,
    expected: str,
    who: str,
    basis: str,
    cluster: str | None = None,
) -> Finding:
    """CE404 for a presented certificate whose SPIFFE ID is not `expected` (used by the joins)."""
    return codes.SPIFFE_MISMATCH.finding(
        subject,
        origin=cert.origin,
        cluster=cluster or cert.cluster,
        who=who,
        spiffe_id=cert.facts.spiffe_id or "no SPIFFE ID",
        basis=basis,
        expected=expected,
    )
