"""Group log events into findings: one per (cause, upstream cluster or log file). Pure."""

from __future__ import annotations

from collections.abc import Iterable

from mtls_doctor.checks.finding import Finding, Subject
from mtls_doctor.envoy.clusters import parse_name
from mtls_doctor.envoy.codes import LG_CAUSE_CODES
from mtls_doctor.envoy.logs import LogEvent
from mtls_doctor.model.refs import Origin
from mtls_doctor.record import Record


def _target(e: LogEvent) -> str:
    if e.upstream_cluster and e.upstream_cluster != "BlackHoleCluster":
        return e.upstream_cluster
    return e.source


def _subject(e: LogEvent) -> Subject:
    if e.upstream_cluster:
        _d, _p, _s, host = parse_name(e.upstream_cluster)
        host = host or e.upstream_cluster
        parts = host.split(".")
        if len(parts) >= 3 and parts[2] == "svc":
            return Subject("Service", parts[1], parts[0])
    return Subject("LogFile", "", e.source)


def log_findings(events: Iterable[LogEvent]) -> tuple[Finding, ...]:
    groups: dict[tuple[str, str], list[LogEvent]] = {}
    for e in events:
        if e.cause is None or e.cause not in LG_CAUSE_CODES:
            continue
        groups.setdefault((e.cause, _target(e)), []).append(e)
    out: list[Finding] = []
    for (cause, target), group in groups.items():
        first = group[0]
        policies = sorted({e.policy for e in group if e.policy})
        reasons = sorted({e.reason for e in group if e.reason})
        out.append(
            LG_CAUSE_CODES[cause].finding(
                _subject(first),
                origin=Origin(first.source, first.line),
                count=len(group),
                target=target,
                policy=f" (policy {', '.join(policies)})" if policies else "",
                reason=", ".join(reasons) or "no reason logged",
            )
        )
    return tuple(out)


class EventGroup(Record):
    """Events with the same cause, upstream cluster and peer (for `analyze`'s summary)."""

    cause: str
    upstream_cluster: str | None
    destination: str | None
    peer: str | None
    count: int
    first: Origin
    policies: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


def group_events(events: Iterable[LogEvent]) -> tuple[EventGroup, ...]:
    """Failure events grouped by (cause, upstream cluster, peer), in order of first sight.

    The peer of a server-side line is the caller's address, which changes per connection:
    only its host part is used, so one caller's connections form one group.
    """
    groups: dict[tuple[str, str | None, str | None], list[LogEvent]] = {}
    for e in events:
        if e.cause is None:
            continue
        peer = e.peer
        if peer and not peer.startswith("spiffe://") and ":" in peer:
            peer = peer.rsplit(":", 1)[0]
        groups.setdefault((e.cause, e.upstream_cluster, peer), []).append(e)
    return tuple(
        EventGroup(
            cause=cause,
            upstream_cluster=cluster,
            destination=group[0].destination,
            peer=peer,
            count=len(group),
            first=Origin(group[0].source, group[0].line),
            policies=tuple(sorted({e.policy for e in group if e.policy})),
            reasons=tuple(sorted({e.reason for e in group if e.reason})),
        )
        for (cause, cluster, peer), group in groups.items()
    )
