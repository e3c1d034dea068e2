"""What a change moves: the edges whose verdict or cause differs between two analyses of one
mesh, before and after some manifests are applied (`whatif`).

Compared class by class, never edge by edge: a 10k-pod mesh has ten million edges but a few
classes per destination. When both analyses group the clients the same way (the change did not
touch what tells clients apart: Sidecars, workload-selector DestinationRules, the workloads
themselves), each class member of one analysis has its twin in the other, so a destination
costs O(classes). Otherwise that destination's clients are compared one by one, by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from mtls_doctor.edges.classes import DestinationResult, Member, OutcomeClass, client_names
from mtls_doctor.edges.client_tls import Client
from mtls_doctor.edges.engine import EdgeEngine
from mtls_doctor.edges.records import Edge, Outcome
from mtls_doctor.record import Record

Decision = tuple[str, str | None]  # (verdict, cause)


class Moved(Record):
    """Clients of one destination that a change moves from one decision to another alike."""

    cluster: str | None  # the clients' cluster (None for a pseudo-client of a single cluster)
    to: str
    before: Decision | None  # None: the edges are new
    after: Decision | None  # None: the edges are gone
    clients: tuple[str, ...]  # names, `ns/*` for every client of a namespace
    count: int


class Side(Record):
    """One analysis as the comparison reads it."""

    engine: EdgeEngine
    results: Sequence[DestinationResult]
    pseudo: Sequence[Edge]


def _decision(o: Outcome) -> Decision:
    return (o.verdict, o.cause)


def _key(r: DestinationResult) -> tuple[str, str, str, int]:
    return (r.cluster, r.service.hostname, r.service.namespace, r.port.number)


def moved(before: Side, after: Side) -> list[Moved]:
    """Every group of edges whose decision the change moves, in the after analysis's
    destination order (destinations gone last), most edges first within a destination."""
    aligned = {
        c for c in after.engine.mesh.clusters if _same_groups(before.engine, after.engine, c)
    }
    sizes = {c: after.engine.namespace_sizes(c) for c in after.engine.mesh.clusters}
    old_sizes = {c: before.engine.namespace_sizes(c) for c in before.engine.mesh.clusters}
    old = {_key(r): r for r in before.results}
    out: list[Moved] = []
    for r in after.results:
        b = old.pop(_key(r), None)
        out.extend(_destination(b, r, r.cluster in aligned, sizes.get(r.cluster, {})))
    for b in old.values():  # destinations the change removed
        for cls in b.classes:
            names = client_names([cls], old_sizes.get(b.cluster, {}))
            out.append(
                Moved(b.cluster, b.to, _decision(cls.outcome), None, tuple(names), cls.count)
            )
    out.extend(_pseudo(before.pseudo, after.pseudo))
    return out


def _same_groups(before: EdgeEngine, after: EdgeEngine, cluster: str) -> bool:
    """Whether both engines hold the same clients of `cluster` in the same base groups, so a
    class member (groups by position, minus namespaces) names the same clients in both."""
    if cluster not in before.mesh.clusters:
        return False
    a, b = after.groups(cluster), before.groups(cluster)
    if len(a) != len(b):
        return False
    for ga, gb in zip(a, b, strict=True):
        if ga.key != gb.key or ga.sizes != gb.sizes:
            return False
        for ns, clients in ga.by_namespace.items():
            if [c.name for c in clients] != [c.name for c in gb.by_namespace[ns]]:
                return False
    return True


def _destination(
    b: DestinationResult | None, a: DestinationResult, aligned: bool, sizes: dict[str, int]
) -> list[Moved]:
    if b is None:
        return [
            Moved(a.cluster, a.to, None, _decision(c.outcome), tuple(client_names([c], sizes)),
                  c.count)
            for c in a.classes
        ]  # fmt: skip
    decisions = {_decision(c.outcome) for c in (*b.classes, *a.classes)}
    if len(decisions) == 1:
        return []  # every client, before and after, decided alike
    parts = _by_members(b, a) if aligned else None
    if parts is None:
        parts = _by_clients(b, a)
    out = [
        Moved(a.cluster, a.to, was, now, tuple(client_names(classes, sizes)), sum(c.count for c in classes))  # noqa: E501
        for (was, now), classes in parts.items()
    ]  # fmt: skip
    out.sort(key=lambda m: -m.count)
    return out


_Parts = dict[tuple[Decision | None, Decision | None], list[OutcomeClass]]


def _by_members(b: DestinationResult, a: DestinationResult) -> _Parts | None:
    """The moved clients as class members and explicit clients, when both sides split the
    destination's clients into the same members and name the same explicit clients; None
    when they do not (a change that singles out other namespaces here)."""
    old_members = _members(b.classes)
    new_members = _members(a.classes)
    old_explicit = {c.name: (c, _decision(cls.outcome)) for cls in b.classes for c in cls.explicit}
    new_explicit = {c.name: (c, _decision(cls.outcome)) for cls in a.classes for c in cls.explicit}
    if old_members.keys() != new_members.keys() or old_explicit.keys() != new_explicit.keys():
        return None
    members: dict[tuple[Decision, Decision], list[Member]] = {}
    explicit: dict[tuple[Decision, Decision], list[Client]] = {}
    for key, (m, now) in new_members.items():
        was = old_members[key][1]
        if was != now:
            members.setdefault((was, now), []).append(m)
    for name, (c, now) in new_explicit.items():
        was = old_explicit[name][1]
        if was != now:
            explicit.setdefault((was, now), []).append(c)
    outcomes = _outcomes(a.classes)
    parts: _Parts = {}
    for pair in dict.fromkeys([*members, *explicit]):
        ms, cs = members.get(pair, []), explicit.get(pair, [])
        count = len(cs) + sum(m.count() for m in ms)
        parts[pair] = [OutcomeClass(outcomes[pair[1]], tuple(ms), tuple(cs), count)]
    return parts


def _outcomes(classes: Iterable[OutcomeClass]) -> dict[Decision, Outcome]:
    return {_decision(c.outcome): c.outcome for c in classes}


def _members(classes: Iterable[OutcomeClass]) -> dict[tuple[Any, ...], tuple[Member, Decision]]:
    return {
        (m.groups.positions, m.excluded): (m, _decision(cls.outcome))
        for cls in classes
        for m in cls.members
    }


def _by_clients(b: DestinationResult, a: DestinationResult) -> _Parts:
    """The moved clients found one by one, by name (clients only one side has are new or
    gone)."""
    was: dict[str, tuple[Client, Decision]] = {
        c.name: (c, _decision(cls.outcome)) for cls in b.classes for c in cls.clients
    }
    found: dict[tuple[Decision | None, Decision | None], list[Client]] = {}
    for cls in a.classes:
        now = _decision(cls.outcome)
        for c in cls.clients:
            before = was.pop(c.name, None)
            if before is None or before[1] != now:
                found.setdefault((before[1] if before else None, now), []).append(c)
    for c, decision in was.values():
        found.setdefault((decision, None), []).append(c)
    outcomes = {**_outcomes(b.classes), **_outcomes(a.classes)}
    parts: _Parts = {}
    for (old_d, new_d), cs in found.items():
        shown = new_d if new_d is not None else old_d
        assert shown is not None  # a client is on at least one side
        parts[(old_d, new_d)] = [OutcomeClass(outcomes[shown], (), tuple(cs), len(cs))]
    return parts


def _pseudo(before: Iterable[Edge], after: Iterable[Edge]) -> Iterator[Moved]:
    """kube-apiserver and kubelet edges, compared one by one (there are few)."""
    old = {(e.from_, e.from_cluster, e.to): e for e in before}
    for e in after:
        prev = old.pop((e.from_, e.from_cluster, e.to), None)
        was = _decision(prev.outcome) if prev is not None else None
        now = _decision(e.outcome)
        if was != now:
            yield Moved(e.from_cluster, e.to, was, now, (e.from_,), 1)
    for e in old.values():
        yield Moved(e.from_cluster, e.to, _decision(e.outcome), None, (e.from_,), 1)
