"""`explain` (one edge hop by hop, or a code's page) and `whatif` (the edges a change moves)."""

from __future__ import annotations

import click

from mtls_doctor.cli.common import Exit, output_option, report_problems, stderr, stdout, write_raw
from mtls_doctor.cli.pipeline import all_edges, input_options, run_analysis, selected_edges
from mtls_doctor.edges.records import Edge
from mtls_doctor.report import edges_json, text

# -- explain --------------------------------------------------------------------------------


@click.command("explain")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...|CODE")
@click.option("--from", "from_", metavar="NS/WORKLOAD", help="The client.")
@click.option("--to", metavar="HOST:PORT", help="The destination (also POD_IP:PORT).")
@click.option(
    "--mesh-config", type=click.Path(dir_okay=False), help="MeshConfig for every cluster."
)
@click.option("--multicluster-discovery", "discovery", multiple=True, metavar="A=B[,C]")
@output_option("text", "json")
def explain_cmd(
    paths: tuple[str, ...],
    from_: str | None,
    to: str | None,
    mesh_config: str | None,
    discovery: tuple[str, ...],
    output: str,
) -> int:
    """One edge hop by hop (with --from and --to), or the page of a finding code."""
    from mtls_doctor.cli.cmd_codes import is_code_argument, show_code_page

    if len(paths) == 1 and from_ is None and to is None and is_code_argument(paths[0]):
        return show_code_page(paths[0].upper())
    if from_ is None or to is None:
        raise click.UsageError(
            "explain needs --from NS/WORKLOAD and --to HOST:PORT (or a single finding CODE)"
        )
    a = run_analysis(paths, mesh_config, discovery)
    edges, errors = selected_edges(a, from_, to)
    for msg in errors:
        stderr().print(f"[red]error[/]: {msg}")
    if not edges:
        report_problems(a.load.problems)
        return Exit.USAGE
    if output == "json":
        write_raw(
            edges_json.render(
                edges=edges, destinations=None, findings=[], problems=a.load.problems, multi=a.multi
            ).decode()
        )
    else:
        out = stdout()
        for i, e in enumerate(edges):
            if i:
                out.print()
            out.print(text.explain_edge(e))
    errors_in_input = report_problems(a.load.problems)
    return Exit.INPUT if errors_in_input else Exit.OK


# -- whatif ---------------------------------------------------------------------------------


@click.command("whatif")
@input_options
@click.option(
    "--change",
    "changes",
    multiple=True,
    required=True,
    metavar="[CLUSTER=]PATH",
    help="A manifest to apply on top (e.g. a STRICT PeerAuthentication). Repeatable.",
)
@output_option("text", "json")
def whatif_cmd(
    paths: tuple[str, ...],
    mesh_config: str | None,
    discovery: tuple[str, ...],
    envoy: tuple[str, ...],
    logs: tuple[str, ...],
    changes: tuple[str, ...],
    output: str,
) -> int:
    """The edges whose verdict changes if the given manifests are applied."""
    before = run_analysis(paths, mesh_config, discovery, envoy, logs)
    after_paths = paths + changes
    after = run_analysis(after_paths, mesh_config, discovery, envoy, logs)
    old = {(e.from_, e.from_cluster, e.to): e for e in all_edges(before)}
    changed: list[tuple[Edge | None, Edge]] = []
    for e in all_edges(after):
        prev = old.get((e.from_, e.from_cluster, e.to))
        if prev is None or (prev.outcome.verdict, prev.outcome.cause) != (
            e.outcome.verdict,
            e.outcome.cause,
        ):
            changed.append((prev, e))
    if output == "json":
        import msgspec

        doc = [
            {
                "from": e.from_, "to": e.to,
                "before": None if p is None else {"verdict": p.outcome.verdict, "cause": p.outcome.cause},  # noqa: E501
                "after": {"verdict": e.outcome.verdict, "cause": e.outcome.cause},
            }
            for p, e in changed
        ]  # fmt: skip
        write_raw(msgspec.json.format(msgspec.json.encode({"changes": doc}), indent=2).decode())
    else:
        from rich.table import Table

        table = Table(title=f"{len(changed)} edges change")
        table.add_column("from")
        table.add_column("to")
        table.add_column("before")
        table.add_column("after")
        for p, e in changed:
            table.add_row(
                e.from_, e.to,
                "-" if p is None else text.verdict_text(p.outcome.verdict, p.outcome.cause),
                text.verdict_text(e.outcome.verdict, e.outcome.cause),
            )  # fmt: skip
        stdout().print(table)
    errors = report_problems(after.load.problems)
    return Exit.INPUT if errors else Exit.OK


def register(app: click.Group) -> None:
    for cmd in (explain_cmd, whatif_cmd):
        app.add_command(cmd)
