"""Render log events and their findings: the JSON contract and a readable text view."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from mtls_doctor.checks.finding import Finding
from mtls_doctor.envoy.logs import LogEvent
from mtls_doctor.report.envoy import finding_json

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


def to_text(events: Sequence[LogEvent], findings: Sequence[Finding]) -> RenderableType:
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
        first = e.message.splitlines()[0] if e.message else ""
        what = (first[:160] + "…") if len(first) > 160 else first
        if e.reason:
            what += f"\n[{e.reason}]"
        table.add_row(f"{e.source}:{e.line}", e.cause or "-", code or "-", who or "-", what)
    parts: list[RenderableType] = [table]
    style = {"error": "red", "warning": "yellow", "info": "cyan"}
    text = Text()
    for f in findings:
        text.append(f"{f.level:<7} ", style=style[f.level])
        text.append(f"{f.code} {f.message}\n")
        text.append(f"        fix: {f.fix}\n", style="dim")
    nexts = {e.cause: e.next_step for e in events if e.cause and e.next_step}
    for cause, step in nexts.items():
        text.append(f"next ({cause}): ", style="bold")
        text.append(f"{step}\n")
    parts.append(text)
    return Group(*parts)
