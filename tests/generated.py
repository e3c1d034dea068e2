"""Generated meshes for tests: the benchmark's generator (scripts/bench.py), at small sizes."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def generate_mesh(pods: int, path: Path, **options: bool) -> dict[str, Any]:
    """Write a `kubectl get -A -o json` List with about `pods` pods and the bench's policy mix;
    returns its shape (pods, workloads, namespaces, service_ports, objects)."""
    spec = importlib.util.spec_from_file_location("bench", ROOT / "scripts" / "bench.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    shape: dict[str, Any] = bench.generate(pods, path, **options)
    return shape
