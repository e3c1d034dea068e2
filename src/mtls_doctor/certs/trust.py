"""A summary of who trusts what, for joining certificates with edges.

`TrustView` answers, per cluster and per workload (pod / proxy / SPIFFE ID): which root
fingerprints it trusts, which root its presented certificate chains to, and that certificate's
SPIFFE ID and notAfter. It decides nothing about edges.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from mtls_doctor.certs.chain import judge_chain
from mtls_doctor.certs.check_roots import mesh_anchor_sources
from mtls_doctor.certs.check_validity import presented_workload_leaves
from mtls_doctor.certs.model import CertInventory


@dataclass(frozen=True, slots=True)
class WorkloadTrust:
    """One proxy or workload certificate set. None means the inputs do not say."""

    cluster: str
    source: str  # the presented leaf certificate's source
    namespace: str | None
    pod: str | None
    proxy: str | None  # Envoy node id
    service_account: str | None
    spiffe_id: str | None
    trust_domain: str | None
    not_before: datetime
    not_after: datetime
    chain_root: str | None  # fingerprint of the root its presented chain reaches
    trusted_roots: frozenset[str]  # fingerprints it accepts from peers (empty: unknown)

    def expired_at(self, now: datetime) -> bool:
        return self.not_after < now or self.not_before > now


@dataclass(frozen=True, slots=True)
class ClusterTrust:
    cluster: str
    roots: frozenset[str]  # every mesh root fingerprint seen in the cluster
    sources: tuple[str, ...]  # where they were seen
    trust_domain: str
    aliases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TrustView:
    clusters: dict[str, ClusterTrust] = field(default_factory=dict)
    workloads: tuple[WorkloadTrust, ...] = ()

    def workload(self, cluster: str, namespace: str, pod: str) -> WorkloadTrust | None:
        return next(
            (
                w
                for w in self.workloads
                if w.cluster == cluster and w.namespace == namespace and w.pod == pod
            ),
            None,
        )

    def by_spiffe_id(self, spiffe_id: str) -> tuple[WorkloadTrust, ...]:
        return tuple(w for w in self.workloads if w.spiffe_id == spiffe_id)

    def roots_for(
        self, cluster: str, namespace: str | None = None, pod: str | None = None
    ) -> frozenset[str] | None:
        """Roots a workload accepts: its own when known, else its cluster's, else None."""
        if namespace and pod:
            w = self.workload(cluster, namespace, pod)
            if w is not None and w.trusted_roots:
                return w.trusted_roots
        c = self.clusters.get(cluster)
        return c.roots if c is not None and c.roots else None


def accepts(trusted_roots: frozenset[str] | None, chain_root: str | None) -> bool | None:
    """Does a verifier with `trusted_roots` accept a chain ending at `chain_root`? None: unknown."""
    if not trusted_roots or chain_root is None:
        return None
    return chain_root in trusted_roots


def trust_view(inventory: CertInventory) -> TrustView:
    bundles = inventory.bundles
    roots: dict[str, set[str]] = {}
    sources: dict[str, list[str]] = {}
    for src in mesh_anchor_sources(bundles):
        roots.setdefault(src.bundle.cluster, set()).update(src.fingerprints)
        sources.setdefault(src.bundle.cluster, []).append(src.describe())
    clusters = {}
    for cluster in dict.fromkeys([*inventory.clusters, *roots]):
        mesh = inventory.mesh_for(cluster)
        clusters[cluster] = ClusterTrust(
            cluster,
            frozenset(roots.get(cluster, ())),
            tuple(sources.get(cluster, ())),
            mesh.trust_domain,
            mesh.aliases,
        )
    workloads: list[WorkloadTrust] = []
    for b in bundles:
        anchors = [c for a in b.anchors for c in a.certs]
        for leaf in presented_workload_leaves(b):
            chain = next(ch for ch in b.chains if leaf in ch.certs)
            judged = judge_chain(chain.name, chain.certs, anchors)
            root = judged.result.root
            f = leaf.facts
            workloads.append(
                WorkloadTrust(
                    cluster=b.cluster,
                    source=leaf.source,
                    namespace=b.owner.namespace
                    or (f.spiffe[0].istio_namespace if f.spiffe else None),
                    pod=b.owner.pod,
                    proxy=b.owner.proxy,
                    service_account=b.owner.service_account,
                    spiffe_id=f.spiffe_id,
                    trust_domain=f.trust_domain,
                    not_before=f.not_before,
                    not_after=f.not_after,
                    chain_root=root.fingerprint if root is not None else None,
                    trusted_roots=b.anchor_fingerprints,
                )
            )
    return TrustView(clusters, tuple(workloads))


def all_roots(views: Iterable[WorkloadTrust]) -> frozenset[str]:
    out: set[str] = set()
    for v in views:
        out |= v.trusted_roots
    return frozenset(out)
