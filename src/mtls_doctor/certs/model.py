"""The records the certificate readers produce and the checks read.

A `Bundle` is what came together: one PEM file, one directory of Istio-named PEM files, one
Secret or ConfigMap, or one proxy's SDS secrets. Its certificates keep their source; its keys are
kept only as public-key fingerprints, never as key material.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from cryptography import x509

from mtls_doctor.certs.facts import CertFacts
from mtls_doctor.checks.finding import Subject
from mtls_doctor.model.refs import Origin
from mtls_doctor.sources.problems import InputProblem

BundleKind = Literal[
    "pem",  # a PEM file on its own
    "cacerts",  # plug-in CA: ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem
    "istio-ca-secret",  # istiod's self-signed CA
    "tls",  # kubernetes.io/tls: tls.crt, tls.key, ca.crt
    "workload",  # mounted workload certs: cert-chain.pem, key.pem, root-cert.pem
    "root-configmap",  # istio-ca-root-cert: root-cert.pem
    "roots",  # a root bundle file (root-cert.pem) on its own
    "proxy",  # Envoy SDS secrets of one proxy
]


@dataclass(frozen=True, slots=True)
class Owner:
    """Who a bundle belongs to, as far as the input says (None = unknown)."""

    namespace: str | None = None
    pod: str | None = None
    proxy: str | None = None  # Envoy node id
    service_account: str | None = None
    mesh_id: str | None = None


@dataclass(frozen=True, slots=True)
class CertRecord:
    """One certificate as found: where (`source`, `origin`), its member, and its facts."""

    source: str
    origin: Origin
    cluster: str
    member: str  # key in the Secret/ConfigMap, file name, or SDS secret name
    index: int  # position in its member's PEM
    facts: CertFacts
    cert: x509.Certificate = field(repr=False, compare=False)

    @property
    def fingerprint(self) -> str:
        return self.facts.fingerprint_sha256


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A private key that was met: only where it was and its public key's fingerprint."""

    source: str
    origin: Origin
    member: str
    spki_sha256: str | None  # None when the key could not be loaded (encrypted, unsupported)
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Chain:
    """Certificates presented together as one chain (leaf first, if the producer got it right)."""

    name: str
    certs: tuple[CertRecord, ...]


@dataclass(frozen=True, slots=True)
class Anchors:
    """Trust anchors that came with a bundle, optionally for one SPIFFE trust domain."""

    name: str
    certs: tuple[CertRecord, ...]
    trust_domain: str | None = None

    @property
    def fingerprints(self) -> frozenset[str]:
        return frozenset(c.fingerprint for c in self.certs)


@dataclass(frozen=True, slots=True)
class Bundle:
    kind: BundleKind
    cluster: str
    label: str  # how sources in it are prefixed: file, file#secret/ns/name, file#proxy/...
    subject: Subject  # what findings about it name
    origin: Origin
    owner: Owner = Owner()
    members: tuple[tuple[str, tuple[CertRecord, ...]], ...] = ()
    keys: tuple[KeyRecord, ...] = ()
    chains: tuple[Chain, ...] = ()
    anchors: tuple[Anchors, ...] = ()
    missing: tuple[str, ...] = ()  # expected members that are absent or empty

    def member(self, name: str) -> tuple[CertRecord, ...]:
        for key, certs in self.members:
            if key == name:
                return certs
        return ()

    def key(self, name: str) -> KeyRecord | None:
        return next((k for k in self.keys if k.member == name), None)

    @property
    def certificates(self) -> Iterator[CertRecord]:
        for _, certs in self.members:
            yield from certs

    @property
    def anchor_fingerprints(self) -> frozenset[str]:
        out: set[str] = set()
        for a in self.anchors:
            out |= a.fingerprints
        return frozenset(out)


@dataclass(frozen=True, slots=True)
class MeshTrust:
    """A cluster's trust domain and aliases, from its `istio` ConfigMap, options, or the default."""

    trust_domain: str = "cluster.local"
    aliases: tuple[str, ...] = ()
    origin: Origin | None = None  # None: assumed (no mesh config was read)

    @property
    def accepted(self) -> tuple[str, ...]:
        return (self.trust_domain, *self.aliases)


@dataclass(frozen=True, slots=True)
class CertInventory:
    """Everything the readers found. `mesh` is keyed by cluster name."""

    bundles: tuple[Bundle, ...]
    problems: tuple[InputProblem, ...]
    mesh: dict[str, MeshTrust] = field(default_factory=dict)

    @property
    def certificates(self) -> Iterator[CertRecord]:
        for b in self.bundles:
            yield from b.certificates

    @property
    def clusters(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(b.cluster for b in self.bundles))

    def mesh_for(self, cluster: str) -> MeshTrust:
        return self.mesh.get(cluster, MeshTrust())
