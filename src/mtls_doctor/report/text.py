"""Terminal views for people: the edge table, one edge hop by hop, the analysis summary."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from mtls_doctor.analysis import LinkedEvent
from mtls_doctor.checks.finding import LEVEL_RANK, Finding
from mtls_doctor.edges.classes import DestinationResult
from mtls_doctor.edges.engine import fill_client
from mtls_doctor.edges.records import Edge

VERDICT_STYLE = {
    "mtls": "green",
    "plaintext": "yellow",
    "tls": "cyan",
    "fail": "bold red",
    "denied": "magenta",
    "unknown": "dim",
    "mixed": "dark_orange",
}
LEVEL_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def verdict_text(verdict: str, cause: str | None = None) -> Text:
    t = Text(verdict, style=VERDICT_STYLE.get(verdict, ""))
    if cause:
        t.append(f" / {cause}", style="dim" if verdict == "mtls" else "")
    return t


def listed(names: Sequence[str], total: int, limit: int = 3) -> str:
    """Up to `limit` of `names`, then how many of `total` are left out: "a, b, c +12"."""
    return ", ".join(names[:limit]) + (f" +{total - limit}" if total > limit else "")


def _from(edge: Edge) -> str:
    return f"{edge.from_} ({edge.from_cluster})" if edge.from_cluster else edge.from_


def _to(edge: Edge) -> str:
    return f"{edge.to} ({edge.to_cluster})" if edge.to_cluster else edge.to


def edges_table(edges: Iterable[Edge]) -> Table:
    table = Table(title="Edges", show_lines=False, expand=False)
    table.add_column("from", overflow="fold")
    table.add_column("to", overflow="fold")
    table.add_column("verdict / cause", no_wrap=True)
    table.add_column("endpoints", overflow="fold")
    for e in edges:
        o = e.outcome
        eps = Text()
        for i, ep in enumerate(o.endpoints):
            if i:
                eps.append("\n")
            where = ep.address or ep.workload or "?"
            eps.append(f"{where} ", style="")
            if ep.workload and ep.address:
                eps.append(f"{ep.workload} ", style="dim")
            eps.append(ep.verdict, style=VERDICT_STYLE.get(ep.verdict, ""))
        table.add_row(_from(e), _to(e), verdict_text(o.verdict, o.cause), eps)
    return table


TABLE_ROWS = 300  # more destinations than this are listed one line each, not in a table


def destinations_text(results: Sequence[DestinationResult], multi: bool) -> RenderableType:
    """The grouped form for people: a table, or for a big mesh one line per destination (a
    table of tens of thousands of rows takes longer to lay out than the analysis, and lines
    are what `grep` and `less` want)."""
    shown = [r for r in results if r.classes]
    if len(shown) <= TABLE_ROWS:
        return destinations_table(shown, multi)
    tos = [f"{r.to} ({r.cluster})" if multi else r.to for r in shown]
    width = max(map(len, tos))
    out = Text(
        f"Destinations (every client grouped by outcome): {len(shown):,}, one a line: "
        "to, clients, the outcome for most clients, then the exceptions",
        style="bold",
    )
    for to, r in zip(tos, shown, strict=True):
        first = r.classes[0]
        out.append(f"\n{to:<{width}}  {r.client_count:>7,}  ")
        out.append_text(verdict_text(first.outcome.verdict, first.outcome.cause))
        for cls in r.classes[1:]:
            names, n = cls.names(3)
            out.append(f"  | {listed(names, n)}: ")
            out.append_text(verdict_text(cls.outcome.verdict, cls.outcome.cause))
    return out


def destinations_table(results: Iterable[DestinationResult], multi: bool) -> Table:
    table = Table(title="Destinations (every client grouped by outcome)")
    table.add_column("to", overflow="fold")
    table.add_column("clients", justify="right")
    table.add_column("outcome for most clients", no_wrap=True)
    table.add_column("exceptions", overflow="fold")
    for r in results:
        if not r.classes:
            continue
        first = r.classes[0]
        exc = Text()
        for cls in r.classes[1:]:
            names, n = cls.names(3)
            shown = listed(names, n)
            if exc:
                exc.append("\n")
            exc.append(f"{shown}: ")
            exc.append_text(verdict_text(cls.outcome.verdict, cls.outcome.cause))
        to = f"{r.to} ({r.cluster})" if multi else r.to
        table.add_row(
            to, str(r.client_count), verdict_text(first.outcome.verdict, first.outcome.cause), exc
        )
    return table


def explain_edge(edge: Edge) -> RenderableType:
    o = edge.outcome
    header = Text()
    header.append(_from(edge), style="bold")
    header.append(" → ")
    header.append(_to(edge), style="bold")
    header.append("   ")
    header.append_text(verdict_text(o.verdict, o.cause))
    steps = Table(show_header=True, expand=True, box=None, padding=(0, 1))
    steps.add_column("#", justify="right", style="dim", no_wrap=True)
    steps.add_column("step", style="bold", no_wrap=True)
    steps.add_column("decision, and what decided it", ratio=1, overflow="fold")
    for i, s in enumerate(o.trace, 1):
        cell = Text(s.decision)
        for r in s.resources:
            cell.append("\n  ↳ ", style="dim")
            cell.append(r.key, style="bold")
            if r.origin is not None:
                cell.append(f"  {r.origin}", style="dim")
        steps.add_row(str(i), s.step, cell)
    parts: list[RenderableType] = [header, Text(), steps]
    if len(o.endpoints) > 1:
        eps = Table(title="endpoints", box=None)
        eps.add_column("address")
        eps.add_column("workload")
        eps.add_column("cluster")
        eps.add_column("verdict / cause")
        for ep in o.endpoints:
            eps.add_row(
                ep.address or "-",
                ep.workload or "-",
                ep.cluster or "-",
                verdict_text(ep.verdict, ep.cause),
            )
        parts += [Text(), eps]
    if o.symptom is not None:
        sym = Text()
        if o.symptom.http_status is not None:
            sym.append(f"HTTP {o.symptom.http_status}  ", style="bold")
        if o.symptom.response_flags:
            sym.append(f"flags {o.symptom.response_flags}  ", style="bold")
        sym.append(o.symptom.message)
        if o.symptom.server_log:
            sym.append(f"\n{o.symptom.server_log}", style="dim")
        parts += [
            Text(),
            Panel(sym, title="what you will see", title_align="left", border_style="red"),
        ]
    if o.fix:
        parts += [
            Panel(Text(o.fix), title="smallest fix", title_align="left", border_style="green")
        ]
    return Group(*parts)


def findings_list(findings: Sequence[Finding], limit: int = 40) -> RenderableType:
    """Findings the way linters print them: location, level, code, subject; message; fix.
    Past `limit`, a count per code comes first and only the first `limit` are printed."""
    parts: list[RenderableType] = []
    if len(findings) > limit:
        per_code = Counter((f.code, f.level) for f in findings)
        table = Table(title=f"{len(findings)} findings by code")
        table.add_column("code", no_wrap=True)
        table.add_column("level", no_wrap=True)
        table.add_column("count", justify="right")
        for (code, level), n in sorted(
            per_code.items(), key=lambda kv: (-LEVEL_RANK[kv[0][1]], -kv[1])
        ):
            table.add_row(code, Text(level, style=LEVEL_STYLE[level]), str(n))
        parts += [
            table,
            Text(f"the first {limit} (use -o json, or --select CODE, for all):", style="dim"),
        ]
    for f in findings[:limit]:
        head = Text()
        if f.origin is not None:
            head.append(f"{f.origin}  ", style="bold")
        head.append(f.level, style=LEVEL_STYLE[f.level])
        head.append(f"  {f.code}  ", style="bold")
        head.append(str(f.subject))
        if f.cluster:
            head.append(f"  ({f.cluster})", style="dim")
        body = Text(f"{f.message}\n")
        body.append(f"fix: {f.fix}", style="green")
        if f.patch:
            body.append("\npatch (checked: the edge becomes mTLS):\n", style="dim")
            body.append(f.patch.rstrip(), style="cyan")
        parts += [head, Padding(body, (0, 0, 0, 4))]
    return Group(*parts)


def summary(
    results: Sequence[DestinationResult],
    pseudo: Sequence[Edge],
    findings: Sequence[Finding],
    multi: bool,
    top_fixes: int = 5,
) -> RenderableType:
    counts: Counter[str] = Counter()
    groups: dict[tuple[str, str | None], list[tuple[int, str]]] = defaultdict(list)
    reach: dict[tuple[str, str | None], set[str]] = defaultdict(set)  # destination namespaces
    fixes: Counter[str] = Counter()
    for r in results:
        for cls in r.classes:
            o = cls.outcome
            counts[o.verdict] += cls.count
            if o.verdict != "mtls" and not (o.verdict == "plaintext" and not cls.any_sidecar):
                names, n = cls.names(3)
                shown = listed(names, n)
                to = f"{r.to} ({r.cluster})" if multi else r.to
                groups[(o.verdict, o.cause)].append((cls.count, f"{shown} → {to}"))
                reach[(o.verdict, o.cause)].add(r.service.namespace)
                if o.fix:
                    fixes[fill_client(o.fix, cls.first)] += cls.count
    for e in pseudo:
        counts[e.outcome.verdict] += 1
        if e.outcome.verdict != "mtls":
            groups[(e.outcome.verdict, e.outcome.cause)].append((1, f"{e.from_} → {e.to}"))
            if e.outcome.fix:
                fixes[e.outcome.fix] += 1
    total = sum(counts.values())
    head = Text(f"{total:,} edges: ", style="bold")
    for v in ("mtls", "plaintext", "tls", "fail", "denied", "unknown", "mixed"):
        if counts[v]:
            head.append(f"{counts[v]:,} ", style="bold")
            head.append(v, style=VERDICT_STYLE[v])
            head.append("  ")
    parts: list[RenderableType] = [head]
    order = {"fail": 0, "denied": 1, "mixed": 2, "unknown": 3, "plaintext": 4, "tls": 5}
    for (verdict, cause), entries in sorted(
        groups.items(), key=lambda kv: (order.get(kv[0][0], 9), kv[0][1] or "")
    ):
        body = Text()
        rows = entries
        if len(rows) > 10:  # a big mesh: its scale first, then the rows with most edges
            edges = sum(n for n, _ in rows)
            spaces = len(reach[(verdict, cause)])
            body.append(
                f"  {edges:,} edges in {len(rows):,} rows, to services in {spaces:,} "
                f"namespace{'s' if spaces != 1 else ''}; the 10 rows with most edges:\n",
                style="dim",
            )
            rows = sorted(rows, key=lambda row: -row[0])
        body.append("\n".join(f"  {text}" for _, text in rows[:10]))
        if len(rows) > 10:
            body.append(f"\n  … and {len(rows) - 10:,} more", style="dim")
        title = verdict_text(verdict, cause)
        parts += [Text(), title, body]
    if fixes:
        tf = Text("\nTop fixes", style="bold")
        for fix, n in fixes.most_common(top_fixes):
            tf.append("\n  • ")
            tf.append(fix, style="green")
            tf.append(f"  ({n} edge{'s' if n != 1 else ''})", style="dim")
        parts.append(tf)
    errors = sum(1 for f in findings if f.level == "error")
    warnings = sum(1 for f in findings if f.level == "warning")
    parts.append(
        Text(
            f"\n{_n(len(findings), 'finding')}: {_n(errors, 'error')}, {_n(warnings, 'warning')}",
            style="bold",
        )
    )
    return Group(*parts)


def log_events(linked: Sequence[LinkedEvent]) -> RenderableType:
    """Log events grouped by cause and destination, next to what the edges predict there."""
    groups: dict[tuple[str, str], list[LinkedEvent]] = defaultdict(list)
    for le in linked:
        e = le.event
        groups[(e.cause or "", e.destination or e.upstream_cluster or e.source)].append(le)
    table = Table(title=f"Log events ({len(linked)} about TLS, mTLS or authorization)")
    table.add_column("cause", no_wrap=True)
    table.add_column("where", overflow="fold")
    table.add_column("seen", justify="right")
    table.add_column("flags / details", overflow="fold")
    table.add_column("the edges predict", overflow="fold")
    for (cause, where), items in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        first = items[0].event
        detail = " ".join(x for x in (first.response_flags, first.reason or first.details) if x)
        predicted = Text("-", style="dim")
        dest = items[0].destination
        if dest is not None:
            predicted = Text()
            for cls in dest.classes[:3]:
                names, n = cls.names(2)
                who = listed(names, n, 2)
                predicted.append(f"{who}: ")
                predicted.append_text(verdict_text(cls.outcome.verdict, cls.outcome.cause))
                predicted.append("\n")
        table.add_row(
            cause,
            Text(f"{where}\n{first.source}:{first.line}", style=""),
            str(len(items)),
            detail,
            predicted,
        )
    return table
