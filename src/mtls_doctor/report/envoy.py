"""Render config dump readings: the JSON contract and a readable text view. Decides nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from mtls_doctor.checks.finding import Finding
from mtls_doctor.envoy.diff import ClusterDiff
from mtls_doctor.envoy.records import ClusterTLS, InboundPort, ProxyConfig, SecretInfo, TlsSettings
from mtls_doctor.envoy.secrets import valid_at
from mtls_doctor.report.findings_json import finding_json

_MODE_TEXT = {
    "none": "plaintext",
    "istio-mtls": "Istio mTLS",
    "tls": "one-way TLS",
    "mtls": "user mTLS",
}


def _tls_json(t: TlsSettings | None) -> dict[str, Any] | None:
    if t is None:
        return None
    return {
        "mode": t.mode,
        "sni": t.sni,
        "alpn": list(t.alpn),
        "sans": {
            "exact": list(t.san_exact),
            "prefix": list(t.san_prefix),
            "other": list(t.san_other),
        },
        "cert_source": t.cert_source,
        "ca_source": t.ca_source,
        "require_client_certificate": t.require_client_certificate,
        "min_version": t.min_version,
        "max_version": t.max_version,
    }


def cluster_json(c: ClusterTLS, source: str) -> dict[str, Any]:
    t = c.tls
    return {
        "source": source,
        "name": c.name,
        "direction": c.direction,
        "port": c.port,
        "subset": c.subset,
        "host": c.host,
        "type": c.discovery_type,
        "tls_mode": c.mode,
        "auto_mtls": c.auto_mtls,
        "fallback_tls_mode": c.fallback_mode,
        "alpn": list(t.alpn) if t else [],
        "sni": t.sni if t else None,
        "sans": {
            "exact": list(t.san_exact) if t else [],
            "prefix": list(t.san_prefix) if t else [],
            "other": list(t.san_other) if t else [],
        },
        "ca_source": t.ca_source if t else None,
        "cert_source": t.cert_source if t else None,
        "transport_socket_matches": [
            {"name": m.name, "match": dict(m.match), "tls_mode": m.tls.mode} for m in c.matches
        ],
        "origin": str(c.origin) if c.origin else None,
    }


def inbound_json(p: InboundPort, source: str) -> dict[str, Any]:
    return {
        "source": source,
        "listener": p.listener,
        "port": p.port,
        "mode": p.mode,
        "rejected": p.rejected,
        "chains": [
            {
                "name": ch.name,
                "transport_protocol": ch.transport_protocol,
                "alpn": list(ch.alpn),
                "server_names": list(ch.server_names),
                "kind": ch.kind,
                "tls": _tls_json(ch.tls),
                "rbac": [msgspec.to_builtins(r) for r in ch.rbac],
                "deny_all": ch.deny_all,
            }
            for ch in p.chains
        ],
        "rbac": [msgspec.to_builtins(r) for r in p.rbac],
        "origin": str(p.origin) if p.origin else None,
    }


def _secret_json(s: SecretInfo, source: str, now: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {"source": source, **msgspec.to_builtins(s)}
    out["sans"] = list(s.sans)
    out["valid_now"] = valid_at(s, now)
    return out


def to_json(
    configs: Sequence[ProxyConfig], diff: ClusterDiff | None = None, now: datetime | None = None
) -> dict[str, Any]:
    moment = now or datetime.now(UTC)
    proxies = [
        {"source": c.source, "legacy": c.legacy, **msgspec.to_builtins(c.proxy)} for c in configs
    ]
    out: dict[str, Any] = {
        "proxy": proxies[0] if proxies else {},
        "proxies": proxies,
        "clusters": [cluster_json(cl, c.source) for c in configs for cl in c.clusters],
        "inbound": [inbound_json(p, c.source) for c in configs for p in c.inbound],
        "endpoints": [
            {"source": c.source, **msgspec.to_builtins(e)} for c in configs for e in c.endpoints
        ],
        "secrets": [_secret_json(s, c.source, moment) for c in configs for s in c.secrets],
        "rejected": [
            {"source": c.source, **msgspec.to_builtins(r)} for c in configs for r in c.rejected
        ],
        "findings": [finding_json(f) for c in configs for f in c.findings],
    }
    if diff is not None:
        out["diff"] = msgspec.to_builtins(diff)
    return out


def _sans_text(t: TlsSettings | None) -> str:
    if t is None:
        return ""
    return "\n".join(t.sans) if t.sans else "(no SAN check)"


def _cluster_table(config: ProxyConfig, show_all: bool) -> Table | None:
    table = Table(title=Text(f"Outbound clusters ({config.source})"), title_justify="left")
    for col in ("cluster", "TLS", "SANs checked", "SNI / ALPN / trusted CA"):
        table.add_column(col, overflow="fold")
    rows = 0
    for c in config.clusters:
        if c.direction not in ("outbound", None) or (not show_all and c.direction is None):
            continue
        t = c.tls
        mode = _MODE_TEXT[c.mode]
        if c.auto_mtls:
            mode += f" (auto; else {_MODE_TEXT[c.fallback_mode]})"
        details = ""
        if t is not None:
            details = "\n".join(
                x
                for x in (
                    t.sni,
                    ",".join(t.alpn) or None,
                    f"CA {t.ca_source}" if t.ca_source else None,
                )
                if x
            )
        table.add_row(*(Text(x) for x in (c.name, mode, _sans_text(t), details)))
        rows += 1
    return table if rows else None


def _inbound_table(config: ProxyConfig) -> Table:
    table = Table(title=Text(f"Inbound ports ({config.source})"), title_justify="left")
    for col in ("port", "mode", "filter chains", "RBAC policies"):
        table.add_column(col, overflow="fold")
    for p in config.inbound:
        chains = []
        for ch in p.chains:
            alpn = f" alpn={','.join(ch.alpn)}" if ch.alpn else ""
            sni = f" sni={','.join(ch.server_names)}" if ch.server_names else ""
            chains.append(f"{ch.transport_protocol or 'any'}{alpn}{sni} → {ch.kind}")
        rbac = [f"{r.action}{' (shadow)' if r.shadow else ''} {r.name} [{r.layer}]" for r in p.rbac]
        if any(ch.deny_all for ch in p.chains):
            rbac.append("ALLOW with no policy: denies all")
        mode = Text(p.mode)
        if p.rejected:
            mode.append(" (REJECTED — not in effect)", style="red")
        table.add_row(
            Text(str(p.port) if p.port is not None else "* (catch-all)"),
            mode,
            Text("\n".join(dict.fromkeys(chains))),
            Text("\n".join(dict.fromkeys(rbac)) or "-"),
        )
    return table


def _endpoint_table(config: ProxyConfig) -> Table:
    table = Table(title=Text(f"Endpoints ({config.source})"), title_justify="left")
    for col in ("address", "tlsMode", "health", "cluster"):
        table.add_column(col, overflow="fold")
    for e in config.endpoints:
        table.add_row(
            *(Text(x) for x in (e.address, e.tls_mode or "-", e.health or "-", e.cluster))
        )
    return table


def _secret_table(config: ProxyConfig, now: datetime) -> Table:
    table = Table(title=Text(f"Secrets ({config.source})"), title_justify="left")
    for col in ("name", "type", "status", "valid now", "serial", "not after", "SANs"):
        table.add_column(col, overflow="fold")
    for s in config.secrets:
        valid = valid_at(s, now)
        cells = (
            s.name,
            s.kind,
            s.status,
            "-" if valid is None else str(valid).lower(),
            s.serial or "-",
            s.not_after or "-",
            "\n".join(s.sans) or "-",
        )
        table.add_row(*(Text(x) for x in cells))
    return table


def _findings(findings: Sequence[Finding]) -> RenderableType:
    lines = Text()
    style = {"error": "red", "warning": "yellow", "info": "cyan"}
    for f in findings:
        lines.append(f"{f.level:<7} ", style=style[f.level])
        lines.append(f"{f.code} {f.message}\n")
        lines.append(f"        fix: {f.fix}\n", style="dim")
    return lines


def to_text(
    configs: Sequence[ProxyConfig],
    diff: ClusterDiff | None = None,
    show_all: bool = False,
    now: datetime | None = None,
) -> RenderableType:
    moment = now or datetime.now(UTC)
    parts: list[RenderableType] = []
    if diff is not None:
        return diff_text(diff)
    for c in configs:
        p = c.proxy
        head = Text(f"{c.source}", style="bold")
        who = " ".join(
            x
            for x in (
                f"{p.kind or 'proxy'} {p.namespace}/{p.pod}" if p.pod else None,
                f"Istio {p.istio_version}" if p.istio_version else None,
                f"Envoy {p.envoy_version}" if p.envoy_version else None,
                f"sa={p.service_account}" if p.service_account else None,
            )
            if x
        )
        head.append(f"  {who}  sections: {', '.join(c.sections) or '-'}")
        parts.append(head)
        if not c.legacy:
            table = _cluster_table(c, show_all) if c.clusters else None
            if table is not None:
                parts.append(table)
            if c.inbound:
                parts.append(_inbound_table(c))
            if c.endpoints and show_all:
                parts.append(_endpoint_table(c))
            elif c.endpoints:
                modes: dict[str, int] = {}
                for e in c.endpoints:
                    modes[e.tls_mode or "(none)"] = modes.get(e.tls_mode or "(none)", 0) + 1
                summary = ", ".join(f"{k}: {v}" for k, v in sorted(modes.items()))
                parts.append(Text(f"Endpoints: {len(c.endpoints)} (tlsMode {summary})"))
            if c.secrets:
                parts.append(_secret_table(c, moment))
        if c.findings:
            parts.append(_findings(c.findings))
    return Group(*parts)


def diff_text(diff: ClusterDiff) -> RenderableType:
    table = Table(title="TLS differences", title_justify="left")
    table.add_column("field")
    table.add_column(Text(f"A: {diff.a_name}\n({diff.a_source})"), overflow="fold")
    table.add_column(Text(f"B: {diff.b_name}\n({diff.b_source})"), overflow="fold")
    for d in diff.differences:
        table.add_row(Text(d.field), Text(d.a), Text(d.b))
    if not diff.differences:
        return Text(f"{diff.a_name} and {diff.b_name}: no TLS-relevant difference")
    return table
