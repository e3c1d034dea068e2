"""The Mesh snapshot: every cluster's objects, indexed once, and who discovers whom."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import msgspec
import yaml

from mtls_doctor.model import istio, kube
from mtls_doctor.model.meshconfig import DEFAULT_MESH_CONFIG, MeshConfig
from mtls_doctor.model.objects import Loaded
from mtls_doctor.model.refs import ResourceRef
from mtls_doctor.model.workloads import Workload, build_workloads
from mtls_doctor.record import Record
from mtls_doctor.semantics.destinationrule import DRIndex
from mtls_doctor.semantics.injection import Injection, decide
from mtls_doctor.semantics.peerauthn import PAIndex
from mtls_doctor.semantics.scope import SidecarIndex
from mtls_doctor.semantics.trace import selects
from mtls_doctor.sources.problems import InputProblem

REMOTE_SECRET_LABEL = "istio/multiCluster"
NETWORK_LABEL = "topology.istio.io/network"
CLUSTER_ANNOTATION = "networking.istio.io/cluster"
MESH_CONFIGMAPS = ("istio",)


class MeshConfigSource(Record):
    config: MeshConfig
    ref: ResourceRef | None  # the ConfigMap or file it came from; None for Istio's defaults


def parse_mesh_config(text: str) -> MeshConfig:
    """MeshConfig from the YAML text of a `mesh` key (or a whole file). Raises ValueError."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("mesh config is not a mapping")
    if data.get("kind") == "ConfigMap":
        mesh_text = (data.get("data") or {}).get("mesh")
        if not isinstance(mesh_text, str):
            raise ValueError("ConfigMap has no data.mesh")
        return parse_mesh_config(mesh_text)
    try:
        return msgspec.convert(data, type=MeshConfig, strict=False)
    except msgspec.ValidationError as exc:
        raise ValueError(str(exc)) from exc


class ClusterIndex:
    """One cluster's objects, with the indexes the semantics need."""

    entries_by_ns: dict[str, list[Loaded[istio.WorkloadEntry]]]
    service_entries_by_ns: dict[str, list[Loaded[istio.ServiceEntry]]]

    def __init__(
        self,
        name: str,
        objects: list[Loaded[Any]] | dict[str, list[Loaded[Any]]],
        mesh_config: MeshConfigSource | None,
        problems: list[InputProblem],
        *,
        base: ClusterIndex | None = None,
    ) -> None:
        self.name = name
        if base is not None:  # `with_entries`: everything shared but the two entry kinds
            self._share(base)
            return
        by_kind: dict[str, list[Loaded[Any]]]
        if isinstance(objects, dict):  # already filed by kind (`load_mesh`)
            by_kind = objects
        else:
            by_kind = defaultdict(list)
            for o in objects:
                by_kind[o.kind].append(o)
        self.by_kind = by_kind
        self.mesh = mesh_config or self._find_mesh_config(by_kind.get("ConfigMap", []), problems)
        cfg = self.config = self.mesh.config  # read on every edge: a field, not a property
        self.trust_domains: tuple[str, ...] = cfg.trust_domains  # read for every server port
        self.namespaces: dict[str, Loaded[kube.Namespace]] = {
            n.name: n for n in by_kind.get("Namespace", [])
        }
        controllers = [
            o
            for k in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
            for o in by_kind.get(k, [])
        ]
        self.workloads: list[Workload] = build_workloads(by_kind.get("Pod", []), controllers)
        self.workloads_by_ns: dict[str, list[Workload]] = defaultdict(list)
        for w in self.workloads:
            self.workloads_by_ns[w.namespace].append(w)
        self.services: list[Loaded[kube.Service]] = by_kind.get("Service", [])
        self.services_by_ns: dict[str, list[Loaded[kube.Service]]] = defaultdict(list)
        for s in self.services:
            self.services_by_ns[s.obj.metadata.namespace].append(s)
        self.service_entries: list[Loaded[istio.ServiceEntry]] = by_kind.get("ServiceEntry", [])
        self.workload_entries: list[Loaded[istio.WorkloadEntry]] = by_kind.get("WorkloadEntry", [])
        self._index_entries()
        self.authorization_policies: list[Loaded[istio.AuthorizationPolicy]] = by_kind.get(
            "AuthorizationPolicy", []
        )
        self.webhooks: list[Loaded[Any]] = [
            *by_kind.get("MutatingWebhookConfiguration", []),
            *by_kind.get("ValidatingWebhookConfiguration", []),
        ]
        self.pa = PAIndex(by_kind.get("PeerAuthentication", []), cfg.root_namespace)
        self.dr = DRIndex(
            by_kind.get("DestinationRule", []),
            cfg.root_namespace,
            tuple(cfg.default_destination_rule_export_to),
        )
        self.sidecars = SidecarIndex(by_kind.get("Sidecar", []), cfg.root_namespace)
        self.remote_secret_clusters = self._remote_secrets(by_kind.get("Secret", []))
        self._injection: dict[int, Injection] = {}
        # selector lookups, built per namespace on first use
        self._workload_labels: dict[str, dict[tuple[str, str], list[Workload]]] = {}
        self._selected_by: dict[int, list[Workload]] = {}  # by Service object
        self._selecting: dict[str, dict[int, list[Loaded[kube.Service]]]] = {}  # ns, workload
        self._services_by_name: dict[tuple[str, str], Loaded[kube.Service]] | None = None

    def _share(self, base: ClusterIndex) -> None:
        self.by_kind = dict(base.by_kind)
        self.mesh = base.mesh
        self.config = base.config
        self.trust_domains = base.trust_domains
        self.namespaces = base.namespaces
        self.workloads = base.workloads
        self.workloads_by_ns = base.workloads_by_ns
        self.services = base.services
        self.services_by_ns = base.services_by_ns
        self.service_entries = base.service_entries
        self.workload_entries = base.workload_entries
        self.entries_by_ns = base.entries_by_ns
        self.service_entries_by_ns = base.service_entries_by_ns
        self.authorization_policies = base.authorization_policies
        self.webhooks = base.webhooks
        self.pa = base.pa
        self.dr = base.dr
        self.sidecars = base.sidecars
        self.remote_secret_clusters = base.remote_secret_clusters
        self._injection = base._injection
        self._workload_labels = base._workload_labels
        self._selected_by = base._selected_by
        self._selecting = base._selecting
        self._services_by_name = base._services_by_name

    @staticmethod
    def _find_mesh_config(
        configmaps: list[Loaded[kube.ConfigMap]], problems: list[InputProblem]
    ) -> MeshConfigSource:
        candidates = [c for c in configmaps if c.name in MESH_CONFIGMAPS and "mesh" in c.obj.data]
        candidates.sort(key=lambda c: (c.namespace != "istio-system", c.namespace))
        for c in candidates:
            try:
                cfg = parse_mesh_config(c.obj.data["mesh"])
            except ValueError as exc:
                problems.append(
                    InputProblem(c.origin, f"ConfigMap {c.namespace}/{c.name} key mesh: {exc}")
                )
                continue
            return MeshConfigSource(
                cfg, ResourceRef("ConfigMap", c.namespace, c.name, c.cluster, c.origin)
            )
        return MeshConfigSource(DEFAULT_MESH_CONFIG, None)

    @staticmethod
    def _remote_secrets(secrets: list[Loaded[kube.Secret]]) -> frozenset[str]:
        names: set[str] = set()
        for s in secrets:
            if s.meta.labels.get(REMOTE_SECRET_LABEL) != "true":
                continue
            names.update(s.obj.data.keys())
            if CLUSTER_ANNOTATION in s.meta.annotations:
                names.add(s.meta.annotations[CLUSTER_ANNOTATION])
        return frozenset(names)

    def _index_entries(self) -> None:
        self.entries_by_ns = defaultdict(list)
        for we in self.workload_entries:
            self.entries_by_ns[we.obj.metadata.namespace].append(we)
        self.service_entries_by_ns = defaultdict(list)
        for se in self.service_entries:
            self.service_entries_by_ns[se.obj.metadata.namespace].append(se)

    def with_entries(self, patched: Sequence[Loaded[Any]]) -> ClusterIndex:
        """This cluster with some ServiceEntries and WorkloadEntries replaced by the patched
        objects of the same kind, namespace and name. Nothing else here is derived from those
        two kinds, so the workloads, the policy indexes and the caches are shared, not rebuilt
        (a verified patch costs one edge, not one cluster)."""
        kinds = {p.kind for p in patched}
        if not kinds <= {"ServiceEntry", "WorkloadEntry"}:
            raise ValueError(
                f"with_entries replaces ServiceEntries and WorkloadEntries, not {kinds}"
            )
        swap = {(p.kind, p.namespace, p.name): p for p in patched}
        out = ClusterIndex(self.name, [], None, [], base=self)
        for kind in kinds:
            out.by_kind[kind] = [
                swap.get((kind, o.namespace, o.name), o) for o in self.by_kind.get(kind, [])
            ]
        out.service_entries = out.by_kind.get("ServiceEntry", [])
        out.workload_entries = out.by_kind.get("WorkloadEntry", [])
        out._index_entries()
        return out

    def selected_workloads(self, namespace: str, selector: dict[str, str] | None) -> list[Workload]:
        """The namespace's workloads a `matchLabels` selector picks (empty: all of them), in
        the order of `workloads_by_ns`. Looked up by the selector's rarest label, so a Service
        costs its own pods, not every pod of its namespace."""
        pool = self.workloads_by_ns.get(namespace, [])
        if not selector:
            return list(pool)
        by_label = self._workload_labels.get(namespace)
        if by_label is None:
            by_label = self._workload_labels[namespace] = defaultdict(list)
            for w in pool:
                for pair in w.labels.items():
                    by_label[pair].append(w)
        rarest: list[Workload] | None = None
        for pair in selector.items():
            found = by_label.get(pair)
            if not found:
                return []
            if rarest is None or len(found) < len(rarest):
                rarest = found
        return [w for w in rarest or () if selects(selector, w.labels)]

    def selected_by(self, s: Loaded[kube.Service]) -> list[Workload]:
        """The workloads a Service of this cluster selects (none without a selector), worked
        out once per Service: its every port, and the checks, ask again."""
        got = self._selected_by.get(id(s))  # Services live as long as the index: ids stay unique
        if got is None:
            selector = s.obj.spec.selector
            got = self._selected_by[id(s)] = (
                self.selected_workloads(s.namespace, selector) if selector else []
            )
        return got

    def selecting_services(self, w: Workload) -> list[Loaded[kube.Service]]:
        """The Services of the workload's namespace whose (non-empty) selector picks it, in
        the order of `services_by_ns`: each Service's `selected_by`, turned around once per
        namespace. `w` is a workload of this index (every workload is: `build_workloads`)."""
        by_workload = self._selecting.get(w.namespace)
        if by_workload is None:
            by_workload = self._selecting[w.namespace] = {
                id(x): [] for x in self.workloads_by_ns.get(w.namespace, ())
            }
            for s in self.services_by_ns.get(w.namespace, ()):
                for x in self.selected_by(s):
                    by_workload[id(x)].append(s)
        return list(by_workload[id(w)])  # workloads live as long as the index: ids are theirs

    def service_named(self, namespace: str, name: str) -> Loaded[kube.Service] | None:
        if self._services_by_name is None:
            self._services_by_name = {(s.namespace, s.name): s for s in self.services}
        return self._services_by_name.get((namespace, name))

    def service_entry_named(self, namespace: str, name: str) -> Loaded[istio.ServiceEntry] | None:
        return next(
            (s for s in self.service_entries_by_ns.get(namespace, ()) if s.name == name), None
        )

    def selected_entries(
        self, namespace: str, selector: dict[str, str]
    ) -> list[Loaded[istio.WorkloadEntry]]:
        """The namespace's WorkloadEntries a `matchLabels` selector picks."""
        entries = self.entries_by_ns.get(namespace, ())
        return [we for we in entries if selects(selector, entry_labels(we))]

    def network_of(self, labels: dict[str, str]) -> str | None:
        """A workload's network: its `topology.istio.io/network` label, else the cluster's (the
        label on the root namespace), else None (one flat network)."""
        if NETWORK_LABEL in labels:
            return labels[NETWORK_LABEL]
        root = self.namespaces.get(self.config.root_namespace)
        return root.meta.labels.get(NETWORK_LABEL) if root is not None else None

    def namespace_ref(self, ns: str) -> ResourceRef | None:
        n = self.namespaces.get(ns)
        return None if n is None else ResourceRef("Namespace", "", ns, self.name, n.origin)

    def injection(self, w: Workload) -> Injection:
        """Whether `w` (a workload of this cluster) has a sidecar; cached."""
        got = self._injection.get(id(w))
        if got is None:
            ns = self.namespaces.get(w.namespace)
            got = decide(w, None if ns is None else ns.meta.labels, self.namespace_ref(w.namespace))
            self._injection[id(w)] = got
        return got


def entry_labels(we: Loaded[istio.WorkloadEntry]) -> dict[str, str]:
    """A WorkloadEntry's labels as istiod reads them: the spec's, the metadata's over them."""
    return {**we.obj.spec.labels, **we.meta.labels}


class Mesh:
    """All clusters of the input, and which cluster's registry holds which clusters' services."""

    discovery: dict[str, tuple[str, ...]]

    def __init__(
        self,
        clusters: dict[str, ClusterIndex],
        discovery_overrides: dict[str, frozenset[str]] | None = None,
        *,
        base: Mesh | None = None,
    ) -> None:
        self.clusters = clusters
        # pod addresses by IP, with the cluster's name: built on the first lookup (only
        # WorkloadEntries and calls to a pod's IP ask), shared with `with_cluster`'s copies
        self._by_ip: dict[str, list[tuple[str, Workload]]] | None = None
        self._base = base
        if base is not None:  # `with_cluster`: discovery and addresses shared
            self.discovery = dict(base.discovery)
            return
        self.discovery = {}
        for name, c in clusters.items():
            seen = {name} | {r for r in c.remote_secret_clusters if r in clusters}
            if discovery_overrides and name in discovery_overrides:
                seen |= {r for r in discovery_overrides[name] if r in clusters}
            self.discovery[name] = tuple(sorted(seen, key=lambda n: (n != name, n)))

    @property
    def multi_cluster(self) -> bool:
        return len(self.clusters) > 1

    def _addresses(self) -> dict[str, list[tuple[str, Workload]]]:
        if self._base is not None:
            return self._base._addresses()
        if self._by_ip is None:
            by_ip: dict[str, list[tuple[str, Workload]]] = defaultdict(list)
            for name, c in self.clusters.items():
                for w in c.workloads:
                    for p in w.pods:
                        if p.ip:
                            by_ip[p.ip].append((name, w))
            self._by_ip = by_ip
        return self._by_ip

    def workload_at(self, ip: str) -> tuple[ClusterIndex, Workload] | None:
        found = self._addresses().get(ip)
        return (self.clusters[found[0][0]], found[0][1]) if found else None

    def with_cluster(self, index: ClusterIndex) -> Mesh:
        """This mesh with one cluster's index replaced by a copy with the same workloads
        (`ClusterIndex.with_entries`): the discovery and the address index are shared."""
        return Mesh({**self.clusters, index.name: index}, base=self)
