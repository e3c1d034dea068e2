"""Certificates in Kubernetes Secrets and ConfigMaps, and the trust domain in the mesh config.

Reads `cacerts`, `istio-ca-secret`, `kubernetes.io/tls` Secrets, the `istio-ca-root-cert`
ConfigMap and any other Secret or ConfigMap whose values hold PEM certificates. The `istio`
ConfigMap's `mesh` key gives the trust domain and its aliases.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from mtls_doctor.certs.assemble import assemble, kind_for_members
from mtls_doctor.certs.model import Bundle, CertRecord, KeyRecord, MeshTrust, Owner
from mtls_doctor.certs.pem import looks_like_pem, read_member
from mtls_doctor.checks.finding import Subject
from mtls_doctor.sources.documents import RawObject
from mtls_doctor.sources.problems import InputProblem


@dataclass(frozen=True, slots=True)
class KubeRead:
    bundles: tuple[Bundle, ...]
    mesh: dict[str, MeshTrust]
    problems: tuple[InputProblem, ...]


def read_objects(objects: Iterable[RawObject]) -> KubeRead:
    """Bundles from every Secret/ConfigMap that holds certificates; mesh trust per cluster."""
    bundles: list[Bundle] = []
    problems: list[InputProblem] = []
    mesh: dict[str, MeshTrust] = {}
    for obj in objects:
        if obj.kind == "ConfigMap" and _is_mesh_configmap(obj):
            trust, problem = mesh_from_configmap(obj)
            if problem is not None:
                problems.append(problem)
            if trust is not None:
                mesh[obj.cluster] = trust
        if obj.kind in ("Secret", "ConfigMap"):
            bundle = _bundle(obj, problems)
            if bundle is not None:
                bundles.append(bundle)
    return KubeRead(tuple(bundles), mesh, tuple(problems))


def _is_mesh_configmap(obj: RawObject) -> bool:
    name = obj.name
    data = obj.data.get("data")
    return (
        (name == "istio" or name.startswith("istio-"))
        and isinstance(data, dict)
        and (isinstance(data.get("mesh"), str))
    )


def mesh_from_configmap(obj: RawObject) -> tuple[MeshTrust | None, InputProblem | None]:
    data = obj.data.get("data")
    text = data.get("mesh") if isinstance(data, dict) else None
    if not isinstance(text, str):
        return None, None
    return mesh_from_text(text, obj.origin)


def mesh_from_text(text: str, origin: Any) -> tuple[MeshTrust | None, InputProblem | None]:
    """Trust domain, aliases and `caCertificates[*].trustDomains` from mesh config YAML text."""
    try:
        mesh = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1} of the `mesh` text)" if mark is not None else ""
        return None, InputProblem(origin, f"invalid mesh config YAML{where}")
    if mesh is None:
        mesh = {}
    if not isinstance(mesh, dict):
        return None, InputProblem(origin, "mesh config is not a mapping")
    td = mesh.get("trustDomain") or "cluster.local"
    aliases = [str(a) for a in mesh.get("trustDomainAliases") or () if a]
    for ca in mesh.get("caCertificates") or ():
        if isinstance(ca, dict):
            aliases.extend(str(t) for t in ca.get("trustDomains") or () if t)
    aliases = [a for a in dict.fromkeys(aliases) if a != td]
    return MeshTrust(str(td), tuple(aliases), origin), None


def _values(obj: RawObject, problems: list[InputProblem]) -> list[tuple[str, str]]:
    """(key, text) of every value of a Secret (`data` base64, `stringData`) or ConfigMap."""
    out: list[tuple[str, str]] = []
    data = obj.data.get("data")
    if isinstance(data, dict):
        for key, value in data.items():
            if not isinstance(value, str) or not value:
                continue
            if obj.kind == "Secret":
                try:
                    raw = base64.b64decode(value, validate=False)
                except (binascii.Error, ValueError):
                    problems.append(
                        InputProblem(obj.origin, f"Secret {obj.name}: data.{key} is not base64")
                    )
                    continue
                text = raw.decode("utf-8", "replace")
            else:
                text = value
            out.append((str(key), text))
    string_data = obj.data.get("stringData")
    if obj.kind == "Secret" and isinstance(string_data, dict):
        out.extend((str(k), v) for k, v in string_data.items() if isinstance(v, str) and v)
    return out


def _bundle(obj: RawObject, problems: list[InputProblem]) -> Bundle | None:
    values = [(k, t) for k, t in _values(obj, problems) if looks_like_pem(t)]
    name, namespace = obj.name, obj.namespace or "default"
    secret_type = str(obj.data.get("type") or "")
    named = name in ("cacerts", "istio-ca-secret", "istio-ca-root-cert")
    if not values and not (named or secret_type == "kubernetes.io/tls"):
        return None
    kind = kind_for_members([k for k, _ in values], object_name=name)
    if secret_type == "kubernetes.io/tls" and kind == "pem":
        kind = "tls"
    if name == "cacerts" and obj.kind == "Secret":
        kind = "cacerts"
    label = f"{obj.origin.file}#{obj.kind.lower()}/{namespace}/{name}"
    members: list[tuple[str, tuple[CertRecord, ...]]] = []
    keys: list[KeyRecord] = []
    for key, text in values:
        read = read_member(
            text,
            cluster=obj.cluster,
            member=key,
            origin=obj.origin,
            source=f"{label}:{key}",
            line_sources=False,
        )
        problems.extend(
            InputProblem(p.origin, f"{obj.kind} {namespace}/{name} {key}: {p.message}", p.level)
            for p in read.problems
        )
        members.append((key, read.certs))
        keys.extend(read.keys)
    return assemble(
        kind,
        cluster=obj.cluster,
        label=label,
        subject=Subject(obj.kind, namespace, name),
        origin=obj.origin,
        members=members,
        keys=keys,
        owner=Owner(namespace=namespace),
    )
