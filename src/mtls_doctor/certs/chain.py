"""Build and judge certificate paths: leaf, order, missing intermediates, roots, CA constraints.

Signatures are checked with `cryptography` (`Certificate.verify_directly_issued_by`), one link at
a time, so a failure names the exact link that breaks. Pure functions; nothing here reads files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from mtls_doctor.certs.facts import signed_by
from mtls_doctor.certs.model import CertRecord

ChainStatus = Literal[
    "verified",  # reaches a trust anchor that came with it (or a root inside the chain)
    "untrusted-root",  # reaches a self-signed root that is not among the anchors given
    "bad-signature",  # an issuer with the right name is there, but its key did not sign
    "incomplete",  # the issuer of the last certificate is missing
    "no-anchor",  # no root came with it: nothing to verify against
]


@dataclass(frozen=True, slots=True)
class CaProblem:
    cert: CertRecord
    reason: str


@dataclass(frozen=True, slots=True)
class PathLenProblem:
    cert: CertRecord
    limit: int
    below: int  # intermediate CA certificates below it on the path


@dataclass(frozen=True, slots=True)
class PathResult:
    """The path from `path[0]` up, and what stopped it."""

    path: tuple[CertRecord, ...]
    status: ChainStatus
    root: CertRecord | None = None
    missing_issuer: str | None = None  # the issuer name nobody in the pool has
    bad_link: tuple[CertRecord, CertRecord] | None = None  # (cert, issuer whose key failed)


@dataclass(frozen=True, slots=True)
class ChainResult:
    """A presented chain judged against the anchors that came with it."""

    name: str
    given: tuple[CertRecord, ...]
    leaf: CertRecord
    result: PathResult
    order_problem: str | None
    ca_problems: tuple[CaProblem, ...]
    pathlen_problems: tuple[PathLenProblem, ...]


def _unique(certs: Sequence[CertRecord]) -> list[CertRecord]:
    seen: set[str] = set()
    out: list[CertRecord] = []
    for c in certs:
        if c.fingerprint not in seen:
            seen.add(c.fingerprint)
            out.append(c)
    return out


def build_path(
    start: CertRecord, pool: Sequence[CertRecord], anchors: Sequence[CertRecord]
) -> PathResult:
    """Follow issuers from `start` through `pool` and `anchors` until an anchor or a root."""
    anchor_fps = {a.fingerprint for a in anchors}
    candidates = _unique([*anchors, *pool])
    path = [start]
    on_path = {start.fingerprint}
    current = start
    while True:
        if current.fingerprint in anchor_fps:
            return PathResult(tuple(path), "verified", root=current)
        if current.facts.self_signed:
            status: ChainStatus = "untrusted-root" if anchor_fps else "verified"
            return PathResult(tuple(path), status, root=current)
        issuer = next(
            (
                c
                for c in candidates
                if c.fingerprint not in on_path and signed_by(current.cert, c.cert)
            ),
            None,
        )
        if issuer is not None:
            path.append(issuer)
            on_path.add(issuer.fingerprint)
            current = issuer
            continue
        same_name = next(
            (
                c
                for c in candidates
                if c.fingerprint not in on_path and c.cert.subject == current.cert.issuer
            ),
            None,
        )
        if same_name is not None:
            return PathResult(tuple(path), "bad-signature", bad_link=(current, same_name))
        has_root = bool(anchor_fps) or any(c.facts.self_signed for c in pool)
        return PathResult(
            tuple(path),
            "incomplete" if has_root else "no-anchor",
            missing_issuer=current.facts.issuer,
        )


def find_leaf(certs: Sequence[CertRecord]) -> CertRecord:
    """The end of the chain: a certificate that signs none of the others (non-CA first)."""
    unsigning = [
        c
        for c in certs
        if not any(o.fingerprint != c.fingerprint and signed_by(o.cert, c.cert) for o in certs)
    ]
    if not unsigning:
        return certs[0]
    if certs[0] in unsigning:
        return certs[0]
    non_ca = [c for c in unsigning if not c.facts.is_ca]
    return (non_ca or unsigning)[0]


def _order_problem(given: Sequence[CertRecord], path: Sequence[CertRecord]) -> str | None:
    on_path = {c.fingerprint for c in path}
    as_given = [c.fingerprint for c in given if c.fingerprint in on_path]
    expected = [c.fingerprint for c in path if c.fingerprint in set(as_given)]
    if as_given == expected:
        return None
    if given and given[0].fingerprint != path[0].fingerprint:
        return (
            f"the first certificate is {given[0].facts.subject or '<empty subject>'}, not the leaf"
        )
    return "the certificates are not in issuing order (leaf, its issuer, that one's issuer, ...)"


def _ca_problems(path: Sequence[CertRecord]) -> list[CaProblem]:
    out: list[CaProblem] = []
    for c in path[1:]:
        f = c.facts
        anchor_like = f.self_signed
        if f.is_ca is False or (f.is_ca is None and not anchor_like):
            out.append(CaProblem(c, "it lacks basicConstraints CA:TRUE"))
        elif f.key_cert_sign is False:
            out.append(CaProblem(c, "its keyUsage lacks keyCertSign"))
    return out


def _pathlen_problems(path: Sequence[CertRecord], issuing_ca: bool) -> list[PathLenProblem]:
    out: list[PathLenProblem] = []
    first_intermediate = 0 if issuing_ca else 1
    for i, c in enumerate(path):
        if i == 0:
            continue
        below = sum(1 for x in path[first_intermediate:i] if not x.facts.self_issued)
        limit = c.facts.path_length
        if limit is not None and below > limit:
            out.append(PathLenProblem(c, limit, below))
    return out


def judge_chain(
    name: str,
    certs: Sequence[CertRecord],
    anchors: Sequence[CertRecord],
    *,
    issuing_ca: bool = False,
) -> ChainResult:
    """Judge a presented chain. `issuing_ca`: the leaf is a CA that will sign workload
    certificates (plug-in CA), so it counts as one more intermediate for path lengths.
    """
    leaf = find_leaf(certs)
    result = build_path(leaf, certs, anchors)
    path = result.path
    return ChainResult(
        name=name,
        given=tuple(certs),
        leaf=leaf,
        result=result,
        order_problem=_order_problem(certs, path),
        ca_problems=tuple(_ca_problems(path)),
        pathlen_problems=tuple(_pathlen_problems(path, issuing_ca)),
    )
