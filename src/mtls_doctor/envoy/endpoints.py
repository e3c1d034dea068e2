"""Endpoints of a dump (EDS or inline load assignments) with their `tlsMode` metadata."""

from __future__ import annotations

from typing import Any

from mtls_doctor.envoy import fields as f
from mtls_doctor.envoy.records import EndpointInfo

_SOCKET_MATCH_NS = "envoy.transport_socket_match"


def address_text(address: object) -> str:
    """An Envoy Address as istioctl prints it: `ip:port`, a pipe path, or `envoy://listener/id`."""
    sock = f.obj(address, "socket_address")
    if sock:
        return f"{f.text(sock, 'address') or ''}:{f.get(sock, 'port_value', 0)}"
    pipe = f.obj(address, "pipe")
    if pipe:
        return f.text(pipe, "path") or ""
    internal = f.obj(address, "envoy_internal_address")
    if internal:
        listener = f.text(internal, "server_listener_name") or ""
        return f"envoy://{listener}/{f.text(internal, 'endpoint_id') or ''}"
    return "unknown"


def _locality(loc: object) -> str | None:
    parts = [f.text(loc, k) or "" for k in ("region", "zone", "sub_zone")]
    text = "/".join(parts).strip("/")
    return text or None


def read_assignment(cla: dict[str, Any]) -> list[EndpointInfo]:
    cluster = f.text(cla, "cluster_name") or ""
    out: list[EndpointInfo] = []
    for group in f.arr(cla, "endpoints"):
        locality = _locality(f.obj(group, "locality"))
        for lb in f.arr(group, "lb_endpoints"):
            ep = f.obj(lb, "endpoint")
            addrs = [address_text(f.obj(ep, "address"))]
            addrs.extend(
                address_text(f.obj(a, "address")) for a in f.arr(ep, "additional_addresses")
            )
            meta = f.obj(f.obj(lb, "metadata"), "filter_metadata")
            tls_mode = (
                meta.get(_SOCKET_MATCH_NS, {}).get("tlsMode")
                if isinstance(meta.get(_SOCKET_MATCH_NS), dict)
                else None
            )
            out.append(
                EndpointInfo(
                    cluster=cluster,
                    address=",".join(addrs),
                    tls_mode=str(tls_mode) if tls_mode is not None else None,
                    health=f.text(lb, "health_status") or "UNKNOWN",
                    locality=locality,
                )
            )
    return out


def iter_assignments(section: dict[str, Any]) -> list[dict[str, Any]]:
    """ClusterLoadAssignments of an EndpointsConfigDump, dynamic first (istioctl's order)."""
    out: list[dict[str, Any]] = []
    for key in ("dynamic_endpoint_configs", "static_endpoint_configs"):
        for entry in f.arr(section, key):
            cla = f.get(entry, "endpoint_config")
            if isinstance(cla, dict):
                out.append(cla)
    return out
