"""Give a bundle its shape: which members are presented chains and which are trust anchors.

The shape follows the Istio file names: a plug-in CA (`cacerts`) presents `cert-chain.pem`
(or `ca-cert.pem`) and trusts `root-cert.pem`; a workload presents `cert-chain.pem`; a
`kubernetes.io/tls` Secret presents `tls.crt` and trusts `ca.crt`; a lone PEM file presents its
certificates and trusts the self-signed ones among them.
"""

from __future__ import annotations

from collections.abc import Sequence

from mtls_doctor.certs.model import (
    Anchors,
    Bundle,
    BundleKind,
    CertRecord,
    Chain,
    KeyRecord,
    Owner,
)
from mtls_doctor.checks.finding import Subject
from mtls_doctor.model.refs import Origin

CACERTS_MEMBERS = ("ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem")
ISTIO_CA_MEMBERS = ("ca-cert.pem", "ca-key.pem")
TLS_MEMBERS = ("tls.crt", "tls.key")
WORKLOAD_MEMBERS = ("cert-chain.pem", "key.pem", "root-cert.pem")
KNOWN_NAMES = frozenset((*CACERTS_MEMBERS, *TLS_MEMBERS, "ca.crt", "key.pem", "cert.pem"))


def kind_for_members(names: Sequence[str], *, object_name: str | None = None) -> BundleKind:
    """Decide a bundle's kind from its member names (and the Secret/ConfigMap name)."""
    present = set(names)
    if object_name == "istio-ca-secret":
        return "istio-ca-secret"
    if object_name == "istio-ca-root-cert":
        return "root-configmap"
    if present & {"ca-cert.pem", "ca-key.pem"}:
        return "cacerts"
    if "tls.crt" in present:
        return "tls"
    if present & {"cert-chain.pem", "key.pem"}:
        return "workload"
    if present == {"root-cert.pem"}:
        return "roots"
    return "pem"


def expected_members(kind: BundleKind) -> tuple[str, ...]:
    return {
        "cacerts": CACERTS_MEMBERS,
        "istio-ca-secret": ISTIO_CA_MEMBERS,
        "tls": TLS_MEMBERS,
        "workload": ("cert-chain.pem",),
        "root-configmap": ("root-cert.pem",),
    }.get(kind, ())


def assemble(
    kind: BundleKind,
    *,
    cluster: str,
    label: str,
    subject: Subject,
    origin: Origin,
    members: Sequence[tuple[str, tuple[CertRecord, ...]]],
    keys: Sequence[KeyRecord],
    owner: Owner | None = None,
    chains: Sequence[Chain] = (),
    anchors: Sequence[Anchors] = (),
) -> Bundle:
    """A Bundle with its chains and anchors derived from `kind` (unless given, as for proxies)."""
    by_name = dict(members)
    have = {name for name, certs in members if certs} | {k.member for k in keys}
    missing = tuple(m for m in expected_members(kind) if m not in have)
    if kind != "proxy":
        chains, anchors = _shape(kind, by_name)
    return Bundle(
        kind=kind,
        cluster=cluster,
        label=label,
        subject=subject,
        origin=origin,
        owner=owner or Owner(),
        members=tuple(members),
        keys=tuple(keys),
        chains=tuple(chains),
        anchors=tuple(anchors),
        missing=missing,
    )


def _shape(
    kind: BundleKind, by_name: dict[str, tuple[CertRecord, ...]]
) -> tuple[list[Chain], list[Anchors]]:
    chains: list[Chain] = []
    anchors: list[Anchors] = []

    def chain(name: str) -> None:
        if by_name.get(name):
            chains.append(Chain(name, by_name[name]))

    def anchor(name: str) -> None:
        if by_name.get(name):
            anchors.append(Anchors(name, by_name[name]))

    if kind == "cacerts":
        if by_name.get("cert-chain.pem"):
            chain("cert-chain.pem")
        else:
            chain("ca-cert.pem")
        anchor("root-cert.pem")
    elif kind == "istio-ca-secret":
        chain("ca-cert.pem")
        if by_name.get("root-cert.pem"):
            anchor("root-cert.pem")
        else:
            roots = tuple(c for c in by_name.get("ca-cert.pem", ()) if c.facts.self_signed)
            if roots:
                anchors.append(Anchors("ca-cert.pem", roots))
    elif kind == "tls":
        chain("tls.crt")
        anchor("ca.crt")
    elif kind == "workload":
        chain("cert-chain.pem")
        anchor("root-cert.pem")
    elif kind in ("root-configmap", "roots"):
        anchor("root-cert.pem")
    else:
        for name, certs in by_name.items():
            roots = tuple(c for c in certs if c.facts.self_signed)
            if roots:
                anchors.append(Anchors(name, roots))
            if any(not c.facts.self_signed for c in certs):
                chains.append(Chain(name, certs))
    return chains, anchors
