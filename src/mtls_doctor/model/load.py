"""Read every input into one Mesh: the only entry point from paths to the model."""

from __future__ import annotations

import gc
import mmap
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import msgspec

from mtls_doctor.model.mesh import ClusterIndex, Mesh, MeshConfigSource, parse_mesh_config
from mtls_doctor.model.objects import (
    CLUSTER_SCOPED,
    IGNORED_KINDS,
    KINDS,
    FastRead,
    Loaded,
    convert,
    fast_decode,
    loaded,
)
from mtls_doctor.model.refs import Origin, ResourceRef
from mtls_doctor.sources.documents import Buffer, read_bytes, read_file
from mtls_doctor.sources.paths import InputFile, expand
from mtls_doctor.sources.problems import InputProblem

FAST_PATH_MIN_BYTES = 1 << 20
PEM_SUFFIXES = (".pem", ".crt", ".cer", ".der")  # below this the careful road is fast enough

ProgressHook = Callable[[InputFile, int, int], None]  # (file, index, total)


class LoadResult(msgspec.Struct):
    mesh: Mesh
    problems: list[InputProblem]
    files: list[InputFile]
    objects: int
    side_files: list[InputFile] = []  # PEM files and Envoy dumps, for certificates and proxies


def load_mesh(
    args: Iterable[str],
    *,
    mesh_config_file: str | None = None,
    discovery: dict[str, frozenset[str]] | None = None,
    progress: ProgressHook | None = None,
    extra: Iterable[tuple[InputFile, bytes]] = (),
) -> LoadResult:
    """Every object of `args` (files, directories, `-`, NAME=PATH), then of `extra` (files
    already in memory, e.g. members of a bug-report archive), later ones replacing earlier."""
    args = list(args)
    files, problems = expand(args)
    in_memory = list(extra)
    raw_of: dict[int, bytes] = {}
    for f, data in in_memory:
        raw_of[id(f)] = data
        files.append(f)
    side_files: list[InputFile] = []
    # cluster -> kind -> (namespace, name): a later object replaces an earlier one in its place
    store: dict[str, dict[str, dict[tuple[str, str], Loaded[Any]]]] = {}
    defaulted: set[tuple[str, str]] = set()  # (cluster, kind) with objects given `default`
    unknown: dict[str, tuple[int, Origin]] = {}
    clusters: list[str] = []
    gc_was_enabled = gc.isenabled()
    gc.disable()  # nothing built here forms cycles; the collector only slows big loads down
    try:
        for i, f in enumerate(files):
            if progress is not None:
                progress(f, i, len(files))
            if f.cluster not in clusters:
                clusters.append(f.cluster)
            kinds = store.setdefault(f.cluster, {})  # every object of a file is of its cluster
            for obj in _read_one(f, problems, unknown, side_files, raw_of.get(id(f))):
                kind = obj.kind
                same = kinds.get(kind)
                if same is None:
                    same = kinds[kind] = {}
                ns = obj.namespace
                if kind in CLUSTER_SCOPED:
                    ns = ""
                elif not ns:
                    ns = "default"
                    defaulted.add((f.cluster, kind))
                same[(ns, obj.name)] = obj
        indexes = _index(clusters, store, defaulted, unknown, problems, mesh_config_file)
    finally:
        # What was read lives as long as the run: move it out of the collector's way.
        gc.freeze()
        if gc_was_enabled:
            gc.enable()
    pem, _ = expand(args, PEM_SUFFIXES)
    side_files.extend(f for f in pem if f.path.lower().endswith(PEM_SUFFIXES))
    count = sum(len(same) for kinds in store.values() for same in kinds.values())
    return LoadResult(Mesh(indexes, discovery), problems, files, count, side_files)


def _index(
    clusters: list[str],
    store: dict[str, dict[str, dict[tuple[str, str], Loaded[Any]]]],
    defaulted: set[tuple[str, str]],
    unknown: dict[str, tuple[int, Origin]],
    problems: list[InputProblem],
    mesh_config_file: str | None,
) -> dict[str, ClusterIndex]:
    for kind, (count, origin) in sorted(unknown.items()):
        problems.append(
            InputProblem(
                origin,
                f"kind {kind} is not one mtls-doctor reads ({count} object"
                f"{'s' if count != 1 else ''}); ignored",
                "warning",
            )
        )
    override = None
    if mesh_config_file is not None:
        override = _read_mesh_config_file(mesh_config_file, problems)
    by_cluster: dict[str, dict[str, list[Loaded[Any]]]] = {c: {} for c in clusters or ["default"]}
    for cluster, kinds in store.items():
        by_kind = by_cluster[cluster]
        for kind, same in kinds.items():
            if (cluster, kind) in defaulted:  # `namespace: default` where the object had none
                by_kind[kind] = [
                    o if o.namespace else _with_default_namespace(o, key[0])
                    for key, o in same.items()
                ]
            else:
                by_kind[kind] = list(same.values())
    return {name: ClusterIndex(name, objs, override, problems) for name, objs in by_cluster.items()}


def _with_default_namespace(obj: Loaded[Any], ns: str) -> Loaded[Any]:
    meta = msgspec.structs.replace(obj.meta, namespace=ns)
    inner = msgspec.structs.replace(obj.obj, metadata=meta)
    return loaded(obj.cluster, obj.origin, inner, obj.kind)


def _read_one(
    f: InputFile,
    problems: list[InputProblem],
    unknown: dict[str, tuple[int, Origin]],
    side_files: list[InputFile],
    data: bytes | None = None,
) -> list[Loaded[Any]]:
    mapped = _map(f) if data is None else None
    if mapped is not None:
        with mapped:
            fast = _fast(f, mapped)
        if fast is not None:
            return _count_unknown(fast, unknown)
    try:
        raw = read_bytes(f) if data is None else data
    except OSError as exc:
        problems.append(InputProblem(Origin(f.display), f"cannot read: {exc.strerror}"))
        return []
    fast = _fast(f, raw) if mapped is None else None  # a mapped file has had its try
    if fast is not None:
        return _count_unknown(fast, unknown)
    result = read_file(f, raw)
    problems.extend(result.problems)
    if result.envoy_dump and data is None:
        side_files.append(f)
    out: list[Loaded[Any]] = []
    for r in result.objects:
        if r.kind not in KINDS:
            if r.kind not in IGNORED_KINDS:
                count, first = unknown.get(r.kind, (0, r.origin))
                unknown[r.kind] = (count + 1, first)
            continue
        loaded = convert(r, problems)
        if loaded is not None:
            out.append(loaded)
    return out


def _count_unknown(fast: FastRead, unknown: dict[str, tuple[int, Origin]]) -> list[Loaded[Any]]:
    """The fast road's objects; its kinds nobody knows counted as the careful road counts them."""
    for kind, (count, first) in fast.unknown.items():
        seen, origin = unknown.get(kind, (0, first))
        unknown[kind] = (seen + count, origin)
    return fast.objects


def _map(f: InputFile) -> mmap.mmap | None:
    """A read-only mapping of a file big enough for the fast road: decoded in place, never
    copied. None for stdin, small files and whatever cannot be mapped (they are read)."""
    if f.path == "-":
        return None
    try:
        with Path(f.path).open("rb") as fh:
            if os.fstat(fh.fileno()).st_size < FAST_PATH_MIN_BYTES:
                return None
            return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None  # reading it says what is wrong


_JSON_OBJECT = re.compile(rb"\s*\{")


def _fast(f: InputFile, raw: Buffer) -> FastRead | None:
    if len(raw) < FAST_PATH_MIN_BYTES or not _JSON_OBJECT.match(raw):
        return None
    return fast_decode(f.cluster, f.display, raw)


def _read_mesh_config_file(path: str, problems: list[InputProblem]) -> MeshConfigSource | None:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        problems.append(InputProblem(Origin(path), f"cannot read mesh config: {exc.strerror}"))
        return None
    try:
        cfg = parse_mesh_config(text)
    except ValueError as exc:
        problems.append(InputProblem(Origin(path), f"mesh config: {exc}"))
        return None
    return MeshConfigSource(cfg, ResourceRef("MeshConfig", "", path, "", Origin(path, 1)))
