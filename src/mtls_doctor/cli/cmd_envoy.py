"""`mtls-doctor envoy DUMP...` and `mtls-doctor logs FILE...`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import click
import msgspec

from mtls_doctor.checks.finding import LEVEL_RANK, Finding
from mtls_doctor.cli.common import (
    Exit,
    fail_on_option,
    output_option,
    report_problems,
    stderr,
    stdout,
    write_raw,
)
from mtls_doctor.envoy.bugreport import open_archive
from mtls_doctor.envoy.configdump import read_dump
from mtls_doctor.envoy.diff import diff_clusters, find_pair
from mtls_doctor.envoy.logfindings import log_findings
from mtls_doctor.envoy.logs import LogEvent, read_log
from mtls_doctor.envoy.records import ProxyConfig
from mtls_doctor.model.refs import Origin
from mtls_doctor.report import envoy as envoy_report
from mtls_doctor.report import logs as logs_report
from mtls_doctor.sources.documents import read_bytes
from mtls_doctor.sources.paths import expand
from mtls_doctor.sources.problems import InputProblem

_OUTPUT = cast(Callable[[Any], Any], output_option("text", "json"))


def _exit_code(findings: list[Finding], fail_on: str, input_errors: int) -> int:
    if input_errors:
        return Exit.INPUT
    if fail_on != "never" and any(LEVEL_RANK[f.level] >= LEVEL_RANK[fail_on] for f in findings):
        return Exit.FINDINGS
    return Exit.OK


_ARCHIVES = (".tar.gz", ".tgz", ".tar")


def _read_all(
    args: tuple[str, ...], suffixes: tuple[str, ...], part: str
) -> tuple[list[tuple[str, bytes]], list[InputProblem]]:
    """(name, bytes) of every input; an istioctl bug-report archive gives its `part`:
    the proxies' config dumps (`dumps`) or the proxy/istiod logs (`logs`)."""
    files, problems = expand(args, suffixes)
    out: list[tuple[str, bytes]] = []
    for f in files:
        if f.path != "-" and f.path.lower().endswith(_ARCHIVES):
            report = open_archive(f.path)
            problems.extend(report.problems)
            if part == "dumps":
                out.extend((f"{f.display}!{d.member}", d.data) for d in report.config_dumps)
            else:
                out.extend((f"{f.display}!{x.member}", x.text.encode()) for x in report.logs)
            continue
        try:
            out.append((f.display, read_bytes(f)))
        except OSError as exc:
            problems.append(InputProblem(Origin(f.display), f"cannot read: {exc.strerror}"))
    return out, problems


@click.command("envoy")
@click.argument("dumps", nargs=-1, required=True)
@_OUTPUT
@click.option(
    "--diff",
    "diff",
    nargs=2,
    metavar="CLUSTER_A CLUSTER_B",
    help="Show the TLS-relevant differences between two clusters (same or different dumps).",
)
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="Text view: also list non-Istio clusters and every endpoint.",
)
@fail_on_option
def envoy_cmd(
    dumps: tuple[str, ...], output: str, diff: tuple[str, str] | None, show_all: bool, fail_on: str
) -> int:
    """Read Envoy config dumps (/config_dump, istioctl pc -o json, a bug-report archive)."""
    files, problems = _read_all(dumps, (".json", ".yaml", ".yml"), "dumps")
    configs: list[ProxyConfig] = [read_dump(data, name) for name, data in files]
    for c in configs:
        problems.extend(c.problems)
    cluster_diff = None
    if diff:
        a, b = find_pair(configs, diff[0], diff[1])
        missing = [n for n, found in ((diff[0], a), (diff[1], b)) if found is None]
        if missing:
            report_problems(problems)
            stderr().print(
                f"[red]error[/]: cluster not found in the dumps: {', '.join(missing)}", markup=True
            )
            return Exit.USAGE
        assert a is not None and b is not None
        cluster_diff = diff_clusters(a[1], b[1], a[0].source, b[0].source)
    errors = report_problems(problems)
    if output == "json":
        write_raw(msgspec.json.encode(envoy_report.to_json(configs, cluster_diff)).decode())
    else:
        stdout().print(envoy_report.to_text(configs, cluster_diff, show_all=show_all))
    findings = [f for c in configs for f in c.findings]
    return _exit_code(findings, fail_on, errors or (not configs and bool(problems)))


@click.command("logs")
@click.argument("files", nargs=-1, required=True)
@_OUTPUT
@click.option(
    "--all-events", is_flag=True, help="Text view: also list events that name no failure."
)
@fail_on_option
def logs_cmd(files: tuple[str, ...], output: str, all_events: bool, fail_on: str) -> int:
    """Read proxy access/debug logs, istio-agent logs, client messages, bug-report logs."""
    inputs, problems = _read_all(files, (".log", ".txt"), "logs")
    events: list[LogEvent] = []
    for name, data in inputs:
        text = data.decode("utf-8", errors="replace")
        if "\ufffd" in text:
            problems.append(
                InputProblem(Origin(name), "not UTF-8 text; undecodable bytes replaced", "warning")
            )
        events.extend(read_log(text, name))
    findings = list(log_findings(events))
    errors = report_problems(problems)
    if output == "json":
        write_raw(msgspec.json.encode(logs_report.to_json(events, findings)).decode())
    else:
        shown = events if all_events else [e for e in events if e.cause is not None]
        stdout().print(logs_report.to_text(shown, findings))
    return _exit_code(findings, fail_on, errors)


def register(app: click.Group) -> None:
    app.add_command(envoy_cmd)
    app.add_command(logs_cmd)
