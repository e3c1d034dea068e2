"""Clusters of a dump -> `ClusterTLS`: the TLS each outbound cluster uses, as configured."""

from __future__ import annotations

from typing import Any

from mtls_doctor.envoy import fields as f
from mtls_doctor.envoy.records import ClusterTLS, SocketMatch, TlsMode
from mtls_doctor.envoy.tls import read_socket
from mtls_doctor.model.refs import Origin


def parse_name(name: str) -> tuple[str | None, int | None, str | None, str | None]:
    """Istio's `direction|port|subset|host` -> (direction, port, subset, host)."""
    parts = name.split("|")
    if len(parts) != 4:
        return None, None, None, None
    direction, port_s, subset, host = parts
    try:
        port: int | None = int(port_s)
    except ValueError:
        port = None
    return direction or None, port, subset or None, host or None


def read_cluster(cluster: dict[str, Any], origin: Origin | None) -> ClusterTLS:
    name = f.text(cluster, "name") or ""
    direction, port, subset, host = parse_name(name)
    default = read_socket(f.get(cluster, "transport_socket"))
    matches: list[SocketMatch] = []
    for m in f.arr(cluster, "transport_socket_matches"):
        match = f.obj(m, "match")
        pairs = tuple(sorted((str(k), str(v)) for k, v in match.items()))
        tls = read_socket(f.get(m, "transport_socket"))
        if tls is not None:
            matches.append(SocketMatch(name=f.text(m, "name") or "", match=pairs, tls=tls))
    auto = next((m for m in matches if ("tlsMode", "istio") in m.match), None)
    fallback: TlsMode = default.mode if default is not None else "none"
    if auto is not None:
        mode, tls = auto.tls.mode, auto.tls
    else:
        mode, tls = fallback, default
    services = tuple(
        str(f.get(s, "host"))
        for s in f.arr(
            f.obj(f.obj(f.obj(cluster, "metadata"), "filter_metadata"), "istio"), "services"
        )
        if f.get(s, "host")
    )
    dtype = f.text(cluster, "type")
    if dtype is None and f.get(cluster, "cluster_type") is not None:
        dtype = f.text(f.obj(cluster, "cluster_type"), "name")
    return ClusterTLS(
        name=name,
        direction=direction,
        port=port,
        subset=subset,
        host=host,
        discovery_type=dtype or ("EDS" if f.get(cluster, "eds_cluster_config") else None),
        mode=mode,
        fallback_mode=fallback,
        auto_mtls=auto is not None,
        tls=tls,
        matches=tuple(matches),
        services=services,
        origin=origin,
    )


def iter_clusters(section: dict[str, Any]) -> list[dict[str, Any]]:
    """Every cluster of a ClustersConfigDump (static, active, warming).

    Envoy does not keep clusters it rejected in the dump (checked with Envoy 1.40): only its
    log says so.
    """
    out: list[dict[str, Any]] = []
    for key in ("static_clusters", "dynamic_active_clusters", "dynamic_warming_clusters"):
        for entry in f.arr(section, key):
            c = f.get(entry, "cluster")
            if isinstance(c, dict):
                out.append(c)
    return out
