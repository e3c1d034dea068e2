"""`mtls-doctor lab`: replay an edge through real Envoy sidecars and compare with the prediction.

The edges come from the inputs (`PATH... --from NS/WORKLOAD --to HOST:PORT`, or `--all` for one
replay per distinct edge class) through the edge engine, or from `--case FILE` (a LabCase as
YAML or JSON).
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
from mtls_doctor.lab.case import NoTls, decode_case


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


def _class_signature(case: LabCase) -> bytes:
    """What makes two replays behave alike: everything but names, hosts and the identities
    themselves (kept only as whether the server's identity is among the expected SANs)."""
    tls = case.client.cluster_tls
    sans = getattr(tls, "sans", ())
    san_ok = not sans or case.server.identity in sans
    plain = msgspec.structs.replace(
        case,
        name="",
        host="h",
        port=1,
        source=None,
        client=msgspec.structs.replace(case.client, identity=None),
        server=msgspec.structs.replace(case.server, identity=None),
    )
    kind = type(tls).__name__
    mode = getattr(tls, "endpoint_tls_mode", None)
    raw: bytes = msgspec.json.encode(
        [msgspec.to_builtins(msgspec.structs.replace(plain.client, cluster_tls=NoTls())),
         msgspec.to_builtins(plain.server), plain.app_protocol, plain.port_class,
         msgspec.to_builtins(plain.predicted), kind, mode, san_ok,
         (case.client.identity or "").split("/")[2:3]]
    )  # fmt: skip
    return raw


def cases_from_inputs(
    paths: tuple[str, ...],
    from_: str | None,
    to: str | None,
    all_: bool,
    mesh_config: str | None,
    discovery: tuple[str, ...],
) -> tuple[list[LabCase], list[str]]:
    """LabCases for the edges the inputs name, and messages for what cannot be replayed."""
    from mtls_doctor.cli.pipeline import clients_matching, run_analysis
    from mtls_doctor.edges.engine import Target
    from mtls_doctor.edges.lab_case import lab_cases

    a = run_analysis(paths, mesh_config, discovery)
    engine = a.engine
    notes: list[str] = [f"{p.origin}: {p.message}" for p in a.load.problems if p.level == "error"]
    cases: list[LabCase] = []
    if all_:
        seen: set[bytes] = set()
        for r in a.results:
            for cls in r.classes:
                got, skipped = lab_cases(engine, cls.first, Target(r.service, r.port))
                for c in got:
                    sig = _class_signature(c)
                    if sig not in seen:
                        seen.add(sig)
                        cases.append(c)
        return cases, notes
    if from_ is None or to is None:
        raise click.UsageError("give --from NS/WORKLOAD and --to HOST:PORT, --all, or --case FILE")
    clients = clients_matching(engine, from_)
    if not clients:
        raise click.UsageError(f"--from {from_!r}: no workload of that name in the inputs")
    for client in clients:
        target = engine.resolve(client, to)
        if isinstance(target, str):
            raise click.UsageError(target)
        got, skipped = lab_cases(engine, client, target)
        cases.extend(got)
        notes.extend(f"{s.endpoint}: not replayed: {s.reason}" for s in skipped)
    return cases, notes


def register(app: click.Group) -> None:
    @app.command("lab")
    @click.argument("paths", nargs=-1, metavar="[PATH...]")
    @click.option("--from", "from_", metavar="NS/WORKLOAD", help="The client of the edge.")
    @click.option("--to", metavar="HOST:PORT", help="The destination (also POD_IP:PORT).")
    @click.option("--all", "all_", is_flag=True, help="One replay per distinct edge class.")
    @click.option("--mesh-config", type=click.Path(dir_okay=False), help="MeshConfig file.")
    @click.option("--multicluster-discovery", "discovery", multiple=True, metavar="A=B[,C]")
    @click.option(
        "--case",
        "case_files",
        multiple=True,
        type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
        help="A LabCase (YAML or JSON) describing both sides of the edge; may repeat.",
    )
    @click.option(
        "--keep",
        type=click.Path(path_type=Path, file_okay=False),
        help="Leave configs, certificates, logs and replay.sh in this directory.",
    )
    @output_option("text", "json")
    def lab(
        paths: tuple[str, ...],
        from_: str | None,
        to: str | None,
        all_: bool,
        mesh_config: str | None,
        discovery: tuple[str, ...],
        case_files: tuple[Path, ...],
        keep: Path | None,
        output: str,
    ) -> int:
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
        if paths:
            found, notes = cases_from_inputs(paths, from_, to, all_, mesh_config, discovery)
            for note in notes:
                err.print(f"[yellow]note[/]: {note}", markup=True, highlight=False)
            cases.extend(found)
            if not found:
                _error(err, "nothing to replay")
                return Exit.USAGE
        elif not case_files:
            raise click.UsageError("give PATH... with --from/--to or --all, or --case FILE")
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
