"""Validity in time and lifecycle: expired, not yet valid, expiring, long TTL, wildcards."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mtls_doctor.certs import codes
from mtls_doctor.certs.chain import find_leaf
from mtls_doctor.certs.model import Bundle, CertRecord
from mtls_doctor.certs.policy import CheckPolicy, human, iso
from mtls_doctor.checks.finding import Finding

_WORKLOAD_BUNDLES = ("proxy", "workload")


def describe(cert: CertRecord) -> str:
    kind = cert.facts.kind
    return {
        "root": "root certificate",
        "intermediate": "intermediate CA certificate",
        "workload": "workload certificate",
    }.get(kind, "certificate")


def validity_findings(bundle: Bundle, policy: CheckPolicy) -> Iterator[Finding]:
    seen: set[str] = set()
    now = policy.now
    for cert in bundle.certificates:
        if cert.fingerprint in seen:
            continue
        seen.add(cert.fingerprint)
        f = cert.facts
        common: dict[str, Any] = {"what": describe(cert), "source": cert.source, "now": iso(now)}
        where: dict[str, Any] = {"origin": cert.origin, "cluster": bundle.cluster}
        if f.not_after < now:
            yield codes.CERT_EXPIRED.finding(
                bundle.subject,
                **where,
                **common,
                not_after=iso(f.not_after),
                ago=human(now - f.not_after),
            )
        elif f.not_before > now:
            yield codes.CERT_NOT_YET_VALID.finding(
                bundle.subject,
                **where,
                **common,
                not_before=iso(f.not_before),
                ahead=human(f.not_before - now),
            )
        else:
            margin = policy.margin_for(f.kind, f.not_after - f.not_before)
            left = f.not_after - now
            if left <= margin:
                yield codes.CERT_EXPIRING.finding(
                    bundle.subject,
                    **where,
                    **common,
                    not_after=iso(f.not_after),
                    left=human(left),
                    margin=human(margin),
                )


def presented_workload_leaves(bundle: Bundle) -> Iterator[CertRecord]:
    """Leaf (non-CA) certificates a proxy or a workload presents as its identity."""
    if bundle.kind not in _WORKLOAD_BUNDLES:
        return
    for chain in bundle.chains:
        if chain.certs:
            leaf = find_leaf(chain.certs)
            if leaf.facts.kind in ("workload", "leaf"):
                yield leaf


def lifecycle_findings(bundle: Bundle, policy: CheckPolicy) -> Iterator[Finding]:
    seen: set[str] = set()
    presented = {c.fingerprint for c in presented_workload_leaves(bundle)}
    for cert in bundle.certificates:
        f = cert.facts
        if cert.fingerprint in seen or f.is_ca:
            continue
        seen.add(cert.fingerprint)
        is_workload = f.kind == "workload" or cert.fingerprint in presented
        if not is_workload:
            continue
        where: dict[str, Any] = {"origin": cert.origin, "cluster": bundle.cluster}
        ttl = f.not_after - f.not_before
        if f.kind == "workload" and ttl > policy.max_workload_ttl:
            yield codes.WORKLOAD_TTL.finding(
                bundle.subject,
                **where,
                source=cert.source,
                ttl=human(ttl),
                limit=human(policy.max_workload_ttl),
            )
        wild = [n for n in (*f.dns_sans, *f.uri_sans) if "*" in n]
        if wild:
            yield codes.WILDCARD_WORKLOAD.finding(
                bundle.subject, **where, source=cert.source, name=wild[0]
            )
