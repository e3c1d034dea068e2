"""Certificates and trust: read PEM files, Secrets/ConfigMaps and SDS dumps; check them.

Public API (pure except `read_certificates`, which reads the files it is given):

    from mtls_doctor.certs import (
        read_certificates, inventory_from_objects, check_certificates, CheckPolicy, trust_view,
    )

    inv = read_certificates(files)          # files: Iterable[sources.paths.InputFile]
    inv = inventory_from_objects(objects)   # or: Secrets/ConfigMaps already read as RawObjects
    report = check_certificates(inv, CheckPolicy.at(now))  # .certificates, .findings, .problems
    view = trust_view(inv)                  # TrustView, for the edge engine

`CertInventory` holds `bundles` (what came together: a PEM file, a directory of Istio-named PEM
files, a Secret/ConfigMap, one proxy's SDS secrets), each with its cluster, `owner`
(namespace / pod / Envoy node id / service account when the input says), certificates with
their `source`, key fingerprints (never key material), presented `chains` and trust `anchors`;
`problems` (unreadable input); and `mesh`: the trust domain and aliases per cluster, from the
`istio` ConfigMap's `mesh` key (default `cluster.local`).

`TrustView` summarises, per cluster (`clusters[name].roots`: root SHA-256 fingerprints) and per
workload (`workloads`: SPIFFE ID, notBefore/notAfter of the presented certificate, `chain_root`
it verifies to, `trusted_roots` it accepts), with lookups `workload(cluster, ns, pod)`,
`by_spiffe_id(id)`, `roots_for(cluster, ns, pod)`, and `accepts(trusted_roots, chain_root)`.
Joining it with edges is the caller's job:

- an edge client C -> server S is `fail / untrusted-root` when
  `accepts(view.roots_for(S...), C.chain_root) is False` or the same the other way round;
  with no workload entries, compare `view.clusters[a].roots` and `view.clusters[b].roots`
  (disjoint -> untrusted-root); `None` means unknown (assume one shared root);
- it is `fail / cert-expired` when either side's `WorkloadTrust.expired_at(now)` is true;
- `check_identity.mismatch_finding(subject, cert, expected=..., who=..., basis=...)` builds the
  CE404 finding when a presented SPIFFE ID differs from the identity the manifests imply.
"""

from __future__ import annotations

from mtls_doctor.certs.analyze import CertReport, CertView, check_certificates
from mtls_doctor.certs.model import Bundle, CertInventory, CertRecord, MeshTrust, Owner
from mtls_doctor.certs.policy import CheckPolicy
from mtls_doctor.certs.reader import (
    CERT_SUFFIXES,
    inventory_from_objects,
    read_certificates,
    read_mesh_config,
)
from mtls_doctor.certs.trust import ClusterTrust, TrustView, WorkloadTrust, accepts, trust_view

__all__ = [
    "CERT_SUFFIXES",
    "Bundle",
    "CertInventory",
    "CertRecord",
    "CertReport",
    "CertView",
    "CheckPolicy",
    "ClusterTrust",
    "MeshTrust",
    "Owner",
    "TrustView",
    "WorkloadTrust",
    "accepts",
    "check_certificates",
    "inventory_from_objects",
    "read_certificates",
    "read_mesh_config",
    "trust_view",
]
