"""Chains against the roots that came with them, key/certificate pairs, and plug-in CA files."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mtls_doctor.certs import codes
from mtls_doctor.certs.chain import ChainResult, judge_chain
from mtls_doctor.certs.check_validity import describe
from mtls_doctor.certs.model import Bundle, CertRecord, KeyRecord
from mtls_doctor.checks.finding import Finding

CA_BUNDLES = ("cacerts", "istio-ca-secret")


def _short(fp: str) -> str:
    return fp[:16]


def _name(cert: CertRecord) -> str:
    return cert.facts.subject or cert.facts.spiffe_id or f"serial {cert.facts.serial}"


def judge_bundle(bundle: Bundle) -> list[ChainResult]:
    """Each presented chain of the bundle against all anchors that came with it."""
    anchors = [c for a in bundle.anchors for c in a.certs]
    issuing = bundle.kind in CA_BUNDLES
    return [judge_chain(ch.name, ch.certs, anchors, issuing_ca=issuing) for ch in bundle.chains]


def chain_findings(bundle: Bundle, results: list[ChainResult]) -> Iterator[Finding]:
    for r in results:
        where: dict[str, Any] = {"origin": r.leaf.origin, "cluster": bundle.cluster}
        chain = r.name
        res = r.result
        last = res.path[-1]
        in_ca = bundle.kind in CA_BUNDLES
        reason: str | None = None
        if res.status == "untrusted-root" and res.root is not None:
            roots = ", ".join(sorted(_short(f) for f in bundle.anchor_fingerprints))
            reason = (
                f"it ends at root {_name(res.root)} ({_short(res.root.fingerprint)}), "
                f"which is not the root given ({roots})"
            )
        elif res.status == "bad-signature" and res.bad_link is not None:
            cert, issuer = res.bad_link
            reason = (
                f"{_name(cert)} names issuer {issuer.facts.subject}, but the signature does "
                f"not verify with the key of {issuer.source} (same name, different key)"
            )
        if reason is not None:
            if in_ca:
                yield codes.CA_NOT_SIGNED_BY_ROOT.finding(
                    bundle.subject,
                    **where,
                    source=r.leaf.source,
                    where=bundle.label,
                    reason=reason,
                )
            else:
                yield codes.CHAIN_UNTRUSTED.finding(
                    bundle.subject, **where, chain=chain, where=bundle.label, reason=reason
                )
        elif res.status == "incomplete":
            yield codes.CHAIN_MISSING_INTERMEDIATE.finding(
                bundle.subject,
                **where,
                chain=chain,
                where=bundle.label,
                stops_at=_name(last),
                issuer=res.missing_issuer or "?",
            )
        if r.order_problem:
            yield codes.CHAIN_WRONG_ORDER.finding(
                bundle.subject, **where, chain=chain, where=bundle.label, reason=r.order_problem
            )
        for p in r.ca_problems:
            yield codes.CA_NOT_A_CA.finding(
                bundle.subject,
                origin=p.cert.origin,
                cluster=bundle.cluster,
                what=describe(p.cert),
                source=p.cert.source,
                reason=p.reason,
            )
        for q in r.pathlen_problems:
            yield codes.CA_PATH_LENGTH.finding(
                bundle.subject,
                origin=q.cert.origin,
                cluster=bundle.cluster,
                source=q.cert.source,
                limit=q.limit,
                below=q.below,
                where=bundle.label,
            )


def _pairs(bundle: Bundle) -> Iterator[tuple[KeyRecord, CertRecord]]:
    """(key, certificate it must match) for every key whose partner the bundle names."""
    partner = {"ca-key.pem": "ca-cert.pem", "tls.key": "tls.crt", "key.pem": "cert-chain.pem"}
    for key in bundle.keys:
        cert_member = partner.get(key.member)
        certs = bundle.member(cert_member) if cert_member else bundle.member(key.member)
        if certs:
            yield key, certs[0]


def key_findings(bundle: Bundle) -> Iterator[Finding]:
    for key, cert in _pairs(bundle):
        if key.spki_sha256 is None:
            continue
        if key.spki_sha256 != cert.facts.spki_sha256:
            yield codes.KEY_MISMATCH.finding(
                bundle.subject,
                origin=key.origin,
                cluster=bundle.cluster,
                key=key.source,
                source=cert.source,
            )


def plugin_ca_findings(bundle: Bundle) -> Iterator[Finding]:
    """The `cacerts` (and `istio-ca-secret`) rules that chain judgement does not cover."""
    if bundle.kind not in CA_BUNDLES:
        return
    where: dict[str, Any] = {"origin": bundle.origin, "cluster": bundle.cluster}
    if bundle.missing:
        yield codes.CA_MEMBER_MISSING.finding(
            bundle.subject, **where, where=bundle.label, members=", ".join(bundle.missing)
        )
    ca = bundle.member("ca-cert.pem")
    chain = bundle.member("cert-chain.pem")
    roots = bundle.member("root-cert.pem")
    if ca:
        f = ca[0].facts
        if not f.is_ca:
            yield codes.CA_NOT_A_CA.finding(
                bundle.subject,
                origin=ca[0].origin,
                cluster=bundle.cluster,
                what="CA certificate",
                source=ca[0].source,
                reason="it lacks basicConstraints CA:TRUE",
            )
        elif f.key_cert_sign is False:
            yield codes.CA_NOT_A_CA.finding(
                bundle.subject,
                origin=ca[0].origin,
                cluster=bundle.cluster,
                what="CA certificate",
                source=ca[0].source,
                reason="its keyUsage lacks keyCertSign",
            )
        if len(ca) > 1:
            yield codes.CA_MIXED_UP.finding(
                bundle.subject,
                **where,
                where=bundle.label,
                reason=f"ca-cert.pem holds {len(ca)} certificates; it must hold only the "
                "signing CA (its issuers belong in cert-chain.pem)",
            )
    for r in roots:
        if not r.facts.self_signed:
            yield codes.CA_MIXED_UP.finding(
                bundle.subject,
                **where,
                where=bundle.label,
                reason=f"root-cert.pem holds {_name(r)}, which is not a self-signed root "
                f"(issued by {r.facts.issuer})",
            )
    if ca and chain and chain[0].fingerprint != ca[0].fingerprint:
        first = chain[0]
        what = "the root" if first.facts.self_signed else _name(first)
        yield codes.CA_MIXED_UP.finding(
            bundle.subject,
            **where,
            where=bundle.label,
            reason=f"cert-chain.pem starts with {what}, not with ca-cert.pem ({_name(ca[0])})",
        )
    if (
        ca
        and roots
        and ca[0].facts.self_signed
        and bundle.kind == "cacerts"
        and (ca[0].fingerprint not in {r.fingerprint for r in roots})
    ):
        yield codes.CA_MIXED_UP.finding(
            bundle.subject,
            **where,
            where=bundle.label,
            reason="ca-cert.pem is a self-signed root that is not the one in root-cert.pem",
        )
