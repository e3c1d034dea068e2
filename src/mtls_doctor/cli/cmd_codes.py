"""`mtls-doctor codes`: the finding catalog; `show_code_page`: the bundled page of one code.

`explain CODE` (in the core commands) calls `show_code_page`; the hidden `code CODE` command
does the same.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import click
from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from mtls_doctor.checks import catalog
from mtls_doctor.checks.codes import Code
from mtls_doctor.checks.filtering import ALL, is_selected, parse_prefixes
from mtls_doctor.cli.common import Exit, output_option, stderr, stdout, write_raw

PageLookup = Callable[[str], str | None]
_F = TypeVar("_F", bound=Callable[..., Any])

_LEVEL_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}


def _output_option() -> Callable[[_F], _F]:
    # common.output_option is annotated as returning `click.Option | object`; it is a decorator.
    return cast(Callable[[_F], _F], output_option("text", "json"))


def register(app: click.Group) -> None:
    app.add_command(codes_command)
    app.add_command(code_command)


@click.command("codes")
@_output_option()
@click.option(
    "--select",
    "select",
    multiple=True,
    metavar="PREFIX",
    help="Only codes starting with PREFIX (repeat or comma-separate, e.g. PA,DR101).",
)
def codes_command(output: str, select: tuple[str, ...]) -> int:
    """List the finding catalog: code, name, level and fix."""
    try:
        prefixes = parse_prefixes(select) or (ALL,)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--select") from None
    chosen = select_codes(catalog.CATALOG, prefixes)
    if select and not chosen:
        families = sorted({c.code[:2] for c in catalog.CATALOG})
        stderr().print(
            f"[red]error[/]: no code starts with {', '.join(p or 'ALL' for p in prefixes)}; "
            f"families: {', '.join(families) or 'none'}",
            markup=True,
        )
        return Exit.USAGE
    if output == "json":
        write_raw(json.dumps({"codes": [codes_row(c) for c in chosen]}, indent=2) + "\n")
        return Exit.OK
    stdout().print(codes_table(chosen))
    return Exit.OK


@click.command("code", hidden=True)
@click.argument("code")
def code_command(code: str) -> int:
    """Show the documentation page of one finding code (same as `explain CODE`)."""
    return show_code_page(code)


def select_codes(codes: Sequence[Code], prefixes: Sequence[str]) -> list[Code]:
    return [c for c in codes if is_selected(c.code, prefixes)]


def codes_row(code: Code) -> dict[str, str]:
    return {
        "code": code.code,
        "name": code.name,
        "level": code.level,
        "message": code.message,
        "fix": code.fix,
    }


def codes_table(codes: Sequence[Code]) -> Table:
    table = Table(
        title=f"mtls-doctor finding codes ({len(codes)})",
        title_justify="left",
        caption="`mtls-doctor explain CODE` shows the page of a code.",
        caption_justify="left",
    )
    table.add_column("code", no_wrap=True, style="bold")
    table.add_column("name", no_wrap=True)
    table.add_column("level", no_wrap=True)
    table.add_column("fix", overflow="fold")
    for c in codes:
        style = _LEVEL_STYLE.get(c.level, "")
        table.add_row(c.code, c.name, f"[{style}]{c.level}[/]" if style else c.level, c.fix)
    return table


_CODE_ARG = re.compile(r"^[A-Za-z]{2}\d{3}$")


def is_code_argument(arg: str) -> bool:
    """Whether `explain ARG` means a finding code (`PA101`, `pa101`) rather than a path.

    A file or directory of that name wins, as a path argument would.
    """
    return bool(_CODE_ARG.match(arg.strip())) and not Path(arg).exists()


def show_code_page(
    code: str,
    *,
    codes: Sequence[Code] | None = None,
    pages: PageLookup | None = None,
    console: Console | None = None,
    err: Console | None = None,
) -> int:
    """Print the bundled page of `code`: rich Markdown on a terminal, the raw text otherwise.

    Unknown code: an error with the close matches, exit 2. The keyword arguments default to
    the real catalog, its pages and the standard consoles.
    """
    known = list(codes if codes is not None else catalog.CATALOG)
    page_of = pages if pages is not None else catalog.page
    out = console if console is not None else stdout()
    errc = err if err is not None else stderr()

    wanted = code.strip().upper()
    by_code = {c.code: c for c in known}
    entry = by_code.get(wanted)
    if entry is None:
        matches = close_matches(wanted, [c.code for c in known])
        hint = f" Did you mean: {', '.join(matches)}?" if matches else ""
        errc.print(
            f"[red]error[/]: unknown finding code {code.strip()!r}.{hint} "
            "`mtls-doctor codes` lists them all.",
            markup=True,
            highlight=False,
        )
        return Exit.USAGE

    text = page_of(entry.code)
    if text is None:  # every code should have one; say so instead of showing nothing
        text = (
            f"# {entry.code} {entry.name}\n\nLevel: {entry.level}\n\n"
            f"## How to fix\n\n{entry.fix}\n\n(no page is bundled for this code)\n"
        )
    if out.is_terminal:
        out.print(Markdown(text))
    else:
        out.file.write(text if text.endswith("\n") else text + "\n")
        out.file.flush()
    return Exit.OK


def close_matches(wanted: str, codes: Sequence[str], limit: int = 5) -> list[str]:
    """Codes that look like `wanted`: same prefix first (PA10 -> PA101...), then similar ones."""
    out: list[str] = []
    if wanted:
        out.extend(c for c in codes if c.startswith(wanted))
    out.extend(difflib.get_close_matches(wanted, codes, n=limit, cutoff=0.6))
    seen: list[str] = []
    for c in out:
        if c not in seen:
            seen.append(c)
    return seen[:limit]
