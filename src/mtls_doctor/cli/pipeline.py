"""What the core commands share: input options, the pipeline run with progress bars, the
finding filters, the JSON writer and the --from/--to edge selection. Prints only problems and
progress (the cli package is the only place that prints)."""

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
from mtls_doctor.cli.common import Exit, fail_on_option, report_problems, stderr, write_raw
from mtls_doctor.edges.client_tls import Client
from mtls_doctor.edges.engine import EdgeEngine
from mtls_doctor.edges.records import Edge
from mtls_doctor.model.load import LoadResult, load_mesh
from mtls_doctor.report import edges_json
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
    f = fail_on_option(f)
    f = click.option("--select", multiple=True, metavar="PREFIX", help="Only these codes.")(f)
    f = click.option("--ignore", multiple=True, metavar="PREFIX", help="Not these codes.")(f)
    f = click.option(
        "--suppress", multiple=True, metavar="CODE=Kind/ns/name-glob", help="Suppress a finding."
    )(f)
    return f  # noqa: RET504


def discovery_map(values: tuple[str, ...]) -> dict[str, frozenset[str]]:
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
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
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
    with progress_bar("reading inputs") as update:
        result = load_mesh(
            paths,
            mesh_config_file=mesh_config,
            discovery=discovery_map(discovery),
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
    with progress_bar("evaluating edges") as update:
        return analyze(loaded, progress=update, load_seconds=seconds, side=side)


def filter_findings(
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


def exit_code(a: Analysis, failing: bool) -> int:
    errors = report_problems(a.load.problems)
    if errors:
        return Exit.INPUT
    return Exit.FINDINGS if failing else Exit.OK


def write_sarif(a: Analysis, result: FilterResult, paths: tuple[str, ...]) -> None:
    first = next((f.display for f in a.load.files if f.path != "-"), None)
    write_raw(
        render_sarif(
            result.kept, catalog.CATALOG, __version__, base_dir=Path.cwd(),
            suppressed=result.suppressed, fallback_file=first,
        )
    )  # fmt: skip


def summary_of(a: Analysis, result: FilterResult) -> dict[str, Any]:
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


def write_json(
    a: Analysis, result: FilterResult, edges: Iterable[Edge] | None, with_events: bool = False
) -> None:
    """The edge contract: `edges`, or `destinations` when `edges` is None (large meshes)."""
    write_raw(
        edges_json.render(
            edges=edges,
            destinations=a.results if edges is None else None,
            namespace_sizes=namespace_sizes(a),
            findings=result.kept,
            problems=a.load.problems,
            multi=a.multi,
            summary=summary_of(a, result),
            log_events=[event_json(le) for le in a.events] if with_events else None,
        ).decode()
    )


def event_json(le: LinkedEvent) -> dict[str, Any]:
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


def namespace_sizes(a: Analysis) -> dict[str, dict[str, int]]:
    return {cluster: a.engine.namespace_sizes(cluster) for cluster in a.load.mesh.clusters}


def all_edges(a: Analysis) -> Iterator[Edge]:
    for r in a.results:
        yield from r.edges(a.engine)
    yield from a.pseudo


# -- edges ----------------------------------------------------------------------------------


def clients_matching(engine: EdgeEngine, spec: str) -> list[Client]:
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


def selected_edges(a: Analysis, from_: str | None, to: str | None) -> tuple[list[Edge], list[str]]:
    """Edges for --from/--to, always exact; computes edges the default list does not hold."""
    engine = a.engine
    errors: list[str] = []
    edges: list[Edge] = []
    if from_ is not None:
        clients = clients_matching(engine, from_)
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
    by_cluster: dict[str, list[Client]] = {}
    for cl in clients:
        if cl in engine.clients(cl.cluster):  # workload clients; pseudo-clients are below
            by_cluster.setdefault(cl.cluster, []).append(cl)
    for r in a.results:
        if (
            to is not None
            and r.to != to
            and not r.to.startswith(to + ".")
            and r.service.ref.name + ":" + str(r.port.number) != to
        ):
            continue
        if from_ is None:
            edges.extend(r.edges(engine))
            continue
        # one client's edge is its class's outcome: looked up, not found among every edge
        for cl in by_cluster.get(r.cluster, ()):
            edges.append(engine.edge(cl, r.service, r.port))
    names = {cl.name for cl in clients}
    for e in a.pseudo:
        if (from_ is None or e.from_ in names) and (to is None or e.to == to):
            edges.append(e)
    if to is not None and not edges:
        errors.append(f"--to {to!r}: no edge to that destination (give --from to compute one)")
    return edges, errors
