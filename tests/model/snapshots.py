"""What a load gives, as plain data: to compare the roads an input can take."""

from __future__ import annotations

import msgspec

from mtls_doctor.model import load


def snapshot(result: load.LoadResult) -> tuple[object, ...]:
    """Every object (typed content and origin), workload, pod and problem of a load."""
    objs = sorted(
        (cluster, kind, str(o.origin), msgspec.json.encode(o.obj))
        for cluster, c in result.mesh.clusters.items()
        for kind, items in c.by_kind.items()
        for o in items
    )
    workloads = [
        (w.key, w.kind, str(w.origin), [(p.name, p.ip, str(p.origin)) for p in w.pods])
        for c in result.mesh.clusters.values()
        for w in c.workloads
    ]
    problems = [(str(p.origin), p.message, p.level) for p in result.problems]
    return objs, workloads, problems, result.objects
