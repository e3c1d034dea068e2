"""Roots of trust compared across proxies, namespaces and clusters, by SHA-256 fingerprint."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from mtls_doctor.certs import codes
from mtls_doctor.certs.model import Anchors, Bundle
from mtls_doctor.checks.finding import Finding

# Bundles whose anchors are the mesh's root of trust (a `kubernetes.io/tls` ca.crt or a loose PEM
# file is not).
MESH_ANCHOR_KINDS = ("proxy", "root-configmap", "roots", "cacerts", "istio-ca-secret", "workload")


@dataclass(frozen=True, slots=True)
class AnchorSource:
    bundle: Bundle
    anchors: Anchors

    @property
    def fingerprints(self) -> frozenset[str]:
        return self.anchors.fingerprints

    def describe(self) -> str:
        b = self.bundle
        parts = [f"cluster {b.cluster}"]
        if b.owner.pod:
            parts.append(f"pod {b.owner.namespace}/{b.owner.pod}")
        elif b.owner.namespace and b.kind in ("root-configmap", "cacerts", "istio-ca-secret"):
            parts.append(f"namespace {b.owner.namespace}")
        return f"{b.label}:{self.anchors.name} ({', '.join(parts)})"


def mesh_anchor_sources(bundles: Sequence[Bundle]) -> list[AnchorSource]:
    """The mesh trust anchors of each bundle, merged per trust domain (None: the mesh's own)."""
    out: list[AnchorSource] = []
    for b in bundles:
        if b.kind not in MESH_ANCHOR_KINDS:
            continue
        merged: dict[str | None, list[Anchors]] = {}
        for a in b.anchors:
            if a.certs:
                merged.setdefault(a.trust_domain, []).append(a)
        for td, parts in merged.items():
            certs = tuple(c for a in parts for c in a.certs)
            name = ", ".join(dict.fromkeys(a.name for a in parts))
            out.append(AnchorSource(b, Anchors(name, certs, td)))
    return out


def _fps(fps: frozenset[str]) -> str:
    return ", ".join(sorted(f[:16] for f in fps))


def root_findings(bundles: Sequence[Bundle]) -> Iterator[Finding]:
    """One finding per anchor source whose roots differ from the most common set of its group."""
    groups: dict[str, list[AnchorSource]] = {}
    for src in mesh_anchor_sources(bundles):
        groups.setdefault(src.anchors.trust_domain or "", []).append(src)
    for sources in groups.values():
        counts = Counter(s.fingerprints for s in sources)
        if len(counts) < 2:
            continue
        best = max(counts.values())
        reference = next(s.fingerprints for s in sources if counts[s.fingerprints] == best)
        ref_source = next(s for s in sources if s.fingerprints == reference)
        for s in sources:
            if s.fingerprints == reference:
                continue
            shared = s.fingerprints & reference
            common: dict[str, Any] = {
                "origin": s.anchors.certs[0].origin,
                "cluster": s.bundle.cluster,
                "where": s.describe(),
                "roots": _fps(s.fingerprints),
                "other": ref_source.describe(),
                "other_roots": _fps(reference),
            }
            if shared:
                yield codes.ROOTS_OVERLAP.finding(s.bundle.subject, **common, shared=_fps(shared))
            else:
                yield codes.ROOTS_DIFFER.finding(s.bundle.subject, **common, count=best)
