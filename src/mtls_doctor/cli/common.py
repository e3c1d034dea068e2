"""What every command shares: consoles, exit codes, output formats, problem reporting.

The cli package is the only place that prints. Renderers in `report/` return text or rich
renderables; commands print them here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from enum import IntEnum
from typing import Any

import click
from rich.console import Console

from mtls_doctor.sources.problems import InputProblem


class Exit(IntEnum):
    OK = 0
    FINDINGS = 1  # a finding reached --fail-on
    USAGE = 2
    INPUT = 3  # some input could not be read (the rest was still analysed)
    INTERNAL = 4  # a bug in mtls-doctor; the message says how to get the traceback


PIPED_WIDTH = 160  # columns for output to a file or a pipe, unless COLUMNS says otherwise


def stdout() -> Console:
    """The console for results. A file or a pipe gets lines as wide as a wide terminal's,
    not rich's default of 80, which would fold every `clients → destination` line."""
    width = None
    if "COLUMNS" not in os.environ and not sys.stdout.isatty():
        width = PIPED_WIDTH
    return Console(file=sys.stdout, soft_wrap=False, highlight=False, width=width)


def stderr() -> Console:
    return Console(file=sys.stderr, stderr=True, highlight=False, soft_wrap=True)


# `--fail-on`: the exit code's threshold, the same for every command that has findings
fail_on_option = click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "info", "never"]),
    default="error",
    show_default=True,
    help="Exit 1 when a finding reaches this level.",
)


def output_option(
    *choices: str, default: str = "text"
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "-o",
        "--output",
        "output",
        type=click.Choice(choices),
        default=default,
        show_default=True,
        help="Output format.",
    )


def write_raw(text: str) -> None:
    """Write machine output (JSON, SARIF) exactly as given."""
    sys.stdout.write(text)
    if not text.endswith("\n"):
        sys.stdout.write("\n")
    sys.stdout.flush()


def report_problems(problems: Iterable[InputProblem]) -> int:
    """Print input problems to stderr; return the number of errors among them."""
    err = stderr()
    errors = 0
    for p in problems:
        style = "red" if p.level == "error" else "yellow"
        err.print(f"[{style}]{p.level}[/]: {p.origin}: {p.message}", markup=True, highlight=False)
        errors += p.level == "error"
    return errors


def debug_enabled() -> bool:
    return os.environ.get("MTLS_DOCTOR_DEBUG", "") not in ("", "0")
