"""From an edge the engine decided to the `LabCase` the lab replays through real Envoy.

The lab knows nothing of the model: this module writes down, for one client and one endpoint
of a destination, what istiod would give each side — the client's cluster TLS (DestinationRule
or auto mTLS, SNI, expected SANs), the endpoint's tlsMode, the server's mode on the target port,
its port class, identities and trust domains — together with the engine's prediction.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from mtls_doctor.edges.authz_seam import AuthzIndex, lab_rbac
from mtls_doctor.edges.client_tls import Client, app_wire
from mtls_doctor.edges.engine import EdgeEngine, Target
from mtls_doctor.edges.registry import Endpoint
from mtls_doctor.lab.case import (
    AutoMtls,
    ClientSide,
    ClusterTls,
    IstioMutual,
    LabCase,
    NoTls,
    Prediction,
    ServerSide,
    SimpleTls,
)
from mtls_doctor.record import Record


class Unreplayable(Record):
    endpoint: str
    reason: str


def _sni(host: str, port: int) -> str:
    return f"outbound_.{port}_._.{host}"


def lab_cases(
    engine: EdgeEngine, client: Client, target: Target
) -> tuple[list[LabCase], list[Unreplayable]]:
    """One LabCase per endpoint of the edge (deduplicated by what the lab would build)."""
    ev = engine.evaluators[client.cluster]
    edge = engine.target_edge(client, target)
    svc, port = target.svc, target.port
    reg = engine.registries[client.cluster]
    if target.endpoint is not None:
        endpoints: tuple[Endpoint, ...] = (target.endpoint,)
    else:
        endpoints = reg.endpoints(svc, port)
    captured = ev.captured(client, svc, port)
    visible = True
    if captured and target.endpoint is None:
        visible, mode, _ = ev.outbound(client, svc, port)
        if not visible and mode == "REGISTRY_ONLY":
            return [], [Unreplayable(svc.display, "blackholed: no upstream to replay")]
    settings = None
    if captured and visible and target.endpoint is None:
        settings, _ = ev.settings(client, svc, port)
    base = app_wire(client, port)
    authz = AuthzIndex(engine.mesh)
    cases: dict[bytes, LabCase] = {}
    skipped: list[Unreplayable] = []
    results = {(r.address, r.workload): r for r in edge.outcome.endpoints}
    for ep in endpoints:
        label = ep.address or ep.workload_key or ep.source.key
        result = results.get((ep.address, ep.workload_key))
        if result is None:
            continue
        if ep.server is None or ep.server_cluster is None:
            skipped.append(Unreplayable(label, "nothing known at this address to stand for"))
            continue
        if result.verdict == "unknown":
            skipped.append(Unreplayable(label, f"the prediction is unknown ({result.cause})"))
            continue
        tls: ClusterTls = NoTls()
        if settings is not None:
            wire, _, _ = ev.endpoint_wire(settings, ep, port, base)
            sni = _sni(svc.hostname, port.number)
            if settings.mode == "istio":
                tls = IstioMutual(
                    sni=(settings.tls.sni if settings.tls and settings.tls.sni else sni),
                    sans=settings.sans,
                )
            elif settings.mode == "auto" and settings.whole_cluster:
                tls = IstioMutual(sni=sni, sans=settings.sans)
            elif settings.mode == "auto":
                ep_mode: Literal["istio", "disabled"] = (
                    "istio" if wire == "istio-mtls" else "disabled"
                )
                tls = AutoMtls(endpoint_tls_mode=ep_mode, sni=sni, sans=settings.sans)
            elif settings.mode == "simple" and settings.tls is not None:
                ca: Literal["system", "mesh", "skip"] = (
                    "skip" if settings.tls.insecure_skip_verify else "system"
                )
                tls = SimpleTls(sni=settings.tls.sni, sans=settings.sans, ca=ca)
            elif settings.mode == "mutual":
                skipped.append(
                    Unreplayable(
                        label, "DestinationRule MUTUAL with user certificates is not replayed"
                    )
                )
                continue
        facts = engine.servers.facts(ep.server_cluster, ep.server, ep.target_port)
        kind = facts.port_kind if facts.port_kind != "passthrough" else "auto"
        chain: Literal["http", "tcp"] = (
            "tcp" if base == "plaintext-tcp" or kind == "tcp" else "http"
        )
        rbac = lab_rbac(authz, facts, ep.target_port, chain)
        if isinstance(rbac, str):
            skipped.append(Unreplayable(label, rbac))
            continue
        case = LabCase(
            client=ClientSide(
                sidecar=captured,
                identity=client.identity,
                root=_root(engine, client.cluster),
                cert_expired=engine.trust is not None
                and engine.trust.expired(
                    client.cluster, client.namespace, client.pods, client.identity
                ),
                cluster_tls=tls,
                passthrough=captured and (not visible or target.endpoint is not None),
            ),
            server=ServerSide(
                sidecar=facts.sidecar,
                identity=(
                    engine.trust.presented(
                        facts.cluster,
                        ep.server.namespace,
                        tuple(p.name for p in ep.server.pods),
                        facts.identity,
                    )
                    if engine.trust is not None
                    else None
                )
                or facts.identity,
                root=_root(engine, facts.cluster),
                cert_expired=engine.trust is not None
                and engine.trust.expired(
                    facts.cluster,
                    ep.server.namespace,
                    tuple(p.name for p in ep.server.pods),
                    facts.identity,
                ),
                mode=facts.pa.mode,
                trust_domains=facts.trust_domains,
                inbound_excluded=facts.inbound_excluded,
                app_tls=facts.app_tls,
                rbac=rbac,
            ),
            predicted=Prediction(result.verdict, result.cause, None),  # type: ignore[arg-type]
            name=f"{client.name} -> {svc.display}:{port.number} @ {label}",
            app_protocol="app-tls"
            if base == "app-tls"
            else ("tcp" if base == "plaintext-tcp" else "http"),
            port_class=kind,
            host=svc.hostname,
            port=port.number,
            source=client.name,
        )
        key = msgspec.json.encode(msgspec.structs.replace(case, name=""))
        cases.setdefault(key, case)
    return list(cases.values()), skipped


def _root(engine: EdgeEngine, cluster: str) -> str:
    """A root name per cluster when certificate inputs say the clusters' roots differ."""
    trust = engine.trust
    if trust is None:
        return "mesh"
    c = trust.view.clusters.get(cluster)
    if c is None or not c.roots:
        return "mesh"
    return "root-" + sorted(c.roots)[0][:12]
