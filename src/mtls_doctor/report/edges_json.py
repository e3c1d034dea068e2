"""The edge JSON contract (DESIGN.md "Edge contract (v1)"): plain data, no decisions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import msgspec

from mtls_doctor.checks.finding import Finding
from mtls_doctor.edges.classes import DestinationResult, OutcomeClass, client_names
from mtls_doctor.edges.records import Edge
from mtls_doctor.report.findings_json import finding_json
from mtls_doctor.sources.problems import InputProblem

CONTRACT_VERSION = "v1"


def edge_dict(edge: Edge) -> dict[str, Any]:
    o = edge.outcome
    d: dict[str, Any] = {"from": edge.from_}
    if edge.from_cluster is not None:
        d["from_cluster"] = edge.from_cluster
    d["to"] = edge.to
    if edge.to_cluster is not None:
        d["to_cluster"] = edge.to_cluster
    d["verdict"] = o.verdict
    d["cause"] = o.cause
    d["endpoints"] = [
        {
            "address": e.address,
            "workload": e.workload,
            "cluster": e.cluster,
            "verdict": e.verdict,
            "cause": e.cause,
        }
        for e in o.endpoints
    ]
    d["trace"] = [
        {"step": s.step, "decision": s.decision, "resources": [r.key for r in s.resources]}
        for s in o.trace
    ]
    d["symptom"] = (
        None
        if o.symptom is None
        else {
            "http_status": o.symptom.http_status,
            "response_flags": o.symptom.response_flags,
            "message": o.symptom.message,
            "server_log": o.symptom.server_log,
        }
    )
    d["fix"] = o.fix
    authz = list(dict.fromkeys(c for e in o.endpoints for c in e.authz))
    if authz:  # conditional authorization: which requests a policy allows or denies
        d["authz"] = [
            {"policy": c.policy, "action": c.action, "effect": c.effect, "condition": c.condition}
            for c in authz
        ]
    return d


def problem_dict(p: InputProblem) -> dict[str, Any]:
    return {"file": p.origin.file, "line": p.origin.line, "level": p.level, "message": p.message}


def destination_dict(
    result: DestinationResult, multi: bool, namespace_sizes: dict[str, int]
) -> dict[str, Any]:
    """The grouped form for large meshes: a default outcome plus exceptions. An exception names
    `ns/*` when it holds every client of that namespace (`namespace_sizes`: clients per
    namespace of the viewing cluster)."""
    merged: dict[tuple[str, str | None], list[OutcomeClass]] = {}
    for cls in result.classes:
        merged.setdefault((cls.outcome.verdict, cls.outcome.cause), []).append(cls)
    ordered = sorted(merged.items(), key=lambda kv: -sum(c.count for c in kv[1]))
    default = ordered[0][0] if ordered else None
    exceptions = []
    for (verdict, cause), classes in ordered[1:]:
        names = client_names(classes, namespace_sizes)
        exceptions.append({"from": names, "verdict": verdict, "cause": cause})
    counts: Counter[str] = Counter()
    for cls in result.classes:
        counts[cls.outcome.verdict] += cls.count
    d: dict[str, Any] = {"to": result.to}
    if multi:
        d["cluster"] = result.cluster
    d["default"] = None if default is None else {"verdict": default[0], "cause": default[1]}
    d["exceptions"] = exceptions
    d["counts"] = dict(counts)
    return d


def render(
    *,
    edges: Iterable[Edge] | None,
    destinations: Iterable[DestinationResult] | None,
    namespace_sizes: dict[str, dict[str, int]] | None = None,
    findings: Iterable[Finding],
    problems: Iterable[InputProblem],
    multi: bool,
    summary: dict[str, Any] | None = None,
    log_events: list[dict[str, Any]] | None = None,
) -> bytes:
    doc: dict[str, Any] = {"contract": CONTRACT_VERSION}
    if edges is not None:
        doc["edges"] = [edge_dict(e) for e in edges]
    if destinations is not None:
        sizes = namespace_sizes or {}
        doc["destinations"] = [
            destination_dict(r, multi, sizes.get(r.cluster, {})) for r in destinations
        ]
    doc["findings"] = [finding_json(f) for f in findings]
    doc["problems"] = [problem_dict(p) for p in problems]
    if summary is not None:
        doc["summary"] = summary
    if log_events:
        doc["log_events"] = log_events
    return msgspec.json.format(msgspec.json.encode(doc), indent=2)


def jsonl_line(edge: Edge) -> bytes:
    return msgspec.json.encode(edge_dict(edge)) + b"\n"
