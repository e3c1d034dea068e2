"""Render log events and their findings: the JSON contract and a readable text view."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from mtls_doctor.checks.finding import Finding
from mtls_doctor.envoy.logs import LogEvent
from mtls_doctor.report.findings_json import finding_json

_EVENT_FIELDS = (
    "source",
    "line",
    "cause",
    "response_flags",
    "response_code",
    "details",
    "message",
    "next_step",
    "kind",
    "upstream_cluster",
    "upstream_host",
    "destination",
    "peer",
    "policy",
    "reason",
    "sni",
    "connection",
    "truncated",
)


def event_json(e: LogEvent) -> dict[str, Any]:
    return {name: getattr(e, name) for name in _EVENT_FIELDS}


def to_json(events: Sequence[LogEvent], findings: Sequence[Finding]) -> dict[str, Any]:
    return {
        "events": [event_json(e) for e in events],
        "findings": [finding_json(f) for f in findings],
    }


def _what(e: LogEvent) -> str:
    """A short account of the event: the details Envoy gave, else the line itself, shortened."""
    first = e.message.splitlines()[0] if e.message else ""
    text = e.details or e.reason or first
    if e.reason and e.reason not in text:
        text = f"{e.reason}: {text}"
    return text if len(text) <= 140 else text[:139] + "…"


def to_text(events: Sequence[LogEvent], findings: Sequence[Finding]) -> RenderableType:
    style = {"error": "red", "warning": "yellow", "info": "cyan"}
    summary = Text()
    steps = {e.cause: e.next_step for e in events if e.cause and e.next_step}
    for f in findings:
        summary.append(f"{f.level:<7} ", style=style[f.level])
        summary.append(f"{f.code} {f.message}\n")
        where = f" (first at {f.origin})" if f.origin is not None else ""
        summary.append(f"        fix: {f.fix}{where}\n", style="dim")
    if steps:
        summary.append("\nWhat to check next, by cause:\n", style="bold")
        for cause, step in steps.items():
            summary.append(f"  {cause}: ", style="bold")
            summary.append(f"{step}\n")
    table = Table(title="Log events", title_justify="left")
    for col in ("where", "cause", "flags/code", "upstream / peer", "what"):
        table.add_column(col, overflow="fold")
    for e in events:
        code = " ".join(
            x
            for x in (
                e.response_flags,
                str(e.response_code) if e.response_code is not None else None,
            )
            if x
        )
        who = "\n".join(
            x for x in (e.upstream_cluster, e.peer, e.policy and f"policy {e.policy}") if x
        )
        cells = (f"{e.source}:{e.line}", e.cause or "-", code or "-", who or "-", _what(e))
        table.add_row(*(Text(x) for x in cells))
    if not events:
        return Group(summary, Text("no log line about TLS, mTLS or authorization"))
    return Group(summary, table)
