"""The one-pass typed decode of big `kubectl get -o json` dumps gives the same mesh, the same
edges and the same origins as the careful object-by-object road."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from mtls_doctor.analysis import analyze
from mtls_doctor.model import load

ROOT = Path(__file__).resolve().parent.parent.parent


def _bench_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench", ROOT / "scripts" / "bench.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _summary(path: Path) -> tuple[set[tuple[str, str, str, str | None]], list[str]]:
    a = analyze(load.load_mesh([str(path)]))
    edges = {
        (c.name, r.to, cls.outcome.verdict, cls.outcome.cause)
        for r in a.results
        for cls in r.classes
        for c in cls.clients
    }
    origins = sorted(str(w.origin) for c in a.load.mesh.clusters.values() for w in c.workloads)
    return edges, origins


def test_fast_and_careful_roads_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dump = tmp_path / "mesh.json"
    shape = _bench_module().generate(300, dump)
    assert dump.stat().st_size >= load.FAST_PATH_MIN_BYTES
    calls: list[int] = []
    real = load.fast_decode

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        got = real(*args, **kwargs)
        calls.append(0 if got is None else len(got.objects))
        return got

    monkeypatch.setattr(load, "fast_decode", spy)
    fast = _summary(dump)
    assert calls == [shape["objects"]]  # the fast road was taken and read every object
    monkeypatch.setattr(load, "FAST_PATH_MIN_BYTES", 1 << 40)
    careful = _summary(dump)
    assert fast == careful
    assert len(fast[0]) > 1000
