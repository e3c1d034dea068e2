"""`mtls-doctor lab`: replay an edge through real Envoy sidecars and compare with the prediction.

For now the edge comes from `--case FILE` (a LabCase as YAML or JSON). The PATH... --from/--to
mode, which builds LabCases from manifests with the edge engine, is to be added here as a function
`cases_from_inputs(...)` once the engine exists; nothing here pretends to do it.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import click
import msgspec
from rich.console import Console
from rich.progress import Progress

from mtls_doctor.cli.common import Exit, output_option, stderr, stdout, write_raw
from mtls_doctor.lab import LabCase, LabError, LabResult, LabUnavailable, find_envoy, run_case
from mtls_doctor.lab.case import decode_case


def _read_case(path: Path) -> LabCase | str:
    """The case in `path`, or a message naming the file and what is wrong."""
    try:
        data = path.read_bytes() if str(path) != "-" else sys.stdin.buffer.read()
    except OSError as exc:
        return f"{path}: cannot read: {exc.strerror or exc}"
    is_json = path.suffix.lower() == ".json" or data.lstrip()[:1] == b"{"
    try:
        return decode_case(data, yaml=not is_json)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return f"{path}: not a lab case: {exc}"
    except Exception as exc:  # YAML scanner errors carry the line
        return f"{path}: not a lab case: {exc}"


def _error(console: Console, message: str) -> None:
    console.print("[red]error[/]: ", end="", markup=True)
    console.print(message, markup=False, highlight=False, soft_wrap=True)


def _dir_name(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or "case"


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the lab like Ctrl-C does, so `finally` blocks stop what was started."""

    def handler(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def register(app: click.Group) -> None:
    @app.command("lab")
    @click.option(
        "--case",
        "case_files",
        multiple=True,
        required=True,
        type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
        help="A LabCase (YAML or JSON) describing both sides of the edge; may repeat.",
    )
    @click.option(
        "--keep",
        type=click.Path(path_type=Path, file_okay=False),
        help="Leave configs, certificates, logs and replay.sh in this directory.",
    )
    @output_option("text", "json")
    def lab(case_files: tuple[Path, ...], keep: Path | None, output: str) -> int:
        """Replay an edge through real Envoy sidecars on 127.0.0.1 and compare with the prediction.

        Starts a loopback app and one Envoy per sidecar (Envoy from `pip install
        'mtls-doctor[lab]'`), sends one request the way the client app would, reports what Envoy
        did next to the predicted verdict and cause, and stops everything. Exit 0 when every
        replay agrees with its prediction, 1 when one does not, 3 when a case file cannot be read
        or Envoy cannot run here.
        """
        err = stderr()
        cases: list[LabCase] = []
        unreadable = 0
        for path in case_files:
            got = _read_case(path)
            if isinstance(got, str):
                _error(err, got)
                unreadable += 1
            else:
                cases.append(got)
        if not cases:
            return Exit.INPUT
        try:
            find_envoy()
        except LabUnavailable as exc:
            _error(err, f"the lab needs Envoy: {exc}")
            return Exit.INPUT
        results: list[LabResult] = []
        failed = 0
        with (
            _sigterm_as_interrupt(),
            Progress(
                console=err, transient=True, disable=len(cases) < 2 or not err.is_terminal
            ) as progress,
        ):
            task = progress.add_task("replaying", total=len(cases))
            for case in cases:
                target = None
                if keep is not None:
                    target = keep if len(cases) == 1 else keep / _dir_name(case.name)
                try:
                    results.append(run_case(case, keep=target))
                except LabError as exc:
                    _error(err, f"{case.name}: {exc}")
                    failed += 1
                progress.advance(task)
        if output == "json":
            from mtls_doctor.report.lab import render_json

            write_raw(render_json(results))
        else:
            from mtls_doctor.report.lab import render_text

            out = stdout()
            for result in results:
                out.print(render_text(result))
        if unreadable or failed:
            return Exit.INPUT
        return Exit.OK if all(r.agrees for r in results) else Exit.FINDINGS
