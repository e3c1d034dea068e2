"""Read certificate inputs: PEM files, Istio-named PEM directories, manifests, SDS dumps.

The only module of `certs` that touches files. Everything it returns is a frozen record; bad input
becomes an `InputProblem` naming file and line, and the rest is still read.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePath

import msgspec

from mtls_doctor.certs.assemble import assemble, kind_for_members
from mtls_doctor.certs.kube import mesh_from_text, read_objects
from mtls_doctor.certs.model import (
    Bundle,
    BundleKind,
    CertInventory,
    CertRecord,
    KeyRecord,
    MeshTrust,
)
from mtls_doctor.certs.pem import MemberRead, looks_like_pem, read_der, read_member
from mtls_doctor.certs.sds import is_secrets_dump, read_dump
from mtls_doctor.checks.finding import Subject
from mtls_doctor.model.refs import Origin
from mtls_doctor.sources.documents import RawObject, read_bytes, read_file
from mtls_doctor.sources.paths import InputFile
from mtls_doctor.sources.problems import InputProblem

CERT_SUFFIXES = (".pem", ".crt", ".cer", ".der", ".key", ".yaml", ".yml", ".json")
_PEM_SUFFIXES = (".pem", ".crt", ".cer", ".der", ".key")
_STRUCTURED_SUFFIXES = (".yaml", ".yml", ".json")
# Files with these names in one directory are read together, as Istio mounts them.
_NOT_OURS = ("expected a Kubernetes object", "object without `kind`")
GROUPED_NAMES = frozenset(
    (
        "ca-cert.pem",
        "ca-key.pem",
        "root-cert.pem",
        "cert-chain.pem",
        "key.pem",
        "tls.crt",
        "tls.key",
        "ca.crt",
    )
)


def read_certificates(
    files: Iterable[InputFile], *, mesh: dict[str, MeshTrust] | None = None
) -> CertInventory:
    """Every certificate, key fingerprint and mesh trust domain in `files`.

    `mesh` (per cluster) overrides what `istio` ConfigMaps in the inputs say.
    """
    bundles: list[Bundle] = []
    problems: list[InputProblem] = []
    found_mesh: dict[str, MeshTrust] = {}
    grouped: dict[tuple[str, str], list[tuple[InputFile, bytes]]] = {}
    for f in files:
        try:
            raw = read_bytes(f)
        except OSError as exc:
            problems.append(InputProblem(Origin(f.display), f"cannot read: {exc.strerror}"))
            continue
        name = PurePath(f.display).name
        if f.path != "-" and name in GROUPED_NAMES and _is_pem_bytes(raw):
            folder = str(PurePath(f.display).parent)
            grouped.setdefault((f.cluster, folder), []).append((f, raw))
            continue
        got, more, mesh_found = _read_one(f, raw)
        bundles.extend(got)
        problems.extend(more)
        found_mesh.update(mesh_found)
    for (cluster, folder), members in grouped.items():
        bundle, more = _read_group(cluster, folder, members)
        problems.extend(more)
        if bundle is not None:
            bundles.append(bundle)
    found_mesh.update(mesh or {})
    return CertInventory(tuple(bundles), tuple(problems), found_mesh)


def inventory_from_objects(
    objects: Iterable[RawObject], *, mesh: dict[str, MeshTrust] | None = None
) -> CertInventory:
    """The same, from Kubernetes objects already read (e.g. by the manifest pipeline)."""
    got = read_objects(objects)
    return CertInventory(got.bundles, got.problems, {**got.mesh, **(mesh or {})})


def read_mesh_config(f: InputFile) -> tuple[MeshTrust | None, list[InputProblem]]:
    """A `--mesh-config` file: the `istio` ConfigMap (YAML/JSON) or bare mesh config YAML."""
    try:
        raw = read_bytes(f)
    except OSError as exc:
        return None, [InputProblem(Origin(f.display), f"cannot read: {exc.strerror}")]
    result = read_file(f, raw)
    for obj in result.objects:
        if obj.kind == "ConfigMap" and isinstance(obj.data.get("data"), dict):
            text = obj.data["data"].get("mesh")
            if isinstance(text, str):
                trust, problem = mesh_from_text(text, obj.origin)
                return trust, [problem] if problem else []
    text = raw.decode("utf-8", "replace")
    trust, problem = mesh_from_text(text, Origin(f.display, 1))
    return trust, [problem] if problem else []


def _is_pem_bytes(raw: bytes) -> bool:
    return b"-----BEGIN " in raw or not raw.strip()


def _read_one(
    f: InputFile, raw: bytes
) -> tuple[list[Bundle], list[InputProblem], dict[str, MeshTrust]]:
    lower = f.display.lower()
    text = raw.decode("utf-8", "replace")
    head = text.lstrip()[:1]
    structured = lower.endswith(_STRUCTURED_SUFFIXES) or (
        not lower.endswith(_PEM_SUFFIXES) and not head.startswith("-")
    )
    if not structured or (looks_like_pem(text) and text.lstrip().startswith("-----BEGIN")):
        bundle, problems = _read_pem_file(f, raw, text)
        return ([bundle] if bundle else []), problems, {}
    if head in ("{", "["):
        try:
            data = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            data = None  # read_file below names the line
        if is_secrets_dump(data):
            bundle, problems = read_dump(data, cluster=f.cluster, file=f.display)
            return ([bundle] if bundle else []), problems, {}
    result = read_file(f, raw)
    got = read_objects(result.objects)
    # A YAML/JSON file that holds no Kubernetes objects is not ours to judge: say so, softly.
    read_problems = [
        InputProblem(p.origin, f"{p.message} (not a manifest or SDS dump)", "warning")
        if p.message.startswith(_NOT_OURS)
        else p
        for p in result.problems
    ]
    return list(got.bundles), [*read_problems, *got.problems], dict(got.mesh)


def _read_pem_member(f: InputFile, raw: bytes, text: str) -> MemberRead:
    name = PurePath(f.display).name
    if not looks_like_pem(text):
        cert = read_der(
            raw, cluster=f.cluster, member=name, origin=Origin(f.display), source=f.display
        )
        if cert is not None:
            return MemberRead((cert,), (), ())
        problem = InputProblem(Origin(f.display), "no PEM certificate or key in this file")
        return MemberRead((), (), () if not raw.strip() else (problem,))
    return read_member(
        text,
        cluster=f.cluster,
        member=name,
        origin=Origin(f.display, 1),
        source=f.display,
        line_sources=True,
    )


def _read_pem_file(f: InputFile, raw: bytes, text: str) -> tuple[Bundle | None, list[InputProblem]]:
    read = _read_pem_member(f, raw, text)
    problems = list(read.problems)
    if not raw.strip():
        problems.append(InputProblem(Origin(f.display), "empty file", "warning"))
    if not read.certs and not read.keys:
        return None, problems
    name = PurePath(f.display).name
    kind: BundleKind = "roots" if name == "root-cert.pem" else "pem"
    bundle = assemble(
        kind,
        cluster=f.cluster,
        label=f.display,
        subject=Subject("File", "", f.display),
        origin=Origin(f.display),
        members=[(name, read.certs)],
        keys=read.keys,
    )
    return bundle, problems


def _read_group(
    cluster: str, folder: str, files: list[tuple[InputFile, bytes]]
) -> tuple[Bundle | None, list[InputProblem]]:
    members: list[tuple[str, tuple[CertRecord, ...]]] = []
    keys: list[KeyRecord] = []
    problems: list[InputProblem] = []
    for f, raw in files:
        read = _read_pem_member(f, raw, raw.decode("utf-8", "replace"))
        problems.extend(read.problems)
        if not raw.strip():
            problems.append(InputProblem(Origin(f.display), "empty file", "warning"))
        members.append((PurePath(f.display).name, read.certs))
        keys.extend(read.keys)
    if not any(certs for _, certs in members) and not keys:
        return None, problems
    kind = kind_for_members([m for m, c in members if c] + [k.member for k in keys])
    chain = dict(members).get("cert-chain.pem")
    if (
        kind == "cacerts"
        and not any(k.member == "ca-key.pem" for k in keys)
        and chain
        and (not chain[0].facts.is_ca)
    ):
        kind = "workload"  # ca-cert.pem next to a workload's chain (istiod's mounted files)
    bundle = assemble(
        kind,
        cluster=cluster,
        label=folder,
        subject=Subject("Directory", "", folder),
        origin=Origin(folder),
        members=members,
        keys=keys,
    )
    return bundle, problems
