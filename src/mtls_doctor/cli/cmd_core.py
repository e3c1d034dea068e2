"""`analyze`, `edges`, `explain` and `whatif`: the core commands."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from mtls_doctor import __version__
from mtls_doctor.analysis import Analysis, LinkedEvent, analyze
from mtls_doctor.checks import catalog
from mtls_doctor.checks.filtering import (
    FilterResult,
    annotation_index,
    apply_filters,
    parse_options,
    reaches_fail_on,
    unknown_prefixes,
)
from mtls_doctor.cli.common import Exit, output_option, report_problems, stderr, stdout, write_raw
from mtls_doctor.edges.client_tls import Client
from mtls_doctor.edges.engine import EdgeEngine
from mtls_doctor.edges.records import Edge
from mtls_doctor.model.load import LoadResult, load_mesh
from mtls_doctor.report import edges_json, text
from mtls_doctor.report.sarif import render_sarif
from mtls_doctor.side_inputs import is_archive, read_side_inputs
from mtls_doctor.sources.paths import InputFile

DEFAULT_MAX_EDGES = 200_000


def input_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.argument("paths", nargs=-1, required=True, metavar="PATH...")(f)
    f = click.option(
        "--envoy",
        "envoy",
        multiple=True,
        metavar="[NS/POD=]DUMP",
        help="A proxy's config dump (/config_dump or istioctl proxy-config -o json) to compare "
        "with what the manifests predict for its pod. Repeatable.",
    )(f)
    f = click.option(
        "--logs",
        "logs",
        multiple=True,
        metavar="FILE",
        help="istio-proxy / Envoy / istio-agent logs to diagnose and tie to edges. Repeatable.",
    )(f)
    f = click.option(
        "--mesh-config",
        type=click.Path(dir_okay=False),
        help="MeshConfig YAML (or the istio ConfigMap) for every cluster; default: the istio "
        "ConfigMap found in the inputs, else Istio's defaults.",
    )(f)
    f = click.option(
        "--multicluster-discovery",
        "discovery",
        multiple=True,
        metavar="A=B[,C]",
        help="Cluster A discovers the services of B (and C), as a remote secret would. Repeatable.",
    )(f)
    return f  # noqa: RET504


def finding_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--fail-on",
        type=click.Choice(["error", "warning", "info", "never"]),
        default="error",
        show_default=True,
        help="Exit 1 when a finding reaches this level.",
    )(f)
    f = click.option("--select", multiple=True, metavar="PREFIX", help="Only these codes.")(f)
    f = click.option("--ignore", multiple=True, metavar="PREFIX", help="Not these codes.")(f)
    f = click.option(
        "--suppress", multiple=True, metavar="CODE=Kind/ns/name-glob", help="Suppress a finding."
    )(f)
    return f  # noqa: RET504


def _discovery(values: tuple[str, ...]) -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for v in values:
        a, sep, rest = v.partition("=")
        if not sep or not a or not rest:
            raise click.BadParameter(
                f"{v!r}: expected A=B[,C]", param_hint="--multicluster-discovery"
            )
        out[a] = out.get(a, frozenset()) | frozenset(
            x.strip() for x in rest.split(",") if x.strip()
        )
    return out


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr that appears only once the work has taken a second."""
    start = time.monotonic()
    bar: Progress | None = None
    task: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar, task
        if bar is None:
            if time.monotonic() - start < 1.0 or not sys.stderr.isatty():
                return
            bar = Progress(
                TextColumn(label), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                console=stderr(), transient=True,
            )  # fmt: skip
            bar.start()
            task = bar.add_task(label, total=total)
        bar.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        if bar is not None:
            bar.stop()


def load(
    paths: tuple[str, ...],
    mesh_config: str | None,
    discovery: tuple[str, ...],
    extra: list[tuple[InputFile, bytes]] | None = None,
) -> tuple[LoadResult, float]:
    t0 = time.perf_counter()
    with _progress("reading inputs") as update:
        result = load_mesh(
            paths,
            mesh_config_file=mesh_config,
            discovery=_discovery(discovery),
            progress=lambda f, i, n: update(i + 1, n),
            extra=extra or (),
        )
    return result, time.perf_counter() - t0


def run_analysis(
    paths: tuple[str, ...],
    mesh_config: str | None,
    discovery: tuple[str, ...],
    envoy: tuple[str, ...] = (),
    logs: tuple[str, ...] = (),
) -> Analysis:
    """Read everything (bug-report archives among the paths are opened), then analyse."""
    archives = [p for p in paths if is_archive(p)]
    rest = tuple(p for p in paths if p not in archives)
    side = read_side_inputs(archives, list(envoy), list(logs))
    loaded, seconds = load(rest, mesh_config, discovery, side.resources)
    loaded.problems.extend(side.problems)
    with _progress("evaluating edges") as update:
        return analyze(loaded, progress=update, load_seconds=seconds, side=side)


def _filter(
    a: Analysis,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    suppress: tuple[str, ...],
    fail_on: str,
) -> tuple[FilterResult, bool]:
    try:
        options = parse_options(select, ignore, suppress, fail_on)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    unknown = unknown_prefixes(options, [c.code for c in catalog.CATALOG])
    if unknown:
        raise click.UsageError(f"unknown code prefix(es): {', '.join(unknown)}")
    resources = [
        (f"{o.kind}/{o.namespace}/{o.name}", o.meta.annotations)
        for c in a.load.mesh.clusters.values()
        for objs in c.by_kind.values()
        for o in objs
        if o.meta.annotations
    ]
    index, bad = annotation_index(resources)
    for key, message in bad:
        stderr().print(f"[yellow]warning[/]: {key}: {message}")
    result = apply_filters(a.findings, options, index)
    return result, reaches_fail_on(result.kept, options.fail_on)


def _exit(a: Analysis, failing: bool) -> int:
    errors = report_problems(a.load.problems)
    if errors:
        return Exit.INPUT
    return Exit.FINDINGS if failing else Exit.OK


def _sarif(a: Analysis, result: FilterResult, paths: tuple[str, ...]) -> None:
    first = next((f.display for f in a.load.files if f.path != "-"), None)
    write_raw(
        render_sarif(
            result.kept, catalog.CATALOG, __version__, base_dir=Path.cwd(),
            suppressed=result.suppressed, fallback_file=first,
        )
    )  # fmt: skip


def _summary_dict(a: Analysis, result: FilterResult) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for r in a.results:
        for cls in r.classes:
            counts[cls.outcome.verdict] = counts.get(cls.outcome.verdict, 0) + cls.count
    for e in a.pseudo:
        counts[e.outcome.verdict] = counts.get(e.outcome.verdict, 0) + 1
    return {
        "edges": sum(counts.values()),
        "verdicts": counts,
        "evaluations": a.engine.evaluations,
        "suppressed": len(result.suppressed),
    }


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
    result, failing = _filter(a, select, ignore, suppress, fail_on)
    if output == "json":
        big = a.edge_count() > DEFAULT_MAX_EDGES
        _write_json(a, result, None if big else _all_edges(a), with_events=True)
    elif output == "sarif":
        _sarif(a, result, paths)
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
    return _exit(a, failing)


def _write_json(
    a: Analysis, result: FilterResult, edges: Iterable[Edge] | None, with_events: bool = False
) -> None:
    """The edge contract: `edges`, or `destinations` when `edges` is None (large meshes)."""
    write_raw(
        edges_json.render(
            edges=edges,
            destinations=a.results if edges is None else None,
            namespace_sizes=_namespace_sizes(a),
            findings=result.kept,
            problems=a.load.problems,
            multi=a.multi,
            summary=_summary_dict(a, result),
            log_events=[_event_dict(le) for le in a.events] if with_events else None,
        ).decode()
    )


def _event_dict(le: LinkedEvent) -> dict[str, Any]:
    e = le.event
    d: dict[str, Any] = {
        "source": e.source, "line": e.line, "cause": e.cause,
        "response_flags": e.response_flags, "response_code": e.response_code,
        "details": e.details, "message": e.message, "destination": e.destination,
    }  # fmt: skip
    if le.destination is not None:
        d["edges"] = [
            {"verdict": c.outcome.verdict, "cause": c.outcome.cause, "clients": c.count}
            for c in le.destination.classes
        ]
    return d


def _namespace_sizes(a: Analysis) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for cluster in a.load.mesh.clusters:
        sizes: dict[str, int] = {}
        for c in a.engine.clients(cluster):
            sizes[c.namespace or ""] = sizes.get(c.namespace or "", 0) + 1
        out[cluster] = sizes
    return out


def _all_edges(a: Analysis) -> Iterator[Edge]:
    for r in a.results:
        yield from r.edges(a.engine)
    yield from a.pseudo


# -- edges ----------------------------------------------------------------------------------


def _clients_matching(engine: EdgeEngine, spec: str) -> list[Client]:
    from mtls_doctor.edges.clients import apiserver, kubelet

    cluster, sep, rest = (
        spec.rpartition(":")
        if spec.count(":") == 1 and "/" in spec.rsplit(":", maxsplit=1)[-1]
        else ("", "", spec)
    )
    name = rest if sep else spec
    out: list[Client] = []
    for cname, c in engine.mesh.clusters.items():
        if cluster and cname != cluster:
            continue
        if name == "external/kube-apiserver":
            out.append(apiserver(c))
        elif name == "external/kubelet":
            out.append(kubelet(c))
        else:
            out.extend(cl for cl in engine.clients(cname) if cl.name == name)
    return out


def _selected_edges(a: Analysis, from_: str | None, to: str | None) -> tuple[list[Edge], list[str]]:
    """Edges for --from/--to, always exact; computes edges the default list does not hold."""
    engine = a.engine
    errors: list[str] = []
    edges: list[Edge] = []
    if from_ is not None:
        clients = _clients_matching(engine, from_)
        if not clients:
            return [], [f"--from {from_!r}: no workload of that name in the inputs"]
    else:
        clients = []
    if to is not None and from_ is not None:
        for cl in clients:
            target = engine.resolve(cl, to)
            if isinstance(target, str):
                errors.append(target)
                continue
            edges.append(engine.target_edge(cl, target))
        pseudo = [e for e in a.pseudo if e.from_ == from_ and e.to == to]
        if not edges and pseudo:
            return pseudo, []
        return edges, errors if not edges else []
    for r in a.results:
        if (
            to is not None
            and r.to != to
            and not r.to.startswith(to + ".")
            and r.service.ref.name + ":" + str(r.port.number) != to
        ):
            continue
        for e in r.edges(a.engine):
            if from_ is None or e.from_ == from_:
                edges.append(e)
    for e in a.pseudo:
        if (from_ is None or e.from_ == from_) and (to is None or e.to == to):
            edges.append(e)
    if to is not None and not edges:
        errors.append(f"--to {to!r}: no edge to that destination (give --from to compute one)")
    return edges, errors


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
    result, failing = _filter(a, select, ignore, suppress, fail_on)
    filtered = from_ is not None or to is not None
    grouped = not filtered and not all_ and a.edge_count() > max_edges
    if filtered:
        edges, errors = _selected_edges(a, from_, to)
        for msg in errors:
            stderr().print(f"[red]error[/]: {msg}")
        if errors and not edges:
            report_problems(a.load.problems)
            return Exit.USAGE
    else:
        edges = [] if grouped else list(_all_edges(a))
    if output == "jsonl":
        for e in edges if (filtered or not grouped) else _all_edges(a):
            sys.stdout.buffer.write(edges_json.jsonl_line(e))
    elif output == "json":
        _write_json(a, result, None if grouped else edges)
    elif output == "sarif":
        _sarif(a, result, paths)
    else:
        out = stdout()
        if grouped:
            out.print(text.destinations_table(a.results, a.multi))
            out.print(
                f"{a.edge_count()} edges in {len(a.results)} destinations (over --max-edges; "
                "filter with --from/--to)"
            )
        else:
            out.print(text.edges_table(edges))
    return _exit(a, failing)


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
    edges, errors = _selected_edges(a, from_, to)
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
    old = {(e.from_, e.from_cluster, e.to): e for e in _all_edges(before)}
    changed: list[tuple[Edge | None, Edge]] = []
    for e in _all_edges(after):
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
    for cmd in (analyze_cmd, edges_cmd, explain_cmd, whatif_cmd):
        app.add_command(cmd)
