"""Renderers for `mtls-doctor lab`: the observation next to the prediction. They decide nothing."""

from __future__ import annotations

from typing import Any

import msgspec
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from mtls_doctor.lab.result import LabResult


def result_dict(result: LabResult) -> dict[str, Any]:
    """One replay as the `lab -o json` contract: {case, to, predicted, observed, agree, ...}."""
    case, obs, out = result.case, result.observation, result.outcome
    return {
        "case": case.name,
        "from": case.source,
        "to": f"{case.host}:{case.port}",
        "port_class": case.port_class,
        "app_protocol": case.app_protocol,
        "predicted": msgspec.to_builtins(case.predicted),
        "observed": {
            "verdict": out.verdict,
            "cause": out.cause,
            "mechanism": out.mechanism,
            "consistent_causes": list(out.consistent_causes),
            "http_status": obs.http_status,
            "response_flags": obs.response_flags,
            "details": obs.details,
            "upstream_transport_failure_reason": obs.upstream_transport_failure_reason,
            "server_log_line": obs.server_log_line,
            "client_log_line": obs.client_log_line,
            "peer_identity_seen_by_app": obs.peer_identity_seen_by_app,
            "client_error": obs.client_error,
            "server_chain": obs.server_chain,
            "evidence": list(obs.evidence),
            "stats": list(obs.stats),
        },
        "agree": result.agrees,
        "envoy_version": result.envoy_version,
        "seconds": round(result.seconds, 3),
        "kept": result.kept,
    }


def render_json(results: list[LabResult]) -> str:
    doc = {"replays": [result_dict(r) for r in results]}
    return msgspec.json.format(msgspec.json.encode(doc), indent=2).decode()


def _v(value: object) -> Text:
    """A cell as plain text: Envoy's details hold `[...]`, which rich would read as markup."""
    return Text("-" if value is None or value == "" else str(value))


def render_text(result: LabResult) -> RenderableType:
    case, obs, out = result.case, result.observation, result.outcome
    client = "client sidecar" if case.client.sidecar else "no client sidecar"
    if case.source:
        client = f"{case.source} ({client})"
    if not case.server.sidecar:
        server = "no server sidecar"
    elif case.server.inbound_excluded:
        server = "server port excluded from capture"
    else:
        server = f"server {case.server.mode}"
    title = Text.assemble(
        ("lab ", "bold"),
        (case.name, "bold cyan"),
        f"  {client} → {case.host}:{case.port} ({case.port_class} port, {server}, "
        f"app sends {case.app_protocol})",
    )
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("")
    table.add_column("predicted", overflow="fold")
    version = result.envoy_version
    version = version.split("/")[1] if version.count("/") >= 2 else version
    table.add_column(f"observed (Envoy {version})", overflow="fold")
    cause_seen = out.cause
    if cause_seen is None and out.consistent_causes and out.verdict != "mtls":
        fits = ", ".join(c or "none" for c in out.consistent_causes)
        cause_seen = f"- (fits: {fits})"
    table.add_row("verdict", _v(case.predicted.verdict), _v(out.verdict))
    table.add_row("cause", _v(case.predicted.cause), _v(cause_seen))
    table.add_row("symptom / what happened", _v(case.predicted.symptom), _v(out.mechanism))
    table.add_row("HTTP status", Text(""), _v(obs.http_status))
    table.add_row("response flags", Text(""), _v(obs.response_flags))
    table.add_row("details", Text(""), _v(obs.details))
    table.add_row("upstream transport failure", Text(""), _v(obs.upstream_transport_failure_reason))
    table.add_row("server filter chain", Text(""), _v(obs.server_chain))
    table.add_row("peer identity seen by app", Text(""), _v(obs.peer_identity_seen_by_app))
    table.add_row("client error", Text(""), _v(obs.client_error))
    verdict_line = (
        Text("AGREE: the replay matches the prediction", style="bold green")
        if result.agrees
        else Text("DISAGREE: the replay does not match the prediction", style="bold red")
    )
    parts: list[RenderableType] = [title, table, verdict_line]
    logs = Text()
    if obs.client_log_line:
        logs.append("client sidecar: ", style="dim")
        logs.append(obs.client_log_line + "\n")
    if obs.server_log_line:
        logs.append("server sidecar: ", style="dim")
        logs.append(obs.server_log_line + "\n")
    if logs:
        parts.append(logs)
    if obs.stats:
        parts.append(Text("counters: " + "; ".join(obs.stats), style="dim"))
    if obs.evidence and not result.agrees:
        parts.append(Text("\n".join(obs.evidence), style="dim"))
    parts.append(Text(f"replayed in {result.seconds:.2f} s", style="dim"))
    if result.kept:
        parts.append(Text(f"kept in {result.kept} (run replay.sh there to replay it again)"))
    return Group(*parts)
