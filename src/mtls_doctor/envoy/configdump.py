"""Read one Envoy config dump (whole or one section, either naming style) into a `ProxyConfig`.

Accepted inputs:
- Envoy admin `/config_dump` (snake_case), `istioctl proxy-config all POD -o json`
  (lowerCamelCase envelope), with or without `?include_eds`;
- one section: a bare `ClustersConfigDump`/`ListenersConfigDump`/... object, or istioctl's
  per-section lists (`pc cluster -o json` = list of Cluster, `pc listener -o json` = list of
  Listener, `pc endpoint -o json` = list of ClusterLoadAssignment);
- a bootstrap (`pilot-agent` generated, or a BootstrapConfigDump) for the proxy identity.
Envoy v2 API dumps (Istio <= 1.6) are recognised and reported (EV101), not analysed.
Bad input never raises: it becomes a problem naming the file (and line when known).
"""

from __future__ import annotations

import bisect
import re
from typing import Any

import msgspec
import yaml

from mtls_doctor.envoy import fields as f
from mtls_doctor.envoy.checks import dump_findings
from mtls_doctor.envoy.clusters import iter_clusters, read_cluster
from mtls_doctor.envoy.endpoints import iter_assignments, read_assignment
from mtls_doctor.envoy.listeners import is_inbound, iter_listener_entries, read_inbound
from mtls_doctor.envoy.records import (
    ClusterTLS,
    EndpointInfo,
    InboundPort,
    ProxyConfig,
    ProxyInfo,
    Rejected,
)
from mtls_doctor.envoy.secrets import read_secrets
from mtls_doctor.envoy.truncated import repair
from mtls_doctor.model.refs import Origin
from mtls_doctor.sources.problems import InputProblem

_LEGACY_MARKERS = (
    b"type.googleapis.com/envoy.api.v2.",
    b"type.googleapis.com/envoy.admin.v2alpha.",
)
_JSON_BYTE = re.compile(r"\(byte (\d+)\)")
_SECTION_BY_TYPE = {
    "BootstrapConfigDump": "bootstrap",
    "ClustersConfigDump": "clusters",
    "ListenersConfigDump": "listeners",
    "EndpointsConfigDump": "endpoints",
    "SecretsConfigDump": "secrets",
    "RoutesConfigDump": "routes",
    "ScopedRoutesConfigDump": "routes",
    "EcdsConfigDump": "ecds",
}


class _Lines:
    """Maps byte offsets of the raw input to 1-based lines, and finds names in it."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.newlines = [m.start() for m in re.finditer(b"\n", raw)]

    def line_of(self, name: str) -> int | None:
        if not name:
            return None
        pos = self.raw.find(b'"' + name.encode() + b'"')
        if pos < 0:
            return None
        return bisect.bisect_left(self.newlines, pos) + 1


def read_dump(data: bytes, source: str) -> ProxyConfig:
    """Everything one dump says about TLS. Never raises for bad content."""
    doc, problems = _decode(data, source)
    if doc is None:
        return ProxyConfig(source=source, proxy=ProxyInfo(), sections=(), problems=tuple(problems))
    sections, kind_problem = _sections(doc, source)
    if kind_problem is not None:
        problems.append(kind_problem)
        return ProxyConfig(source=source, proxy=ProxyInfo(), sections=(), problems=tuple(problems))
    proxy = _proxy_info(sections.get("bootstrap"))
    names = tuple(k for k in sections if sections[k] is not None)
    if any(m in data for m in _LEGACY_MARKERS):
        from mtls_doctor.envoy.checks import proxy_subject
        from mtls_doctor.envoy.codes import EV_LEGACY_DUMP

        finding = EV_LEGACY_DUMP.finding(
            proxy_subject(proxy, source),
            origin=Origin(source),
            source=source,
            version=proxy.istio_version or "unknown",
        )
        return ProxyConfig(
            source=source,
            proxy=proxy,
            sections=names,
            legacy=True,
            findings=(finding,),
            problems=tuple(problems),
        )
    lines = _Lines(data)
    clusters = _clusters(sections.get("clusters"), source, lines)
    inbound = _inbound(sections.get("listeners"), source, lines, proxy.kind)
    rejected = _rejected(sections.get("listeners"), source, lines)
    endpoints = _endpoints(sections.get("endpoints"), sections.get("clusters"))
    secrets = tuple(read_secrets(sections["secrets"])) if sections.get("secrets") else ()
    config = ProxyConfig(
        source=source,
        proxy=proxy,
        sections=names,
        clusters=clusters,
        inbound=inbound,
        endpoints=endpoints,
        secrets=secrets,
        rejected=rejected,
        problems=tuple(problems),
    )
    dump_time = _dump_time(sections)
    return msgspec.structs.replace(config, findings=tuple(dump_findings(config, dump_time)))


def _decode(data: bytes, source: str) -> tuple[Any, list[InputProblem]]:
    """The JSON (or YAML) document; a truncated dump gives its complete resources + a warning."""
    try:
        return msgspec.json.decode(data), []
    except msgspec.DecodeError as exc:
        head = data.lstrip()[:1]
        if head and head not in (b"{", b"["):
            try:
                loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
                doc = yaml.load(data, Loader=loader)  # a safe loader
            except yaml.YAMLError:
                doc = None
            if isinstance(doc, (dict, list)):
                return doc, []
        if "truncated" in str(exc).lower():
            last_line = data.count(b"\n") + 1
            repaired = repair(data)
            if repaired is not None:
                try:
                    doc = msgspec.json.decode(repaired)
                except msgspec.DecodeError:
                    doc = None
                if doc is not None:
                    msg = (
                        f"config dump ends in the middle (line {last_line}): read the complete "
                        "resources before the cut; the rest is missing"
                    )
                    return doc, [InputProblem(Origin(source, last_line), msg, "warning")]
            msg = "config dump ends in the middle, before any complete resource"
            return None, [InputProblem(Origin(source, last_line), msg)]
        m = _JSON_BYTE.search(str(exc))
        line = data[: int(m.group(1))].count(b"\n") + 1 if m else None
        return None, [InputProblem(Origin(source, line), f"invalid JSON in config dump: {exc}")]


def _classify_object(obj: dict[str, Any]) -> str | None:
    t = f.type_url(obj)
    for suffix, section in _SECTION_BY_TYPE.items():
        if t.endswith(suffix):
            return section
    keys = set(obj)
    probes = {
        "clusters": ("static_clusters", "dynamic_active_clusters", "dynamic_warming_clusters"),
        "listeners": ("static_listeners", "dynamic_listeners"),
        "endpoints": ("static_endpoint_configs", "dynamic_endpoint_configs"),
        "secrets": ("static_secrets", "dynamic_active_secrets", "dynamic_warming_secrets"),
        "routes": ("static_route_configs", "dynamic_route_configs"),
    }
    for section, names in probes.items():
        if any(n in keys or f.camel(n) in keys for n in names):
            return section
    if "bootstrap" in keys or (
        "node" in keys and ("static_resources" in keys or "staticResources" in keys)
    ):
        return "bootstrap"
    return None


def _classify_item(item: object) -> str | None:
    if not isinstance(item, dict):
        return None
    if f.get(item, "cluster_name") is not None and f.get(item, "name") is None:
        return "endpoints"
    if f.get(item, "filter_chains") is not None or f.get(item, "listener_filters") is not None:
        return "listeners"
    if f.get(item, "name") is not None and any(
        f.get(item, k) is not None
        for k in (
            "connect_timeout",
            "type",
            "eds_cluster_config",
            "transport_socket",
            "lb_policy",
            "cluster_type",
        )
    ):
        return "clusters"
    if f.get(item, "address") is not None and f.get(item, "name") is not None:
        return "listeners"
    return None


def _sections(doc: Any, source: str) -> tuple[dict[str, Any], InputProblem | None]:
    """The dump's sections as snake-named ConfigDump-shaped objects."""
    out: dict[str, Any] = {}
    if isinstance(doc, dict) and "configs" in doc:
        configs = doc["configs"]
        items = list(configs.values()) if isinstance(configs, dict) else configs
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                section = _classify_object(item)
                if section is not None and section not in out:
                    out[section] = item
        return out, None
    if isinstance(doc, dict):
        section = _classify_object(doc)
        if section == "bootstrap" and "bootstrap" not in doc:
            doc = {"bootstrap": doc}
            out["bootstrap"] = doc
            static = f.obj(doc["bootstrap"], "static_resources")
            out["clusters"] = {
                "static_clusters": [{"cluster": c} for c in f.arr(static, "clusters")]
            }
            out["listeners"] = {
                "static_listeners": [{"listener": x} for x in f.arr(static, "listeners")]
            }
            return out, None
        if section is not None:
            out[section] = doc
            return out, None
        if "cluster_statuses" in doc:
            return out, InputProblem(
                Origin(source),
                "Envoy admin /clusters output, not a config dump; skipped",
                "warning",
            )
        if "workloads" in doc and "services" in doc:
            return out, InputProblem(
                Origin(source), "a ztunnel (ambient) config dump; not supported yet", "warning"
            )
        return out, InputProblem(
            Origin(source), "not an Envoy config dump (no `configs` or known section)"
        )
    if isinstance(doc, list):
        kinds = {_classify_item(i) for i in doc}
        kinds.discard(None)
        if not doc:
            return out, InputProblem(
                Origin(source), "empty list: no clusters, listeners or endpoints", "warning"
            )
        if len(kinds) != 1:
            return out, InputProblem(
                Origin(source), "a JSON list that is not clusters, listeners or endpoints"
            )
        kind = kinds.pop()
        if kind == "clusters":
            out["clusters"] = {"dynamic_active_clusters": [{"cluster": c} for c in doc]}
        elif kind == "listeners":
            out["listeners"] = {
                "dynamic_listeners": [{"active_state": {"listener": x}} for x in doc]
            }
        else:
            out["endpoints"] = {"dynamic_endpoint_configs": [{"endpoint_config": e} for e in doc]}
        return out, None
    return out, InputProblem(Origin(source), "not an Envoy config dump")


def _clusters(section: Any, source: str, lines: _Lines) -> tuple[ClusterTLS, ...]:
    if not isinstance(section, dict):
        return ()
    out: list[ClusterTLS] = []
    for cluster in iter_clusters(section):
        name = f.text(cluster, "name") or ""
        out.append(read_cluster(cluster, Origin(source, lines.line_of(name))))
    return tuple(out)


def _inbound(
    section: Any, source: str, lines: _Lines, proxy_kind: str | None
) -> tuple[InboundPort, ...]:
    if not isinstance(section, dict):
        return ()
    out: list[InboundPort] = []
    for listener, rejected in iter_listener_entries(section):
        if is_inbound(listener, proxy_kind):
            name = f.text(listener, "name") or ""
            out.extend(read_inbound(listener, Origin(source, lines.line_of(name)), rejected))
    return tuple(out)


def _rejected(section: Any, source: str, lines: _Lines) -> tuple[Rejected, ...]:
    if not isinstance(section, dict):
        return ()
    out: list[Rejected] = []
    for listener, details in iter_listener_entries(section):
        if details:
            name = f.text(listener, "name") or ""
            origin = Origin(source, lines.line_of(name))
            out.append(Rejected("listener", name, details.strip(), origin))
    return tuple(out)


def _endpoints(section: Any, clusters: Any) -> tuple[EndpointInfo, ...]:
    out: list[EndpointInfo] = []
    seen: set[str] = set()
    if isinstance(section, dict):
        for cla in iter_assignments(section):
            seen.add(f.text(cla, "cluster_name") or "")
            out.extend(read_assignment(cla))
    if isinstance(clusters, dict):  # STATIC clusters carry their endpoints inline
        for cluster in iter_clusters(clusters):
            cla = f.obj(cluster, "load_assignment")
            name = f.text(cluster, "name") or ""
            if cla and name not in seen:
                cla = {**cla, "cluster_name": f.text(cla, "cluster_name") or name}
                out.extend(read_assignment(cla))
    return tuple(out)


def _proxy_info(section: Any) -> ProxyInfo:
    boot = f.obj(section, "bootstrap") if isinstance(section, dict) else {}
    node = f.obj(boot, "node")
    if not node:
        return ProxyInfo()
    node_id = f.text(node, "id")
    kind = pod = namespace = ip = None
    if node_id and node_id.count("~") == 3:
        kind, ip, pod_ns, _domain = node_id.split("~")
        pod, _, namespace = pod_ns.partition(".")
    md = f.obj(node, "metadata")
    version = f.obj(f.obj(node, "user_agent_build_version"), "version")
    envoy = None
    if version:
        envoy = ".".join(
            str(f.get(version, k, 0)) for k in ("major_number", "minor_number", "patch")
        )
    trust_domain = None
    mesh_cfg = f.obj(md, "PROXY_CONFIG")
    if mesh_cfg:
        trust_domain = f.text(mesh_cfg, "trustDomain")
    return ProxyInfo(
        node_id=node_id,
        kind=kind,
        pod=str(md.get("NAME") or pod or "") or None,
        namespace=str(md.get("NAMESPACE") or namespace or "") or None,
        ip=str(md.get("INSTANCE_IPS") or ip or "") or None,
        istio_version=str(md["ISTIO_VERSION"]) if md.get("ISTIO_VERSION") else None,
        envoy_version=envoy,
        service_account=str(md["SERVICE_ACCOUNT"]) if md.get("SERVICE_ACCOUNT") else None,
        workload=str(md["WORKLOAD_NAME"]) if md.get("WORKLOAD_NAME") else None,
        cluster_id=str(md["CLUSTER_ID"]) if md.get("CLUSTER_ID") else None,
        mesh_id=str(md["MESH_ID"]) if md.get("MESH_ID") else None,
        trust_domain=trust_domain,
    )


def _dump_time(sections: dict[str, Any]) -> str | None:
    """The newest `last_updated` of any resource: the dump was taken at or after it."""
    newest: str | None = None
    for section in sections.values():
        if not isinstance(section, dict):
            continue
        entries: list[Any] = [section]
        for value in section.values():
            if isinstance(value, list):
                entries.extend(value)
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            states = [entry] + [v for v in entry.values() if isinstance(v, dict)]
            for state in states:
                lu = f.get(state, "last_updated")
                if isinstance(lu, str) and (newest is None or lu > newest):
                    newest = lu
    return newest
