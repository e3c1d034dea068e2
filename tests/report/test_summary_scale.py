"""The `analyze` summary of a big mesh: per cause, its scale first, then the rows with most
edges (a generated mesh where clients without a sidecar meet STRICT servers, from namespaces
of different sizes)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from mtls_doctor.analysis import analyze
from mtls_doctor.model.load import load_mesh
from mtls_doctor.report.text import summary
from tests.generated import generate_mesh


def test_big_groups_say_their_scale_and_lead_with_the_most_edges(tmp_path: Path) -> None:
    dump = tmp_path / "mesh.json"
    generate_mesh(400, dump)
    a = analyze(load_mesh([str(dump)]))
    rows = [
        (cls.count, r)
        for r in a.results
        for cls in r.classes
        if (cls.outcome.verdict, cls.outcome.cause) == ("fail", "plaintext-rejected")
    ]
    most = sorted((n for n, _ in rows), reverse=True)[:10]
    assert len(rows) > 10 and [n for n, _ in rows[:10]] != most  # the order has to change
    console = Console(width=400, record=True, file=io.StringIO())
    console.print(summary(a.results, a.pseudo, [], a.multi))
    out = console.export_text()
    section = out.split("fail / plaintext-rejected", 1)[1].split("\n\n", 1)[0]
    edges = sum(n for n, _ in rows)
    spaces = len({r.service.namespace for _, r in rows})
    assert f"{edges:,} edges in {len(rows):,} rows, to services in {spaces:,} namespaces" in section
    shown = [line for line in section.splitlines() if "→" in line]
    assert len(shown) == 10
    counted = [_clients(line) for line in shown]
    assert counted == most  # the rows with most edges, in order
    assert f"… and {len(rows) - 10:,} more" in section


def _clients(row: str) -> int:
    """How many clients a row names: up to three, then "+N" more."""
    names, _, _ = row.partition(" → ")
    more = re.search(r" \+(\d+)$", names)
    shown = names[: more.start()] if more else names
    return len(shown.split(", ")) + (int(more.group(1)) if more else 0)
