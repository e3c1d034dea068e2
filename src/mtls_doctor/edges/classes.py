"""Per destination port: which clients share which outcome, without visiting pod pairs.

For each base group of clients (everything but namespace), the namespaces that the destination
does not single out share one outcome; only clients in singled-out namespaces (and, when an
authorization seam says so, clients whose identity a policy names) are looked at one by one.
A class of clients is kept as "these groups, minus these namespaces" plus explicit clients, so
a destination costs O(groups + singled-out clients), never O(namespaces) or O(clients).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final, cast

from mtls_doctor.edges.client_tls import Client
from mtls_doctor.edges.engine import OTHER_NS, ClientGroup, EdgeEngine
from mtls_doctor.edges.records import Edge, Outcome
from mtls_doctor.edges.registry import MeshService, SvcPort
from mtls_doctor.record import Record
from mtls_doctor.semantics.scope import CompiledScope


class SuperGroup:
    """Base groups that every destination of one namespace treats alike (same sidecar answer,
    same visibility, same outbound policy): evaluated once per destination, not per group."""

    __slots__ = ("groups", "positions", "sidecar", "sizes", "total")

    def __init__(
        self,
        groups: tuple[ClientGroup, ...],
        sizes: dict[str, int],
        total: int,
        sidecar: bool,
        positions: frozenset[int],
    ) -> None:
        self.groups: Final = groups
        self.sizes: Final = sizes
        self.total: Final = total
        self.sidecar: Final = sidecar
        self.positions: Final = positions  # the groups' positions in EdgeEngine.groups(cluster)


class Member:
    """Every client of `groups` outside the `excluded` namespaces."""

    __slots__ = ("excluded", "groups")

    def __init__(self, groups: SuperGroup, excluded: frozenset[str]) -> None:
        self.groups: Final = groups
        self.excluded: Final = excluded

    def count(self) -> int:
        sizes = self.groups.sizes
        return self.groups.total - sum(sizes.get(ns, 0) for ns in self.excluded)

    def clients(self) -> Iterator[Client]:
        for g in self.groups.groups:
            for ns, cs in g.by_namespace.items():
                if ns not in self.excluded:
                    yield from cs

    def clients_in(self, namespace: str) -> Iterator[Client]:
        """The member's clients of one namespace, in the order `clients` gives them."""
        if namespace not in self.excluded:
            for g in self.groups.groups:
                yield from g.by_namespace.get(namespace, ())


class OutcomeClass:
    """The clients of one destination that share an outcome."""

    __slots__ = ("count", "explicit", "members", "outcome")

    def __init__(
        self,
        outcome: Outcome,
        members: tuple[Member, ...],
        explicit: tuple[Client, ...],
        count: int,
    ) -> None:
        self.outcome: Final = outcome
        self.members: Final = members
        self.explicit: Final = explicit
        self.count: Final = count

    @property
    def clients(self) -> tuple[Client, ...]:
        """Every client of the class (materialised: use `count` to only count them)."""
        out = list(self.explicit)
        for m in self.members:
            out.extend(m.clients())
        return tuple(out)

    def per_namespace(self) -> dict[str, int]:
        """Clients per namespace ("" for pseudo-clients), read off the groups rather than
        client by client: a class may stand for most of a big mesh."""
        counts: dict[str, int] = {}
        for c in self.explicit:
            ns = c.namespace or ""
            counts[ns] = counts.get(ns, 0) + 1
        for m in self.members:
            for ns, n in m.groups.sizes.items():
                if ns not in m.excluded:
                    counts[ns] = counts.get(ns, 0) + n
        return counts

    def clients_in(self, namespace: str) -> Iterator[Client]:
        """The class's clients of one namespace, in the order `clients` gives them."""
        yield from (c for c in self.explicit if (c.namespace or "") == namespace)
        for m in self.members:
            yield from m.clients_in(namespace)

    @property
    def first(self) -> Client:
        if self.explicit:
            return self.explicit[0]
        return next(c for m in self.members for c in m.clients())

    @property
    def any_sidecar(self) -> bool:
        return any(c.sidecar for c in self.explicit) or any(m.groups.sidecar for m in self.members)

    def names(self, limit: int) -> tuple[list[str], int]:
        """Up to `limit` client names, and how many clients there are in all."""
        names: list[str] = []
        for c in self.explicit:
            if len(names) >= limit:
                break
            names.append(c.name)
        for m in self.members:
            if len(names) >= limit:
                break
            for c in m.clients():
                names.append(c.name)
                if len(names) >= limit:
                    break
        return names, self.count


def client_names(classes: Iterable[OutcomeClass], namespace_sizes: dict[str, int]) -> list[str]:
    """The clients of some classes by name, namespace by namespace, with `ns/*` for a
    namespace whose every client is among them (`namespace_sizes`: clients per namespace of
    the viewing cluster): a big mesh's classes are listed without visiting each client."""
    classes = list(classes)
    per_ns: dict[str, int] = {}
    for cls in classes:
        for ns, n in cls.per_namespace().items():
            per_ns[ns] = per_ns.get(ns, 0) + n
    names: list[str] = []
    for ns, n in sorted(per_ns.items()):
        if ns and n == namespace_sizes.get(ns) and n > 1:
            names.append(f"{ns}/*")
        else:
            names.extend(c.name for cls in classes for c in cls.clients_in(ns))
    return names


class DestinationResult:
    """Every client's outcome on one destination port, as classes of clients."""

    __slots__ = ("classes", "cluster", "port", "service")

    def __init__(
        self, cluster: str, service: MeshService, port: SvcPort, classes: tuple[OutcomeClass, ...]
    ) -> None:
        self.cluster: Final = cluster  # the viewing cluster (the clients' cluster)
        self.service: Final = service
        self.port: Final = port
        self.classes: Final = classes  # most clients first

    @property
    def to(self) -> str:
        return f"{self.service.display}:{self.port.number}"

    @property
    def client_count(self) -> int:
        return sum(c.count for c in self.classes)

    def edges(self, engine: EdgeEngine) -> Iterator[Edge]:
        for cls in self.classes:
            for client in cls.clients:
                yield engine.materialize(client, self.service, self.port, cls.outcome)


class _Slot:
    __slots__ = ("explicit", "members", "outcome")

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self.members: list[Member] = []
        self.explicit: list[Client] = []


def _super(groups: list[ClientGroup]) -> SuperGroup:
    sizes: dict[str, int] = {}
    for g in groups:
        for ns, n in g.sizes.items():
            sizes[ns] = sizes.get(ns, 0) + n
    return SuperGroup(
        tuple(groups),
        sizes,
        sum(g.total for g in groups),
        groups[0].sidecar,
        frozenset(g.position for g in groups),
    )


class _Plan(Record):
    """A cluster's base groups, sorted once for `super_groups`: per group, its bucket when it
    sees a namespace's services and when it does not (the same for groups without a sidecar
    and groups that are units of their own), whether it sees a namespace its Sidecar does
    not name, and which groups name each namespace (their answer may differ there)."""

    seen: tuple[tuple[object, ...], ...]
    unseen: tuple[tuple[object, ...], ...]
    scopes: tuple[CompiledScope | None, ...]
    unnamed: tuple[bool, ...]
    named: dict[str, tuple[int, ...]]


class _SuperCache:
    """What `super_groups` keeps per engine: per cluster its plan, per namespace its units,
    the units every namespace no Sidecar names shares, and each super-group built (by its
    members, and the last one per bucket kind, to derive the next one from)."""

    def __init__(self) -> None:
        self.plans: dict[str, _Plan] = {}
        self.units: dict[tuple[str, str, bool], list[SuperGroup]] = {}
        self.unnamed: dict[tuple[str, bool], list[SuperGroup]] = {}
        self.built: dict[tuple[str, tuple[int, ...]], SuperGroup] = {}
        self.like: dict[tuple[str, tuple[object, ...]], tuple[tuple[int, ...], SuperGroup]] = {}


def _cache(engine: EdgeEngine) -> _SuperCache:
    if engine.class_cache is None:
        engine.class_cache = _SuperCache()
    return cast(_SuperCache, engine.class_cache)


def _plan(engine: EdgeEngine, cluster: str) -> _Plan:
    plans = _cache(engine).plans
    got = plans.get(cluster)
    if got is not None:
        return got
    seen: list[tuple[object, ...]] = []
    unseen: list[tuple[object, ...]] = []
    scopes: list[CompiledScope | None] = []
    unnamed: list[bool] = []
    named: dict[str, list[int]] = {}
    for i, g in enumerate(engine.groups(cluster)):
        sidecar, excl_ports, excl_ranges, incl_ranges, _, labels, _, _ = g.key
        scope = engine.group_scope(cluster, g) if sidecar else None
        if scope is None:
            seen.append(("no-sidecar",))
            unseen.append(seen[-1])
        elif excl_ports or excl_ranges or incl_ranges is not None or labels or scope.specific:
            seen.append(("single", i))
            unseen.append(seen[-1])
        else:
            seen.append(("sidecar", True, ""))
            unseen.append(("sidecar", False, scope.mode))
            for ns in scope.namespaces:
                named.setdefault(ns, []).append(i)
        scopes.append(scope)
        unnamed.append(scope is not None and scope.sees(OTHER_NS, _UNNAMED, "", 0))
    plan = _Plan(
        tuple(seen),
        tuple(unseen),
        tuple(scopes),
        tuple(unnamed),
        {k: tuple(v) for k, v in named.items()},
    )
    plans[cluster] = plan
    return plan


_UNNAMED = "\0unnamed"  # a service namespace no Sidecar names


def super_groups(engine: EdgeEngine, cluster: str, svc: MeshService) -> list[SuperGroup]:
    """The units destinations in `svc`'s namespace evaluate once each.

    Groups whose answer cannot depend on the namespace alone (port exclusions, IP ranges,
    workload-selector DestinationRule labels, host- or port-specific Sidecar egress entries)
    stay units of their own. The others are bucketed by whether they see the namespace's
    services and, if not, their outbound policy; namespaces that bucket alike share units."""
    exported = engine.exported_to_others(cluster, svc)
    cache = _cache(engine)
    key = (cluster, svc.namespace, exported)
    cached = cache.units.get(key)
    if cached is not None:
        return cached
    plan = _plan(engine, cluster)
    flipped: dict[int, bool] = {}
    for i in plan.named.get(svc.namespace, ()):
        scope = plan.scopes[i]
        assert scope is not None  # only groups with a Sidecar scope name namespaces
        flipped[i] = exported and scope.sees(OTHER_NS, svc.namespace, svc.hostname, 0)
    # every namespace no Sidecar names buckets alike
    result = None if flipped else cache.unnamed.get((cluster, exported))
    if result is None:
        buckets: dict[tuple[object, ...], list[int]] = {}
        for i, unnamed in enumerate(plan.unnamed):
            sees = flipped.get(i, exported and unnamed)
            bucket = plan.seen[i] if sees else plan.unseen[i]
            buckets.setdefault(bucket, []).append(i)
        result = [_super_of(engine, cluster, b, tuple(v)) for b, v in buckets.items()]
        if not flipped:
            cache.unnamed[(cluster, exported)] = result
    cache.units[key] = result
    return result


def _super_of(
    engine: EdgeEngine, cluster: str, bucket: tuple[object, ...], members: tuple[int, ...]
) -> SuperGroup:
    """The super-group of these base groups, built once. Most namespaces' buckets differ from
    the previous one of the same kind by a group or two (a Sidecar naming the namespace), so a
    new one is derived from it rather than summed over every group again."""
    cache = _cache(engine)
    got = cache.built.get((cluster, members))
    if got is not None:
        return got
    groups = engine.groups(cluster)
    like = cache.like.get((cluster, bucket))
    sg: SuperGroup | None = None
    if like is not None:
        now, before = set(members), set(like[0])
        added, removed = now - before, before - now
        if len(added) + len(removed) <= 8:
            sizes = dict(like[1].sizes)
            total = like[1].total
            for i in added:
                total += groups[i].total
                for ns, n in groups[i].sizes.items():
                    sizes[ns] = sizes.get(ns, 0) + n
            for i in removed:
                total -= groups[i].total
                for ns, n in groups[i].sizes.items():
                    left = sizes[ns] - n
                    if left:
                        sizes[ns] = left
                    else:
                        del sizes[ns]
            picked = tuple(groups[i] for i in members)
            sg = SuperGroup(picked, sizes, total, picked[0].sidecar, frozenset(members))
    if sg is None:
        sg = _super([groups[i] for i in members])
    cache.built[(cluster, members)] = sg
    cache.like[(cluster, bucket)] = (members, sg)
    return sg


def _authz_split(
    engine: EdgeEngine, cluster: str, svc: MeshService, port: SvcPort
) -> frozenset[str] | None:
    """The namespaces whose clients authorization tells apart at this destination (empty when
    it tells none apart), or None when every client must be evaluated. A relevance hook with
    `distinguishes` and `namespaces_apart` (edges.authz_seam) answers per service; any other
    hook means every client of every destination."""
    hook = engine.authz_relevance
    if hook is None:
        return frozenset()
    distinguishes = getattr(hook, "distinguishes", None)
    apart = getattr(hook, "namespaces_apart", None)
    if distinguishes is None or apart is None:
        return None
    if not distinguishes(svc, port):
        return frozenset()
    got: frozenset[str] | None = apart(cluster, svc, port, engine.clients(cluster))
    return got


def _reads_identity(engine: EdgeEngine, svc: MeshService, port: SvcPort) -> bool:
    """Whether the authorization hook may tell this destination's clients apart by identity."""
    hook = engine.authz_relevance
    if hook is None:
        return False
    distinguishes = getattr(hook, "distinguishes", None)
    return distinguishes is None or bool(distinguishes(svc, port))


_NONE: frozenset[str] = frozenset()


def _slot(slots: dict[int, _Slot], outcome: Outcome) -> _Slot:
    got = slots.get(id(outcome))
    if got is None:
        got = slots[id(outcome)] = _Slot(outcome)
    return got


def classify(
    engine: EdgeEngine, cluster: str, svc: MeshService, port: SvcPort
) -> DestinationResult:
    relevant = engine._relevant_namespaces(cluster, svc)
    split = _authz_split(engine, cluster, svc, port)
    if split:
        relevant = relevant | split
    slots: dict[int, _Slot] = {}  # by outcome: the engine keeps each one, so ids stay unique
    per_client = split is None or (
        engine.trust is not None and engine.trust.has_workload_certs(cluster)
    )
    if per_client:
        for c in engine.clients(cluster):
            _slot(slots, engine.outcome(c, svc, port)).explicit.append(c)
    else:
        blind = split == frozenset() and not _reads_identity(engine, svc, port)
        by_labels = engine._selector_namespaces(cluster)
        every = engine.groups(cluster)
        for sg in super_groups(engine, cluster, svc):
            inside = [ns for ns in relevant if ns in sg.sizes]
            near = sorted({p for ns in inside for p in engine.groups_in(cluster, ns)})
            for g in (every[p] for p in near if p in sg.positions):
                for ns in inside:
                    cs = g.by_namespace.get(ns, ())
                    if cs and blind and ns not in by_labels:
                        # a base group's clients of one namespace differ only in labels
                        # and identity, which nothing here reads: one key for them all
                        _slot(slots, engine.outcome(cs[0], svc, port)).explicit.extend(cs)
                        continue
                    for c in cs:
                        _slot(slots, engine.outcome(c, svc, port)).explicit.append(c)
            if len(inside) == len(sg.sizes):
                continue
            rep = next(
                cs[0] for g in sg.groups for ns, cs in g.by_namespace.items() if ns not in relevant
            )
            excluded = frozenset(inside) if inside else _NONE
            _slot(slots, engine.outcome(rep, svc, port)).members.append(Member(sg, excluded))
    classes = [
        OutcomeClass(
            s.outcome,
            tuple(s.members),
            tuple(s.explicit),
            len(s.explicit) + sum(m.count() for m in s.members),
        )
        for s in slots.values()
    ]
    if len(classes) > 1:
        classes.sort(key=lambda c: -c.count)
    return DestinationResult(cluster, svc, port, tuple(classes))


def classify_all(engine: EdgeEngine) -> Iterator[DestinationResult]:
    for cluster in engine.mesh.clusters:
        for svc, port in engine.destinations(cluster):
            yield classify(engine, cluster, svc, port)
