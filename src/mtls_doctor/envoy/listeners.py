"""Inbound listeners -> `InboundPort`: the mTLS mode the filter chains enforce, and RBAC.

Istio builds one `virtualInbound` listener (port 15006) whose filter chains match on
`destination_port`, `transport_protocol` (needs tls_inspector) and ALPN:
  STRICT      chains that terminate TLS with `require_client_certificate`, nothing else
  PERMISSIVE  those, plus `raw_buffer` (plaintext) chains and a `tls` chain that passes
              non-Istio TLS through to the app
  DISABLE     plaintext chains only
Chains without `destination_port` are the catch-all for ports no Service declares (port None).
Older proxies (Istio <= 1.5) had one INBOUND listener per port; those are read the same way.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Literal

from mtls_doctor.envoy import fields as f
from mtls_doctor.envoy.records import InboundChain, InboundMode, InboundPort, RbacPolicy
from mtls_doctor.envoy.tls import read_socket
from mtls_doctor.model.refs import Origin

_VIRTUAL_INBOUND_PORT = 15006
_HCM = "http_connection_manager"


def iter_listener_entries(section: dict[str, Any]) -> list[tuple[dict[str, Any], str | None]]:
    """(listener, rejection error) for every listener in a ListenersConfigDump."""
    out: list[tuple[dict[str, Any], str | None]] = []
    for entry in f.arr(section, "static_listeners"):
        listener = f.get(entry, "listener")
        if isinstance(listener, dict):
            out.append((listener, None))
    for entry in f.arr(section, "dynamic_listeners"):
        active = f.get(f.obj(entry, "active_state"), "listener")
        warming = f.get(f.obj(entry, "warming_state"), "listener")
        error = f.obj(entry, "error_state")
        if isinstance(active, dict):
            out.append((active, None))
        elif isinstance(warming, dict):
            out.append((warming, None))
        if error:
            failed = f.get(error, "failed_configuration")
            details = f.text(error, "details") or "rejected by Envoy"
            if isinstance(failed, dict) and not isinstance(active, dict):
                out.append((failed, details))
            elif isinstance(active, dict):
                # Envoy kept the previous version: record the rejection on it
                out[-1] = (active, details)
    unique: dict[str, tuple[dict[str, Any], str | None]] = {}
    for listener, err in out:  # a rejected update may be listed twice (named and unnamed)
        key = f.text(listener, "name") or str(id(listener))
        if key not in unique or (err and not unique[key][1]):
            unique[key] = (listener, err)
    return list(unique.values())


# a gateway's own ports: health (15021), stats (15090), admin/agent (15000, 15020)
_GATEWAY_INTERNAL_PORTS = frozenset({15000, 15020, 15021, 15090})


def is_inbound(listener: dict[str, Any], proxy_kind: str | None = None) -> bool:
    """A listener whose callers are this proxy's clients: a sidecar's inbound listener, or
    (for a gateway, `router`) every port it serves. Not Envoy internal listeners."""
    name = f.text(listener, "name") or ""
    if name == "virtualInbound":
        return True
    has_socket = bool(f.obj(f.obj(listener, "address"), "socket_address"))
    if proxy_kind == "router":
        port = _listener_port(listener)
        return has_socket and name != "virtualOutbound" and port not in _GATEWAY_INTERNAL_PORTS
    return has_socket and f.text(listener, "traffic_direction") == "INBOUND"


def _listener_port(listener: dict[str, Any]) -> int | None:
    port = f.get(f.obj(f.obj(listener, "address"), "socket_address"), "port_value")
    return int(port) if isinstance(port, int) else None


def read_inbound(
    listener: dict[str, Any], origin: Origin | None, rejected: str | None
) -> list[InboundPort]:
    name = f.text(listener, "name") or ""
    own_port = _listener_port(listener)
    virtual = name == "virtualInbound" or own_port == _VIRTUAL_INBOUND_PORT
    groups: dict[int | None, list[InboundChain]] = defaultdict(list)
    chains = list(f.arr(listener, "filter_chains"))
    default_chain = f.get(listener, "default_filter_chain")
    if isinstance(default_chain, dict):
        chains.append(default_chain)
    for chain in chains:
        match = f.obj(chain, "filter_chain_match")
        dport = f.get(match, "destination_port")
        chain_name = f.text(chain, "name")
        if virtual and (dport == _VIRTUAL_INBOUND_PORT or (chain_name or "").endswith("blackhole")):
            continue
        port = int(dport) if isinstance(dport, int) else (None if virtual else own_port)
        groups[port].append(read_chain(chain))
    ports: list[InboundPort] = []
    for port in sorted(groups, key=lambda p: (p is None, p or 0)):
        group = tuple(groups[port])
        rbac = tuple(dict.fromkeys(p for c in group for p in c.rbac))
        ports.append(
            InboundPort(
                listener=name,
                port=port,
                mode=inbound_mode(group),
                chains=group,
                rbac=rbac,
                rejected=rejected,
                origin=origin,
            )
        )
    return ports


def read_chain(chain: dict[str, Any]) -> InboundChain:
    match = f.obj(chain, "filter_chain_match")
    rbac: list[RbacPolicy] = []
    deny_all = False
    for flt in f.arr(chain, "filters"):
        fname = f.text(flt, "name") or ""
        cfg = f.typed_config(flt)
        if _is_rbac(fname, cfg):
            policies, empty_allow = read_rbac(cfg, "network")
            rbac.extend(policies)
            deny_all = deny_all or empty_allow
        elif _HCM in fname or f.type_url(cfg).endswith("HttpConnectionManager"):
            for hf in f.arr(cfg, "http_filters"):
                hcfg = f.typed_config(hf)
                if _is_rbac(f.text(hf, "name") or "", hcfg):
                    policies, empty_allow = read_rbac(hcfg, "http")
                    rbac.extend(policies)
                    deny_all = deny_all or empty_allow
    return InboundChain(
        name=f.text(chain, "name"),
        transport_protocol=f.text(match, "transport_protocol"),
        alpn=tuple(str(a) for a in f.arr(match, "application_protocols")),
        tls=read_socket(f.get(chain, "transport_socket"), downstream=True),
        server_names=tuple(str(s) for s in f.arr(match, "server_names")),
        rbac=tuple(dict.fromkeys(rbac)),
        deny_all=deny_all,
    )


def _is_rbac(name: str, cfg: dict[str, Any]) -> bool:
    return name in ("envoy.filters.network.rbac", "envoy.filters.http.rbac", "envoy.rbac") or (
        f.type_url(cfg).endswith(".RBAC") and "rbac" in f.type_url(cfg)
    )


def read_rbac(cfg: dict[str, Any], layer: str) -> tuple[list[RbacPolicy], bool]:
    """Named policies of an RBAC filter, and whether it is an ALLOW filter with no policy."""
    out: list[RbacPolicy] = []
    empty_allow = False
    lyr: Literal["http", "network"] = "http" if layer == "http" else "network"
    rules = f.get(cfg, "rules")
    if isinstance(rules, dict):
        action = f.text(rules, "action") or "ALLOW"
        policies = f.obj(rules, "policies")
        out.extend(RbacPolicy(name=str(n), action=action, layer=lyr) for n in policies)
        empty_allow = action == "ALLOW" and not policies
    shadow = f.get(cfg, "shadow_rules")
    if isinstance(shadow, dict):
        action = f.text(shadow, "action") or "ALLOW"
        out.extend(
            RbacPolicy(name=str(n), action=action, layer=lyr, shadow=True)
            for n in f.obj(shadow, "policies")
        )
    return out, empty_allow


def inbound_mode(chains: tuple[InboundChain, ...]) -> InboundMode:
    if any(c.server_names for c in chains) and len({c.kind for c in chains}) > 1:
        return "MIXED"  # a gateway serving different hosts differently on one port
    mutual = any(c.mutual for c in chains)
    one_way = any(c.tls is not None and not c.mutual for c in chains)
    plaintext = any(c.plaintext for c in chains)
    passthrough = any(c.tls_passthrough for c in chains)
    if mutual and not (plaintext or passthrough or one_way):
        return "STRICT"
    if mutual:
        return "PERMISSIVE"
    if one_way and not plaintext:
        return "TLS"
    if plaintext or passthrough:
        return "DISABLE" if not one_way else "UNKNOWN"
    return "UNKNOWN"
