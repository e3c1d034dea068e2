"""`explain` (one edge hop by hop, or a code's page) and `whatif` (the edges a change moves)."""

from __future__ import annotations

import click

from mtls_doctor.cli.common import Exit, output_option, report_problems, stderr, stdout, write_raw
from mtls_doctor.cli.pipeline import input_options, run_analysis, selected_edges
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

WHATIF_ROWS = 50  # text rows before a big change is cut to those with most edges


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
    from mtls_doctor.edges.diff import Side, moved

    before = run_analysis(paths, mesh_config, discovery, envoy, logs)
    after_paths = paths + changes
    after = run_analysis(after_paths, mesh_config, discovery, envoy, logs)
    changed = moved(
        Side(before.engine, before.results, before.pseudo),
        Side(after.engine, after.results, after.pseudo),
    )
    total = sum(m.count for m in changed)
    if output == "json":
        import msgspec

        def decision(d: tuple[str, str | None] | None) -> dict[str, str | None] | None:
            return None if d is None else {"verdict": d[0], "cause": d[1]}

        doc = [
            {
                "to": m.to,
                **({"cluster": m.cluster} if after.multi else {}),
                "from": list(m.clients),
                "count": m.count,
                "before": decision(m.before),
                "after": decision(m.after),
            }
            for m in changed
        ]
        body = {"changes": doc, "edges_changed": total}
        write_raw(msgspec.json.format(msgspec.json.encode(body), indent=2).decode())
    else:
        from rich.table import Table

        shown = changed
        caption = None
        if len(changed) > WHATIF_ROWS:  # a big mesh: the rows with most edges
            shown = sorted(changed, key=lambda m: -m.count)[:WHATIF_ROWS]
            caption = (
                f"the {WHATIF_ROWS} rows with most edges of {len(changed):,}; "
                "-o json lists them all"
            )
        title = f"{total:,} edge{'s' if total != 1 else ''} change"
        table = Table(title=title, caption=caption)
        for column in ("to", "from", "before", "after"):
            table.add_column(column, overflow="fold")
        table.add_column("edges", justify="right")
        for m in shown:
            to = f"{m.to} ({m.cluster})" if after.multi and m.cluster else m.to
            table.add_row(
                to,
                text.listed(m.clients, len(m.clients)),
                "-" if m.before is None else text.verdict_text(*m.before),
                "gone" if m.after is None else text.verdict_text(*m.after),
                f"{m.count:,}",
            )
        stdout().print(table)
    errors = report_problems(after.load.problems)
    return Exit.INPUT if errors else Exit.OK


def register(app: click.Group) -> None:
    for cmd in (explain_cmd, whatif_cmd):
        app.add_command(cmd)
