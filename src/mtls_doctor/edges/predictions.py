"""What the semantics predict a workload's own proxy holds: its outbound clusters' TLS and its
inbound ports' mTLS modes — to compare with the proxy's real config dump (`envoy.compare`)."""

from __future__ import annotations

from mtls_doctor.edges.engine import EdgeEngine
from mtls_doctor.envoy.compare import PredictedCluster, PredictedInbound
from mtls_doctor.envoy.records import TlsMode
from mtls_doctor.model.workloads import Workload

_MODES: dict[str, TlsMode] = {
    "none": "none",
    "istio": "istio-mtls",
    "auto": "istio-mtls",
    "simple": "tls",
    "mutual": "mtls",
}


def predicted_clusters(engine: EdgeEngine, cluster: str, w: Workload) -> list[PredictedCluster]:
    """One prediction per service port the workload's sidecar has a cluster for."""
    client = next(
        (
            c
            for c in engine.clients(cluster)
            if c.name == w.key and c.pods == tuple(p.name for p in w.pods)
        ),
        None,
    )
    if client is None or not client.sidecar:
        return []
    ev = engine.evaluators[cluster]
    out: list[PredictedCluster] = []
    for svc, port in engine.destinations(cluster):
        visible, _, _ = ev.outbound(client, svc, port)
        if not visible:
            continue
        settings, _ = ev.settings(client, svc, port)
        refs = tuple(r.key for r in (settings.dr.resources if settings.dr else ()))
        out.append(
            PredictedCluster(
                host=svc.hostname,
                port=port.number,
                mode=_MODES[settings.mode],
                auto_mtls=settings.mode == "auto" and not settings.whole_cluster,
                sans=settings.sans if settings.mode in ("istio", "auto") else None,
                resources=refs,
            )
        )
    return out


def predicted_inbound(engine: EdgeEngine, cluster: str, w: Workload) -> list[PredictedInbound]:
    """The mode the server sidecar enforces on each target port its Services declare."""
    c = engine.mesh.clusters[cluster]
    if not c.injection(w).injected or w.gateway:
        return []
    ports: dict[int, None] = {}
    for s in c.services_by_ns.get(w.namespace, ()):
        sel = s.obj.spec.selector
        if not sel or any(w.labels.get(k) != v for k, v in sel.items()):
            continue
        for p in s.obj.spec.ports:
            target = w.container_port(p.target_port if p.target_port is not None else p.port)
            if target is not None:
                ports[target] = None
    out = []
    for number in ports:
        facts = engine.servers.facts(cluster, w, number)
        if facts.inbound_excluded:
            continue
        out.append(
            PredictedInbound(number, facts.pa.mode, tuple(r.key for r in facts.pa.resources))
        )
    return out
