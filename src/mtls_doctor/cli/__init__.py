"""The `mtls-doctor` command: one click group; each command lives in a `cmd_*` module."""

from __future__ import annotations

import os
import sys
from importlib import import_module
from typing import NoReturn

import click

from mtls_doctor import __version__
from mtls_doctor.cli.common import Exit, debug_enabled, stderr


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, _param, value: _version(ctx) if value else None,
    help="Show the version, and whether the core is compiled, and exit.",
)
def app() -> None:
    """Istio mTLS, edge by edge: mTLS, plaintext or failing — why, and the smallest fix."""


def _version(ctx: click.Context) -> None:
    from mtls_doctor.build import describe

    click.echo(f"mtls-doctor {__version__}, {describe()}")
    ctx.exit()


# Command modules, in the order their commands are listed. Each defines `register(app)`.
_COMMAND_MODULES = (
    "mtls_doctor.cli.cmd_core",
    "mtls_doctor.cli.cmd_explain",
    "mtls_doctor.cli.cmd_codes",
    "mtls_doctor.cli.cmd_certs",
    "mtls_doctor.cli.cmd_envoy",
    "mtls_doctor.cli.cmd_lab",
)

for _name in _COMMAND_MODULES:
    try:
        _module = import_module(_name)
    except ModuleNotFoundError as _exc:
        if _exc.name != _name:
            raise
        continue
    _module.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the group and turns every failure into a message and an exit code."""
    try:
        rc = app.main(args=argv, prog_name="mtls-doctor", standalone_mode=False)
    except click.exceptions.Abort:
        stderr().print("aborted")
        sys.exit(130)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(Exit.USAGE if exc.exit_code == 2 else exc.exit_code)
    except KeyboardInterrupt:
        stderr().print("interrupted")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:  # a bug of ours: say so without a traceback
        if debug_enabled():
            raise
        stderr().print(
            f"[red]internal error[/]: {type(exc).__name__}: {exc}\n"
            "This is a bug in mtls-doctor. Run again with MTLS_DOCTOR_DEBUG=1 to see the "
            "traceback.",
            markup=True,
        )
        sys.exit(Exit.INTERNAL)
    _leave(int(rc or 0))


def _leave(code: int) -> NoReturn:
    """Exit once the output is flushed, without freeing the heap object by object: after a
    whole-mesh run that is millions of objects (a second at 50k pods) and serves nothing.
    Commands clean up what they made (lab directories, Envoy processes) before returning."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        code = 0  # the reader went away (`| head`), as the BrokenPipeError handler above
    os._exit(code)
