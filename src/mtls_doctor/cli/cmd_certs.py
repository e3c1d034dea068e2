"""`mtls-doctor certs PATH...`: certificates, chains, roots and identities, one command."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import click

from mtls_doctor.certs import (
    CERT_SUFFIXES,
    CertInventory,
    CheckPolicy,
    MeshTrust,
    check_certificates,
    read_certificates,
    read_mesh_config,
)
from mtls_doctor.certs.policy import parse_duration, parse_time
from mtls_doctor.checks.finding import LEVEL_RANK
from mtls_doctor.cli.common import Exit, report_problems, stdout, write_raw
from mtls_doctor.model.refs import Origin
from mtls_doctor.report.certs import render_json, render_text
from mtls_doctor.sources.paths import InputFile, expand, split_cluster
from mtls_doctor.sources.problems import InputProblem


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


def _now(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError:
        raise click.BadParameter(
            f"not an ISO 8601 time: {value!r} (e.g. 2026-11-23T12:00:00Z)", ctx=ctx, param=param
        ) from None


def _with_mesh(
    inv: CertInventory,
    mesh_files: tuple[str, ...],
    trust_domain: str | None,
    aliases: tuple[str, ...],
) -> tuple[CertInventory, list[InputProblem]]:
    mesh = dict(inv.mesh)
    problems: list[InputProblem] = []
    for arg in mesh_files:
        cluster, path = split_cluster(arg)
        trust, more = read_mesh_config(InputFile(cluster, path, path))
        problems.extend(more)
        if trust is not None:
            targets = [cluster] if "=" in arg and cluster != "default" else [*inv.clusters, cluster]
            for c in targets:
                mesh[c] = trust
    if trust_domain or aliases:
        for c in {*inv.clusters, *mesh, "default"}:
            base = mesh.get(c, MeshTrust())
            mesh[c] = MeshTrust(
                trust_domain or base.trust_domain,
                tuple(dict.fromkeys((*base.aliases, *aliases))),
                Origin("--trust-domain"),
            )
    return dataclasses.replace(inv, mesh=mesh), problems


def register(app: click.Group) -> None:
    @app.command("certs")
    @click.argument("paths", nargs=-1, required=True)
    @click.option(
        "-o",
        "--output",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="Output format.",
    )
    @click.option(
        "--mesh-config",
        "mesh_config",
        multiple=True,
        metavar="[CLUSTER=]FILE",
        help="The `istio` ConfigMap or mesh config YAML (trust domain and aliases).",
    )
    @click.option("--trust-domain", help="The mesh trust domain (overrides the mesh config).")
    @click.option(
        "--trust-domain-alias",
        "aliases",
        multiple=True,
        help="An accepted trust domain alias (repeatable).",
    )
    @click.option(
        "--now",
        callback=_now,
        metavar="TIME",
        help="Judge validity at this ISO 8601 time instead of the clock.",
    )
    @click.option(
        "--workload-margin",
        default="1h",
        show_default=True,
        callback=_duration,
        help="Warn when a workload certificate expires within this.",
    )
    @click.option(
        "--ca-margin",
        default="30d",
        show_default=True,
        callback=_duration,
        help="Warn when a root or intermediate expires within this.",
    )
    @click.option(
        "--max-workload-ttl",
        default="72h",
        show_default=True,
        callback=_duration,
        help="Warn about workload certificates valid for longer than this.",
    )
    @click.option(
        "--fail-on",
        type=click.Choice(["error", "warning", "info", "never"]),
        default="error",
        show_default=True,
        help="Exit 1 when a finding reaches this level.",
    )
    def certs(
        paths: tuple[str, ...],
        output: str,
        mesh_config: tuple[str, ...],
        trust_domain: str | None,
        aliases: tuple[str, ...],
        now: datetime | None,
        workload_margin: timedelta,
        ca_margin: timedelta,
        max_workload_ttl: timedelta,
        fail_on: str,
    ) -> int:
        """Certificates in PEM files, Secrets/ConfigMaps and SDS dumps: expiry, chains, roots,
        SPIFFE identities and plug-in CA mistakes. Private keys are never printed."""
        files, problems = expand(paths, CERT_SUFFIXES)
        inventory = read_certificates(files)
        inventory, mesh_problems = _with_mesh(inventory, mesh_config, trust_domain, aliases)
        policy = dataclasses.replace(
            CheckPolicy.at(now),
            workload_margin=workload_margin,
            ca_margin=ca_margin,
            max_workload_ttl=max_workload_ttl,
        )
        report = check_certificates(inventory, policy)
        errors = report_problems([*problems, *mesh_problems, *report.problems])
        if output == "json":
            write_raw(render_json(report))
        else:
            stdout().print(render_text(report), markup=False, end="", soft_wrap=True)
        if errors:
            return int(Exit.INPUT)
        if fail_on != "never" and any(
            LEVEL_RANK[f.level] >= LEVEL_RANK[fail_on] for f in report.findings
        ):
            return int(Exit.FINDINGS)
        return int(Exit.OK)
