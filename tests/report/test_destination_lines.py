"""`edges` for people on a big mesh: past TABLE_ROWS destinations the grouped form is one line
per destination (to, clients, the outcome for most clients, the exceptions), each line saying
what the classes say; below it, the table. Piped output is as wide as a wide terminal."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from rich.table import Table

from mtls_doctor.analysis import analyze
from mtls_doctor.model.load import load_mesh
from mtls_doctor.report import text
from tests.cli.run import ROOT, STAGES
from tests.generated import generate_mesh


def test_one_line_per_destination(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dump = tmp_path / "mesh.json"
    generate_mesh(400, dump)
    a = analyze(load_mesh([str(dump)]))
    monkeypatch.setattr(text, "TABLE_ROWS", 10)
    console = Console(width=80, record=True, file=io.StringIO())  # lines are never folded
    console.print(text.destinations_text(a.results, a.multi), soft_wrap=True)
    lines = console.export_text().splitlines()
    assert lines[0].startswith(f"Destinations (every client grouped by outcome): {len(a.results)}")
    body = lines[1:]
    assert len(body) == len(a.results) > 10
    for line, r in zip(body, a.results, strict=True):
        head, *exceptions = line.split("  | ")
        first = r.classes[0].outcome
        want = first.verdict + (f" / {first.cause}" if first.cause else "")
        assert head.split()[:3] == [r.to, f"{r.client_count:,}", *want.split()[:1]], line
        assert head.rstrip().endswith(want), line
        assert len(exceptions) == len(r.classes) - 1
        for part, cls in zip(exceptions, r.classes[1:], strict=True):
            o = cls.outcome
            assert part.rstrip().endswith(o.verdict + (f" / {o.cause}" if o.cause else ""))


def test_few_destinations_stay_a_table() -> None:
    a = analyze(load_mesh(STAGES[2]))
    assert isinstance(text.destinations_text(a.results, a.multi), Table)


def test_piped_output_is_not_folded_at_80_columns() -> None:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env["NO_COLOR"] = "1"
    r = subprocess.run(
        [sys.executable, "-m", "mtls_doctor", "analyze", *STAGES[2]],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert r.returncode == 1, r.stderr
    assert "curl/client, echo/echo → global-echo:80 (cluster1)" in r.stdout
    assert max(map(len, r.stdout.splitlines())) > 80
