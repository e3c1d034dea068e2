"""The TLS-relevant differences between two clusters (a working one and a broken one)."""

from __future__ import annotations

from collections.abc import Sequence

from mtls_doctor.envoy.records import ClusterTLS, ProxyConfig
from mtls_doctor.record import Record


class FieldDiff(Record):
    field: str
    a: str
    b: str


class ClusterDiff(Record):
    a_source: str
    a_name: str
    b_source: str
    b_name: str
    differences: tuple[FieldDiff, ...]


def _show(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value) if value else "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _facts(c: ClusterTLS) -> dict[str, object]:
    t = c.tls
    return {
        "tls mode": c.mode,
        "auto mTLS (tlsMode-istio match)": c.auto_mtls,
        "mode for other endpoints": c.fallback_mode,
        "SNI": t.sni if t else None,
        "ALPN": t.alpn if t else None,
        "SAN exact": t.san_exact if t else None,
        "SAN prefix": t.san_prefix if t else None,
        "SAN other": t.san_other if t else None,
        "client certificate": t.cert_source if t else None,
        "trusted CA": t.ca_source if t else None,
        "TLS min version": t.min_version if t else None,
        "TLS max version": t.max_version if t else None,
        "discovery type": c.discovery_type,
    }


def diff_clusters(
    a: ClusterTLS, b: ClusterTLS, a_source: str = "", b_source: str = ""
) -> ClusterDiff:
    fa, fb = _facts(a), _facts(b)
    diffs = tuple(
        FieldDiff(field=k, a=_show(fa[k]), b=_show(fb[k]))
        for k in fa
        if _show(fa[k]) != _show(fb[k])
    )
    return ClusterDiff(a_source, a.name, b_source, b.name, diffs)


def find_pair(
    configs: Sequence[ProxyConfig], name_a: str, name_b: str
) -> tuple[tuple[ProxyConfig, ClusterTLS] | None, tuple[ProxyConfig, ClusterTLS] | None]:
    """A from the first dump that has it; B from the first dump that has it, other than A itself.

    So `--diff X X` with two dumps compares the same cluster in two proxies.
    """
    found_a: tuple[ProxyConfig, ClusterTLS] | None = None
    for cfg in configs:
        c = cfg.cluster(name_a)
        if c is not None:
            found_a = (cfg, c)
            break
    found_b: tuple[ProxyConfig, ClusterTLS] | None = None
    for cfg in configs:
        c = cfg.cluster(name_b)
        if c is not None and not (found_a is not None and found_a[0] is cfg and name_a == name_b):
            found_b = (cfg, c)
            break
    return found_a, found_b
