"""The one-pass typed decode of big `kubectl get -o json` dumps gives the same mesh, the same
edges and the same origins as the careful object-by-object road."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtls_doctor.analysis import analyze
from mtls_doctor.model import load
from tests.generated import generate_mesh


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
    shape = generate_mesh(300, dump)
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
