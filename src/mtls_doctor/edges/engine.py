"""Edges for a whole mesh, computed once per equivalence class (reference/performance.md §6).

Clients that no policy tells apart for a destination share one evaluation. A client's
*relative key* for a destination keeps only what the client side of that edge reads: its
cluster, sidecar and capture of the port, its Sidecar resource, whether it speaks TLS itself,
its namespace only when the destination makes namespaces differ (the service's own namespace,
the root namespace, namespaces with a DestinationRule for the host, explicit exportTo entries),
and its labels only where a workload-selector DestinationRule could pick it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any, Final

import msgspec

from mtls_doctor.edges.authz import AuthzSeam, allow_all
from mtls_doctor.edges.client_tls import Client
from mtls_doctor.edges.client_tls import captured as is_captured
from mtls_doctor.edges.clients import apiserver, kubelet, workload_client
from mtls_doctor.edges.evaluate import Evaluator, direct_service
from mtls_doctor.edges.records import Edge, Outcome
from mtls_doctor.edges.registry import Endpoint, MeshService, Registry, SvcPort
from mtls_doctor.edges.server import ServerSides
from mtls_doctor.edges.trust import TrustCheck
from mtls_doctor.model.mesh import Mesh
from mtls_doctor.record import Record
from mtls_doctor.semantics.inbound import Wire
from mtls_doctor.semantics.scope import CompiledScope, is_exported
from mtls_doctor.semantics.trace import Step

Destination = tuple[MeshService, SvcPort]
# Stands for any client namespace a destination does not single out (no real name has a NUL).
OTHER_NS = "\0other"
RelevanceHook = Callable[[Client, MeshService, SvcPort], Any]


class ClientGroup:
    """Clients of one cluster that look the same to every destination, namespaces aside."""

    __slots__ = ("by_namespace", "key", "position", "sidecar", "sizes", "total")

    def __init__(
        self,
        key: tuple[Any, ...],
        by_namespace: dict[str, tuple[Client, ...]],
        sizes: dict[str, int],
        total: int,
        sidecar: bool,
        position: int = 0,
    ) -> None:
        self.key: Final = key
        self.by_namespace: Final = by_namespace
        self.sizes: Final = sizes
        self.total: Final = total
        self.sidecar: Final = sidecar
        self.position: Final = position  # in EdgeEngine.groups(cluster)


class EdgeEngine:
    def __init__(
        self,
        mesh: Mesh,
        authz: AuthzSeam = allow_all,
        authz_relevance: RelevanceHook | None = None,
        trust: TrustCheck | None = None,
    ) -> None:
        self.mesh = mesh
        self.servers = ServerSides(mesh)
        self.registries = {name: Registry(mesh, name) for name in mesh.clusters}
        self.evaluators = {
            name: Evaluator(reg, self.servers, authz, trust)
            for name, reg in self.registries.items()
        }
        self.trust = trust
        self.authz_relevance = authz_relevance
        self._memo: dict[tuple[Any, ...], Outcome] = {}
        self._clients: dict[str, tuple[Client, ...]] = {}
        self._relevant_ns: dict[tuple[str, str, str], tuple[frozenset[str], frozenset[str]]] = {}
        self._selector_ns: dict[str, frozenset[str]] = {}
        self._groups: dict[str, list[ClientGroup]] = {}
        self._groups_in: dict[str, dict[str, tuple[int, ...]]] = {}
        # by Sidecar object: every object lives as long as the engine, so ids stay unique
        self._signatures: dict[int, bytes] = {}
        self.class_cache: object = None  # owned by edges.classes (super-groups)
        self.evaluations = 0

    @classmethod
    def with_policies(cls, mesh: Mesh, trust: TrustCheck | None = None) -> EdgeEngine:
        """The engine as `analyze` builds it: AuthorizationPolicies evaluated on every edge."""
        from mtls_doctor.edges.authz_seam import make_authz

        seam, relevance = make_authz(mesh)
        return cls(mesh, seam, relevance, trust=trust)

    # -- inventory ---------------------------------------------------------------------------

    def clients(self, cluster: str) -> tuple[Client, ...]:
        got = self._clients.get(cluster)
        if got is None:
            c = self.mesh.clusters[cluster]
            got = tuple(workload_client(c, w) for w in c.workloads)
            self._clients[cluster] = got
        return got

    def destinations(self, cluster: str) -> Iterator[Destination]:
        for svc in self.registries[cluster].services:
            for port in svc.ports:
                if port.protocol.port_class != "udp":
                    yield svc, port

    def find_service(
        self, cluster: str, host: str, client_ns: str | None = None
    ) -> MeshService | None:
        """A service by the name a client would dial: FQDN, ServiceEntry host, or short name."""
        by_host = self.registries[cluster].by_host
        candidates = [host]
        if client_ns:
            candidates.append(f"{host}.{client_ns}.svc.cluster.local")
        candidates += [f"{host}.svc.cluster.local", f"{host}.cluster.local"]
        for name in candidates:
            found = by_host.get(name)
            if found:
                return found[0]
        return None

    # -- relative keys -----------------------------------------------------------------------

    def _relevant_namespaces(self, cluster: str, svc: MeshService) -> frozenset[str]:
        return self._namespaces_apart(cluster, svc)[0]

    def _namespaces_apart(
        self, cluster: str, svc: MeshService
    ) -> tuple[frozenset[str], frozenset[str]]:
        """(every namespace the destination singles out, those singled out by a
        DestinationRule or an exportTo entry rather than as the service's own namespace)."""
        key = (cluster, svc.hostname, svc.namespace)
        got = self._relevant_ns.get(key)
        if got is None:
            idx = self.mesh.clusters[cluster]
            rules = idx.dr.matching(svc.hostname)
            dr_ns = {r.namespace for r in rules}
            dr_export = {e for r in rules for e in (r.obj.spec.export_to or ())}
            export = {e for e in (*svc.export_to, *dr_export) if e not in (".", "*", "~")}
            beyond = frozenset({*dr_ns, *export})
            got = self._relevant_ns[key] = (beyond | {svc.namespace}, beyond)
        return got

    def _own_namespace_alike(self, client: Client, svc: MeshService) -> bool:
        """Whether a client in the service's own namespace reads the same settings as one in
        a namespace the destination does not single out. The namespace then only matters
        through visibility (kept in the key as the outbound answer): no DestinationRule for
        the host in it (so both look the rule up in the same places), no exportTo naming it,
        no workload-selector rule there, and no per-namespace certificates to check."""
        if self.trust is not None or client.namespace in self._selector_namespaces(client.cluster):
            return False
        return client.namespace not in self._namespaces_apart(client.cluster, svc)[1]

    def _selector_namespaces(self, cluster: str) -> frozenset[str]:
        got = self._selector_ns.get(cluster)
        if got is None:
            idx = self.mesh.clusters[cluster]
            got = frozenset(r.namespace for r in idx.dr.all if r.obj.spec.workload_selector)
            self._selector_ns[cluster] = got
        return got

    def sidecar_signature(self, client: Client) -> bytes | None:
        """Sidecars with the same spec scope their clients the same way ("." is relative)."""
        side = client.sidecar_resource
        if side is None:
            return None
        got = self._signatures.get(id(side))
        if got is None:
            got = self._signatures[id(side)] = msgspec.json.encode(side.obj.spec)
        return got

    def _scope(self, cluster: str, client: Client) -> CompiledScope:
        return self.evaluators[cluster].compiled_scope(client)

    def group_scope(self, cluster: str, group: ClientGroup) -> CompiledScope:
        first = next(iter(group.by_namespace.values()))[0]
        return self._scope(cluster, first)

    def exported_to_others(self, cluster: str, svc: MeshService) -> bool:
        """Whether the service is exported to namespaces it does not name (most are)."""
        cfg = self.mesh.clusters[cluster].config
        return is_exported(svc.namespace, svc.export_to, OTHER_NS, cfg)

    def _outbound_key(
        self, client: Client, rel_ns: str | None, svc: MeshService, port: SvcPort
    ) -> tuple[bool, str]:
        """(visible, outbound mode) as the shared outcome needs it."""
        cfg = self.mesh.clusters[client.cluster].config
        ns = rel_ns if rel_ns is not None else OTHER_NS
        exported = is_exported(svc.namespace, svc.export_to, ns, cfg)
        scope = self._scope(client.cluster, client)
        visible = exported and scope.sees(ns, svc.namespace, svc.hostname, port.number)
        return visible, "" if visible else scope.mode

    def relative_key(self, client: Client, svc: MeshService, port: SvcPort) -> tuple[Any, ...]:
        ns = client.namespace
        rel_ns = (
            ns if ns is not None and ns in self._relevant_namespaces(client.cluster, svc) else None
        )
        seen_as = rel_ns  # visibility is answered for the real namespace, kept in the key
        if rel_ns == svc.namespace and self._own_namespace_alike(client, svc):
            rel_ns = None
        labels: Any = None
        if rel_ns is not None and rel_ns in self._selector_namespaces(client.cluster):
            labels = tuple(sorted(client.labels.items()))
        captured = is_captured(client, svc, port)
        if not captured and self.trust is None:
            # the app's own bytes: no DestinationRule or visibility is read for them
            rel_ns, labels = None, None
        outbound = (
            self._outbound_key(client, seen_as, svc, port) if captured and ns is not None else None
        )
        extra = self.authz_relevance(client, svc, port) if self.authz_relevance else None
        if self.trust is not None and self.trust.has_workload_certs(client.cluster):
            extra = (extra, client.name)  # its own certificate may differ from its neighbours'
        return (
            client.cluster,
            client.network,
            client.sidecar,
            captured,
            outbound,
            client.sends_tls,
            rel_ns,
            labels,
            ns is None,
            extra,
        )

    # -- evaluation --------------------------------------------------------------------------

    def outcome(self, client: Client, svc: MeshService, port: SvcPort) -> Outcome:
        key = (id(svc), port.number, *self.relative_key(client, svc, port))
        got = self._memo.get(key)
        if got is None:
            self.evaluations += 1
            got = self.evaluators[client.cluster].evaluate(client, svc, port)
            self._memo[key] = got
        return got

    def edge(self, client: Client, svc: MeshService, port: SvcPort) -> Edge:
        return self.materialize(client, svc, port, self.outcome(client, svc, port))

    def materialize(self, client: Client, svc: MeshService, port: SvcPort, o: Outcome) -> Edge:
        ev = self.evaluators[client.cluster]
        return materialize(ev, client, svc, port, o, self.mesh.multi_cluster)

    def all_edges(self) -> Iterator[Edge]:
        for cluster in self.mesh.clusters:
            clients = self.clients(cluster)
            for svc, port in self.destinations(cluster):
                for client in clients:
                    yield self.edge(client, svc, port)

    def count_edges(self) -> int:
        total = 0
        for cluster in self.mesh.clusters:
            n = len(self.clients(cluster))
            total += n * sum(1 for _ in self.destinations(cluster))
        return total

    # -- direct calls and pseudo-clients --------------------------------------------------------

    def resolve(self, client: Client, text: str) -> Target | str:
        """`--to` in the client's cluster: HOST:PORT, POD_IP:PORT, ns/workload:PORT or a
        StatefulSet pod's DNS name. A string is an error message."""
        parsed = parse_host_port(text)
        if parsed is None:
            return f"--to {text!r}: expected HOST:PORT"
        host, number = parsed
        svc = self.find_service(client.cluster, host, client.namespace)
        if svc is not None:
            port = svc.port(number)
            if port is None:
                return (
                    f"{svc.display} has no port {number} (ports: {[p.number for p in svc.ports]})"
                )
            return Target(svc, port)
        first, _, rest = host.partition(".")
        if rest:
            parent = self.find_service(client.cluster, rest, client.namespace)
            if parent is not None and parent.resolution == "headless" and parent.port(number):
                return Target(parent, parent.port(number), only=first)  # type: ignore[arg-type]
        found: tuple[Any, Any] | None = None
        if "/" in host:
            ns, _, name = host.partition("/")
            for c in self.mesh.clusters.values():
                w = next((w for w in c.workloads_by_ns.get(ns, ()) if w.name == name), None)
                if w is not None:
                    found = (c, w)
                    break
        else:
            found = self.mesh.workload_at(host)
        if found is None:
            return f"--to {text!r}: no service, ServiceEntry host or workload address matches"
        c, w = found
        for svc in self.registries[client.cluster].services:
            if svc.resolution == "headless" and svc.selector and svc.namespace == w.namespace:
                from mtls_doctor.semantics.trace import selects

                port = svc.port(number)
                if port is not None and selects(svc.selector, w.labels):
                    return Target(svc, port, only=host)
        return self._direct_target(c.name, w, number, None if "/" in host else host)

    def _direct_target(self, cluster: str, w: Any, number: int, address: str | None) -> Target:
        facts = self.servers.facts(cluster, w, number)
        svc = direct_service(address, w.key, number, facts.port_kind, (w.ref,), facts.app_tls)
        ep = self.registries[cluster]._pod_endpoint(self.mesh.clusters[cluster], w, number, address)
        return Target(svc, svc.ports[0], endpoint=ep)

    def target_edge(self, client: Client, target: Target) -> Edge:
        ev = self.evaluators[client.cluster]
        ep = target.endpoint
        if ep is not None:
            tls = client.sends_tls or target.port.protocol.app_tls
            wire: Wire = "app-tls" if tls else "plaintext-http"
            outcome = ev.evaluate_direct(client, target.svc, ep, wire)
        elif target.only is not None:
            outcome = ev.evaluate(client, target.svc, target.port, only=target.only)
        else:
            outcome = self.outcome(client, target.svc, target.port)
        return self.materialize(client, target.svc, target.port, outcome)

    def pseudo_edges(self, cluster: str) -> Iterator[Edge]:
        """kube-apiserver → webhook services; kubelet → probed ports that are not rewritten."""
        c = self.mesh.clusters[cluster]
        api = apiserver(c)
        seen: set[tuple[str, int]] = set()
        for cfg in c.webhooks:
            for hook in cfg.obj.webhooks:
                ref = hook.client_config.service
                if ref is None:
                    continue
                host = f"{ref.name}.{ref.namespace}.svc.cluster.local"
                svc = self.find_service(cluster, host)
                if svc is None or (host, ref.port) in seen:
                    continue
                port = svc.port(ref.port)
                if port is not None:
                    seen.add((host, ref.port))
                    yield self.edge(api, svc, port)
        kube, kube_tls = kubelet(c), kubelet(c, sends_tls=True)
        for w in c.workloads:
            if not c.injection(w).injected:
                continue
            for number, scheme in unrewritten_probes(w):
                address = w.ips[0] if w.ips else None
                target = self._direct_target(cluster, w, number, address)
                yield self.target_edge(kube_tls if scheme == "HTTPS" else kube, target)

    def groups(self, cluster: str) -> list[ClientGroup]:
        """Clients grouped by everything but namespace (the base groups)."""
        cached = self._groups.get(cluster)
        if cached is not None:
            return cached
        buckets: dict[tuple[Any, ...], dict[str, list[Client]]] = defaultdict(
            lambda: defaultdict(list)
        )
        sel_ns = self._selector_namespaces(cluster)
        for c in self.clients(cluster):
            labels = tuple(sorted(c.labels.items())) if c.namespace in sel_ns else None
            key = (
                c.sidecar, c.exclude_ports, c.exclude_ranges, c.include_ranges,
                self.sidecar_signature(c), labels, c.network, c.sends_tls,
            )  # fmt: skip
            buckets[key][c.namespace or ""].append(c)
        groups = [
            ClientGroup(
                k,
                {ns: tuple(v) for ns, v in by_ns.items()},
                {ns: len(v) for ns, v in by_ns.items()},
                sum(len(v) for v in by_ns.values()),
                bool(k[0]),
                i,
            )
            for i, (k, by_ns) in enumerate(buckets.items())
        ]
        self._groups[cluster] = groups
        return groups

    def namespace_sizes(self, cluster: str) -> dict[str, int]:
        """Clients per namespace ("" for none), read off the base groups."""
        sizes: dict[str, int] = {}
        for g in self.groups(cluster):
            for ns, n in g.sizes.items():
                sizes[ns] = sizes.get(ns, 0) + n
        return sizes

    def groups_in(self, cluster: str, namespace: str) -> tuple[int, ...]:
        """Positions of the base groups with clients in `namespace`."""
        index = self._groups_in.get(cluster)
        if index is None:
            found: dict[str, list[int]] = defaultdict(list)
            for g in self.groups(cluster):
                for ns in g.by_namespace:
                    found[ns].append(g.position)
            index = self._groups_in[cluster] = {ns: tuple(v) for ns, v in found.items()}
        return index.get(namespace, ())


REWRITE_ANNOTATION = "sidecar.istio.io/rewriteAppHTTPProbers"
AGENT_PORT = 15020


def unrewritten_probes(w: Any) -> Iterator[tuple[int, str]]:
    """(port, scheme) of HTTP/gRPC probes of a sidecar workload that reach the app port.

    The injector rewrites probes to the agent's port 15020 unless the pod opts out; pods read
    from a cluster show the result, templates show the intent."""
    if w.from_template and w.annotations.get(REWRITE_ANNOTATION, "true") != "false":
        return
    seen: set[int] = set()
    for c in w.containers:
        for probe in (c.readiness_probe, c.liveness_probe, c.startup_probe):
            if probe is None:
                continue
            action = probe.http_get or probe.grpc
            if action is None:
                continue
            number = w.container_port(action.port)
            if number is None or number == AGENT_PORT or number in seen:
                continue
            seen.add(number)
            scheme = getattr(action, "scheme", "HTTP") or "HTTP"
            yield number, scheme.upper()


def materialize(
    ev: Evaluator, client: Client, svc: MeshService, port: SvcPort, outcome: Outcome, multi: bool
) -> Edge:
    """The shared outcome, with the client's own steps and names filled in."""
    trace = (*ev.client_steps(client, svc, port), *(_fill(s, client) for s in outcome.trace))
    fix = fill_client(outcome.fix, client) if outcome.fix else None
    filled = outcome.with_text(trace, fix)
    return Edge(
        from_=client.name,
        from_cluster=client.cluster if multi else None,
        to=f"{svc.display}:{port.number}",
        to_cluster=svc.home_cluster if multi else None,
        outcome=filled,
    )


def fill_client(text: str, client: Client) -> str:
    """Shared outcome text with one client's name, namespace and identity filled in."""
    if "$CLIENT" not in text:
        return text
    return (
        text.replace("$CLIENT_NS", client.namespace or "")
        .replace("$CLIENT_ID", client.identity or "no certificate")
        .replace("$CLIENT", client.name)
    )


def _fill(step: Step, client: Client) -> Step:
    if "$CLIENT" not in step.decision:
        return step
    return step.with_decision(fill_client(step.decision, client))


class Target(Record):
    """What `--to` named, resolved in a client's cluster."""

    svc: MeshService
    port: SvcPort
    endpoint: Endpoint | None = None  # for direct calls
    only: str | None = None  # restrict a service edge to one pod (StatefulSet pod DNS name)


def parse_host_port(text: str) -> tuple[str, int] | None:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return None
    return host, int(port)
