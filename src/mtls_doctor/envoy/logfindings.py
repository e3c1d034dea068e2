"""Group log events into findings: one per (cause, upstream cluster or log file). Pure."""

from __future__ import annotations

from collections.abc import Iterable

from mtls_doctor.checks.finding import Finding, Subject
from mtls_doctor.envoy.clusters import parse_name
from mtls_doctor.envoy.codes import LG_CAUSE_CODES
from mtls_doctor.envoy.logs import LogEvent
from mtls_doctor.model.refs import Origin


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
