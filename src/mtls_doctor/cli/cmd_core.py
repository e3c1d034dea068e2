"""`analyze`, `edges`, `explain` and `whatif`: the core commands."""

from __future__ import annotations

import sys

import click

from mtls_doctor.cli.common import Exit, output_option, report_problems, stderr, stdout
from mtls_doctor.cli.pipeline import (
    DEFAULT_MAX_EDGES,
    all_edges,
    exit_code,
    filter_findings,
    finding_options,
    input_options,
    run_analysis,
    selected_edges,
    write_json,
    write_sarif,
)
from mtls_doctor.report import edges_json, text

# -- analyze --------------------------------------------------------------------------------


@click.command("analyze")
@input_options
@output_option("text", "json", "sarif")
@finding_options
def analyze_cmd(
    paths: tuple[str, ...],
    mesh_config: str | None,
    discovery: tuple[str, ...],
    envoy: tuple[str, ...],
    logs: tuple[str, ...],
    output: str,
    fail_on: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    suppress: tuple[str, ...],
) -> int:
    """The main job: every edge and finding, summarised for a person."""
    a = run_analysis(paths, mesh_config, discovery, envoy, logs)
    result, failing = filter_findings(a, select, ignore, suppress, fail_on)
    if output == "json":
        big = a.edge_count() > DEFAULT_MAX_EDGES
        write_json(a, result, None if big else all_edges(a), with_events=True)
    elif output == "sarif":
        write_sarif(a, result, paths)
    else:
        out = stdout()
        out.print(text.summary(a.results, a.pseudo, result.kept, a.multi))
        if a.events:
            out.print()
            out.print(text.log_events(a.events))
        if result.kept:
            out.print()
            out.print(text.findings_list(result.kept))
        if result.suppressed:
            out.print(f"({len(result.suppressed)} findings suppressed)")
    return exit_code(a, failing)


@click.command("edges")
@input_options
@output_option("text", "json", "jsonl", "sarif")
@click.option("--from", "from_", metavar="NS/WORKLOAD", help="Only edges from this client.")
@click.option(
    "--to", metavar="HOST:PORT", help="Only edges to this destination (also POD_IP:PORT)."
)
@click.option(
    "--all", "all_", is_flag=True, help="Every edge even past --max-edges (use -o jsonl)."
)
@click.option(
    "--max-edges",
    type=int,
    default=DEFAULT_MAX_EDGES,
    show_default=True,
    help="Past this, print destinations instead of edges.",
)
@finding_options
def edges_cmd(
    paths: tuple[str, ...],
    mesh_config: str | None,
    discovery: tuple[str, ...],
    envoy: tuple[str, ...],
    logs: tuple[str, ...],
    output: str,
    from_: str | None,
    to: str | None,
    all_: bool,
    max_edges: int,
    fail_on: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    suppress: tuple[str, ...],
) -> int:
    """Every client → service-port edge: verdict, cause, endpoints, trace, symptom."""
    a = run_analysis(paths, mesh_config, discovery, envoy, logs)
    result, failing = filter_findings(a, select, ignore, suppress, fail_on)
    filtered = from_ is not None or to is not None
    grouped = not filtered and not all_ and a.edge_count() > max_edges
    if filtered:
        edges, errors = selected_edges(a, from_, to)
        for msg in errors:
            stderr().print(f"[red]error[/]: {msg}")
        if errors and not edges:
            report_problems(a.load.problems)
            return Exit.USAGE
    else:
        edges = [] if grouped else list(all_edges(a))
    if output == "jsonl":
        for e in edges if (filtered or not grouped) else all_edges(a):
            sys.stdout.buffer.write(edges_json.jsonl_line(e))
    elif output == "json":
        write_json(a, result, None if grouped else edges)
    elif output == "sarif":
        write_sarif(a, result, paths)
    else:
        out = stdout()
        if grouped:
            out.print(text.destinations_text(a.results, a.multi), soft_wrap=True)
            out.print(
                f"{a.edge_count():,} edges in {len(a.results):,} destinations (over --max-edges; "
                "filter with --from/--to)"
            )
        else:
            out.print(text.edges_table(edges))
    return exit_code(a, failing)


def register(app: click.Group) -> None:
    for cmd in (analyze_cmd, edges_cmd):
        app.add_command(cmd)
