"""Workloads: pods grouped by their owning controller, or a controller's pod template alone.

A `kubectl get -o yaml` dump has Pods (with IPs and, if injected, the sidecar); plain manifests
have only Deployments and friends. Both become `Workload` records: the pods are authoritative
when present, else the template stands for the pods the controller would create.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Final

from mtls_doctor.model import kube
from mtls_doctor.model.objects import Loaded
from mtls_doctor.model.refs import Origin, ResourceRef

SIDECAR_STATUS = "sidecar.istio.io/status"
PROXY_CONTAINER = "istio-proxy"


class PodInstance:
    """One pod of a workload (a plain class: a dump has one per pod, read on every edge)."""

    __slots__ = ("has_sidecar", "ip", "name", "origin")

    def __init__(self, name: str, ip: str | None, origin: Origin, has_sidecar: bool | None) -> None:
        self.name: Final = name
        self.ip: Final = ip
        self.origin: Final = origin
        # True/False when the pod object shows whether the injector ran; None for a template.
        self.has_sidecar: Final = has_sidecar

    def __repr__(self) -> str:
        return f"PodInstance({self.name} {self.ip})"


class Workload:
    """Pods of one controller (or its template). A plain class, not a msgspec record: the
    edge evaluation reads workloads on every edge, and compiled it reads fields directly."""

    __slots__ = (
        "annotations", "cluster", "containers", "from_template", "gateway", "host_network",
        "ips", "key", "kind", "labels", "name", "namespace", "observed_sidecar", "origin", "pods",
        "ref", "service_account",
    )  # fmt: skip

    def __init__(
        self,
        *,
        cluster: str,
        namespace: str,
        name: str,
        kind: str,
        labels: dict[str, str],
        annotations: dict[str, str],
        service_account: str,
        host_network: bool,
        containers: tuple[kube.Container, ...],
        pods: tuple[PodInstance, ...],
        origin: Origin,
        from_template: bool,
        gateway: bool = False,
    ) -> None:
        self.cluster: Final = cluster
        self.namespace: Final = namespace
        self.name: Final = name
        # Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob or Pod
        self.kind: Final = kind
        self.labels: Final = labels
        self.annotations: Final = annotations
        self.service_account: Final = service_account
        self.host_network: Final = host_network
        self.containers: Final = containers
        self.pods: Final = pods
        self.origin: Final = origin
        self.from_template: Final = from_template  # no pod was in the input: the template
        self.gateway: Final = gateway  # an Istio gateway (proxy in router mode), no sidecar
        self.key: Final = f"{namespace}/{name}"
        self.ref: Final = ResourceRef(kind, namespace, name, cluster, origin)
        self.ips: Final = tuple(p.ip for p in pods if p.ip)
        # what the pods show: True/False when any pod says, else None (predict it)
        self.observed_sidecar: Final = _observed_sidecar(pods)

    def __repr__(self) -> str:
        return f"Workload({self.kind} {self.key} {self.cluster})"

    def container_port(self, name_or_number: int | str | None) -> int | None:
        """Resolve a target port (number, or a named container port) to a number."""
        if name_or_number is None:
            return None
        if isinstance(name_or_number, int):
            return name_or_number
        if name_or_number.isdigit():
            return int(name_or_number)
        for c in self.containers:
            for p in c.ports:
                if p.name == name_or_number:
                    return p.container_port
        return None


def _observed_sidecar(pods: tuple[PodInstance, ...]) -> bool | None:
    seen = [p.has_sidecar for p in pods if p.has_sidecar is not None]
    if not seen:
        return None
    return any(seen)


GATEWAY_LABELS = {"istio": ("ingressgateway", "egressgateway", "eastwestgateway")}
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"


def is_gateway(labels: dict[str, str], spec: kube.PodSpec) -> bool:
    """An Istio gateway: its proxy runs as a router; PeerAuthentication does not govern it."""
    if GATEWAY_NAME_LABEL in labels or labels.get("istio") in GATEWAY_LABELS["istio"]:
        return True
    return any(c.name == PROXY_CONTAINER and "router" in c.args for c in spec.containers)


def pod_has_sidecar(pod: kube.Pod) -> bool | None:
    """Whether a pod object shows an injected sidecar; None when it is a manifest not yet run."""
    if SIDECAR_STATUS in pod.metadata.annotations:
        return True
    names = {c.name for c in (*pod.spec.containers, *pod.spec.init_containers)}
    if PROXY_CONTAINER in names:
        return True
    if pod.status is not None and (pod.status.phase or pod.status.pod_ip):
        return False  # it ran, and the injector did not add a proxy
    return None


def _pod_ip(pod: kube.Pod) -> str | None:
    if pod.status is None:
        return None
    return pod.status.pod_ip or next((p.ip for p in pod.status.pod_ips if p.ip), None)


def _controller_of(
    ref: kube.OwnerRef | None, pod: kube.Pod, owners: dict[tuple[str, str], kube.Meta]
) -> tuple[str, str]:
    """(kind, name) of the workload that owns a pod, following ReplicaSet -> Deployment and
    Job -> CronJob through the owner objects when present, else by Kubernetes' naming."""
    if ref is None:
        return "Pod", pod.metadata.name
    if ref.kind == "ReplicaSet":
        rs = owners.get(("ReplicaSet", ref.name))
        if rs is not None:
            up = _controller_ref(rs.owner_references)
            if up is not None and up.kind == "Deployment":
                return "Deployment", up.name
            return "ReplicaSet", ref.name
        h = pod.metadata.labels.get("pod-template-hash")
        if h and ref.name.endswith(f"-{h}"):
            return "Deployment", ref.name[: -len(h) - 1]
        return "ReplicaSet", ref.name
    if ref.kind == "Job":
        job = owners.get(("Job", ref.name))
        if job is not None:
            up = _controller_ref(job.owner_references)
            if up is not None and up.kind == "CronJob":
                return "CronJob", up.name
        return "Job", ref.name
    return ref.kind, ref.name


def _controller_ref(refs: list[kube.OwnerRef]) -> kube.OwnerRef | None:
    for r in refs:
        if r.controller:
            return r
    return refs[0] if refs else None


def _template(obj: Any) -> kube.PodTemplate | None:
    if isinstance(obj, kube.CronJob):
        return obj.spec.job_template.spec.template
    spec = getattr(obj, "spec", None)
    return getattr(spec, "template", None)


def _service_account(spec: kube.PodSpec) -> str:
    return spec.service_account_name or spec.service_account or "default"


def build_workloads(pods: list[Loaded[kube.Pod]], controllers: list[Loaded[Any]]) -> list[Workload]:
    """Workloads of one cluster, in a stable order (namespace, name)."""
    owners: dict[str, dict[tuple[str, str], kube.Meta]] = defaultdict(dict)
    controller_by_key: dict[tuple[str, str, str], Loaded[Any]] = {}
    for c in controllers:
        meta, kind = c.meta, c.kind
        owners[meta.namespace][(kind, meta.name)] = meta
        controller_by_key[(meta.namespace, kind, meta.name)] = c
    # Pods of one owner that differ in what decides mTLS (a sidecar, the tlsMode label) are
    # kept apart: mid-rollout, one StatefulSet can have pods with and without a sidecar.
    # Each group: its first pod, and every member as a PodInstance.
    by_owner: dict[
        tuple[str, str, str, bool | None, str | None],
        tuple[Loaded[kube.Pod], list[PodInstance]],
    ] = {}
    no_owners: dict[tuple[str, str], kube.Meta] = {}
    for p in pods:
        pod = p.obj
        meta = pod.metadata
        ns = meta.namespace
        ref = _controller_ref(meta.owner_references)
        kind, name = _controller_of(ref, pod, owners.get(ns, no_owners))
        sidecar = pod_has_sidecar(pod)
        instance = PodInstance(meta.name, _pod_ip(pod), p.origin, sidecar)
        group_key = (ns, kind, name, sidecar, meta.labels.get("security.istio.io/tlsMode"))
        group = by_owner.get(group_key)
        if group is None:
            by_owner[group_key] = (p, [instance])
        else:
            group[1].append(instance)

    result: dict[tuple[str, str, str], Workload] = {}
    variants: list[Workload] = []
    for (ns, kind, name, _, _), (first, instances) in by_owner.items():
        ctrl = controller_by_key.get((ns, kind, name))
        spec = first.obj.spec
        labels = first.obj.metadata.labels
        w = Workload(
            cluster=first.cluster,
            namespace=ns,
            name=name,
            kind=kind,
            labels=dict(labels),
            annotations=dict(first.obj.metadata.annotations),
            service_account=_service_account(spec),
            host_network=spec.host_network,
            containers=tuple(c for c in spec.containers if c.name != PROXY_CONTAINER),
            pods=tuple(instances),
            origin=ctrl.origin if ctrl is not None else first.origin,
            from_template=False,
            gateway=is_gateway(labels, spec),
        )
        if (ns, kind, name) in result:
            variants.append(w)
        else:
            result[(ns, kind, name)] = w
    for c in controllers:
        key = (c.namespace, c.kind, c.name)
        if key in result or (c.kind == "ReplicaSet" and _controller_ref(c.meta.owner_references)):
            continue
        tpl = _template(c.obj)
        if tpl is None:
            continue
        result[key] = Workload(
            cluster=c.cluster,
            namespace=c.namespace,
            name=c.name,
            kind=c.kind,
            labels=dict(tpl.metadata.labels),
            annotations=dict(tpl.metadata.annotations),
            service_account=_service_account(tpl.spec),
            host_network=tpl.spec.host_network,
            containers=tuple(tpl.spec.containers),
            pods=(),
            origin=c.origin,
            from_template=True,
            gateway=is_gateway(tpl.metadata.labels, tpl.spec),
        )
    return sorted([*result.values(), *variants], key=lambda w: (w.namespace, w.name, w.kind))
