"""Per destination port: which clients share which outcome, without visiting pod pairs.

For each base group of clients (everything but namespace), the namespaces that the destination
does not single out share one outcome; only clients in singled-out namespaces (and, when an
authorization seam says so, clients whose identity a policy names) are looked at one by one.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec

from mtls_doctor.edges.engine import EdgeEngine, materialize
from mtls_doctor.edges.evaluate import Client
from mtls_doctor.edges.records import Edge, Outcome
from mtls_doctor.edges.registry import MeshService, SvcPort


class OutcomeClass(msgspec.Struct, frozen=True):
    outcome: Outcome
    clients: tuple[Client, ...]


class DestinationResult(msgspec.Struct, frozen=True):
    cluster: str  # the viewing cluster (the clients' cluster)
    service: MeshService
    port: SvcPort
    classes: tuple[OutcomeClass, ...]  # most clients first

    @property
    def to(self) -> str:
        return f"{self.service.display}:{self.port.number}"

    @property
    def client_count(self) -> int:
        return sum(len(c.clients) for c in self.classes)

    def edges(self, multi: bool) -> Iterator[Edge]:
        for cls in self.classes:
            for client in cls.clients:
                yield materialize(client, self.service, self.port, cls.outcome, multi)


def classify(
    engine: EdgeEngine, cluster: str, svc: MeshService, port: SvcPort
) -> DestinationResult:
    relevant = engine._relevant_namespaces(cluster, svc)
    per_client = engine.authz_relevance is not None
    found: dict[int, tuple[Outcome, list[Client]]] = {}

    def add(outcome: Outcome, clients: tuple[Client, ...] | list[Client]) -> None:
        slot = found.setdefault(id(outcome), (outcome, []))
        slot[1].extend(clients)

    for group in engine.groups(cluster):
        shared: Outcome | None = None
        for ns, clients in group.by_namespace.items():
            if per_client or ns in relevant:
                for c in clients:
                    add(engine.outcome(c, svc, port), (c,))
                continue
            if shared is None:
                shared = engine.outcome(clients[0], svc, port)
            add(shared, clients)
    classes = sorted(
        (OutcomeClass(o, tuple(cs)) for o, cs in found.values()), key=lambda c: -len(c.clients)
    )
    return DestinationResult(cluster, svc, port, tuple(classes))


def classify_all(engine: EdgeEngine) -> Iterator[DestinationResult]:
    for cluster in engine.mesh.clusters:
        for svc, port in engine.destinations(cluster):
            yield classify(engine, cluster, svc, port)
