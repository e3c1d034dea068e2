"""Callers: every workload of a cluster (with or without a sidecar), and the pseudo-clients
outside the mesh that call into it (kube-apiserver webhooks, kubelet probes)."""

from __future__ import annotations

from mtls_doctor.edges.client_tls import Client
from mtls_doctor.edges.server import port_list
from mtls_doctor.model.mesh import ClusterIndex
from mtls_doctor.model.workloads import Workload
from mtls_doctor.semantics.identity import spiffe_id

EXCLUDE_OUT_PORTS = "traffic.sidecar.istio.io/excludeOutboundPorts"
EXCLUDE_OUT_RANGES = "traffic.sidecar.istio.io/excludeOutboundIPRanges"
INCLUDE_OUT_RANGES = "traffic.sidecar.istio.io/includeOutboundIPRanges"


def _ranges(value: str | None) -> tuple[str, ...]:
    return tuple(x.strip() for x in (value or "").split(",") if x.strip())


def workload_client(c: ClusterIndex, w: Workload) -> Client:
    inj = c.injection(w)
    ann = w.annotations
    include = ann.get(INCLUDE_OUT_RANGES)
    return Client(
        name=w.key,
        cluster=c.name,
        namespace=w.namespace,
        labels=w.labels,
        sidecar=inj.injected,
        sidecar_why=inj.why,
        refs=inj.resources,
        exclude_ports=port_list(ann.get(EXCLUDE_OUT_PORTS)),
        exclude_ranges=_ranges(ann.get(EXCLUDE_OUT_RANGES)),
        include_ranges=None if include is None else _ranges(include),
        sidecar_resource=c.sidecars.for_workload(w.namespace, w.labels) if inj.injected else None,
        identity=spiffe_id(c.config.trust_domain, w.namespace, w.service_account)
        if inj.injected
        else None,
        pods=tuple(p.name for p in w.pods),
        network=c.network_of(w.labels),
    )


def apiserver(c: ClusterIndex) -> Client:
    return Client(
        name="external/kube-apiserver",
        cluster=c.name,
        namespace=None,
        labels={},
        sidecar=False,
        sidecar_why="the kube-apiserver runs outside the mesh and calls webhooks over TLS "
        "without a client certificate",
        refs=(),
        sends_tls=True,
    )


def kubelet(c: ClusterIndex, sends_tls: bool = False) -> Client:
    """The kubelet as a prober (`sends_tls`: of HTTPS probes)."""
    return Client(
        name="external/kubelet",
        cluster=c.name,
        namespace=None,
        labels={},
        sidecar=False,
        sidecar_why="the kubelet probes pods from the node, outside the mesh",
        refs=(),
        sends_tls=sends_tls,
    )
