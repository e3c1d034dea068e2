"""PeerAuthentication checks that need no edge: admission, port keys, selectors, precedence."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mtls_doctor.checks.codes_core import PA_REJECTED
from mtls_doctor.checks.codes_runbook import (
    PA_ROOT_SELECTOR,
    PA_SELECTS_NOTHING,
    PA_SERVICE_PORT_KEY,
    PA_SHADOWED,
    PA_UNUSED_PORT,
    PA_WEAKENS_MESH,
)
from mtls_doctor.checks.context import CheckContext
from mtls_doctor.checks.finding import Finding, Subject
from mtls_doctor.model.istio import PeerAuthentication
from mtls_doctor.model.mesh import ClusterIndex
from mtls_doctor.model.objects import Loaded
from mtls_doctor.model.workloads import Workload
from mtls_doctor.semantics.trace import selects


def _subject(p: Loaded[Any]) -> Subject:
    return Subject(p.kind, p.namespace, p.name)


def _name(p: Loaded[Any]) -> str:
    return f"{p.namespace}/{p.name}"


def _mode(p: Loaded[PeerAuthentication]) -> str | None:
    m = p.obj.spec.mtls
    return m.mode if m is not None and m.mode in ("STRICT", "PERMISSIVE", "DISABLE") else None


def rejected_policies(ctx: CheckContext) -> Iterator[Finding]:
    """Policies the API server refuses (CEL / `ValidatePeerAuthentication`): they are ignored."""
    for c in ctx.mesh.clusters.values():
        for p, reason in c.pa.rejected:
            yield PA_REJECTED.finding(
                _subject(p),
                origin=p.origin,
                cluster=c.name,
                name=_name(p),
                reason=reason,
            )


def _selects_entry(c: ClusterIndex, namespace: str, sel: dict[str, str]) -> bool:
    return bool(c.selected_entries(namespace, sel))


def _selector_text(sel: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(sel.items()))


def selector_matches(ctx: CheckContext) -> Iterator[Finding]:
    """Workload policies whose selector matches nothing (only when the inputs hold workloads)."""
    for c in ctx.mesh.clusters.values():
        if not c.workloads and not c.workload_entries:
            continue  # manifests of policies only: nothing to tell
        for ns, policies in c.pa.workload.items():
            for p in policies:
                sel = p.obj.spec.selector.match_labels if p.obj.spec.selector else {}
                if c.selected_workloads(ns, sel) or _selects_entry(c, ns, sel):
                    continue
                yield PA_SELECTS_NOTHING.finding(
                    _subject(p),
                    origin=p.origin,
                    cluster=c.name,
                    name=_name(p),
                    selector=_selector_text(sel),
                    namespace=ns,
                )


def _declared_ports(workloads: list[Workload]) -> set[int]:
    return {p.container_port for w in workloads for ct in w.containers for p in ct.ports}


def port_level_keys(ctx: CheckContext) -> Iterator[Finding]:
    """portLevelMtls keyed by a Service port (PA102) or by a port nobody listens on (PA103)."""
    for c in ctx.mesh.clusters.values():
        for ns, policies in c.pa.workload.items():
            for p in policies:
                spec = p.obj.spec
                if not spec.port_level_mtls:
                    continue
                sel = spec.selector.match_labels if spec.selector else {}
                workloads = c.selected_workloads(ns, sel)
                if not workloads:
                    continue  # PA104 says it
                declared = _declared_ports(workloads)
                targets: dict[int, tuple[str, int]] = {}  # service port -> (service, target)
                listening = set(declared)
                for s in c.services_by_ns.get(ns, ()):
                    if not s.obj.spec.selector:
                        continue
                    chosen = [w for w in workloads if selects(s.obj.spec.selector, w.labels)]
                    for sp in s.obj.spec.ports:
                        raw = sp.target_port if sp.target_port is not None else sp.port
                        for w in chosen:
                            number = w.container_port(raw)
                            if number is None:
                                continue
                            listening.add(number)
                            if number != sp.port:
                                targets.setdefault(sp.port, (f"{ns}/{s.name}", number))
                for port in sorted(spec.port_level_mtls):
                    if port in listening:
                        continue
                    if port in targets:
                        service, target = targets[port]
                        yield PA_SERVICE_PORT_KEY.finding(
                            _subject(p),
                            origin=p.origin,
                            cluster=c.name,
                            fix=f"Key portLevelMtls by container port {target} instead of "
                            f"Service port {port}.",
                            name=_name(p),
                            port=port,
                            service=service,
                            target=target,
                        )
                    elif declared:
                        yield PA_UNUSED_PORT.finding(
                            _subject(p),
                            origin=p.origin,
                            cluster=c.name,
                            name=_name(p),
                            port=port,
                            workloads=", ".join(w.key for w in workloads[:3]),
                        )


def precedence(ctx: CheckContext) -> Iterator[Finding]:
    """Several namespace-wide/mesh-wide policies (PA105), root selector policies (PA106), and a
    namespace overriding mesh STRICT with PERMISSIVE or DISABLE (PA107)."""
    for c in ctx.mesh.clusters.values():
        root = c.pa.root
        for p, kept in c.pa.shadowed:
            mesh_wide = p.namespace == root
            yield PA_SHADOWED.finding(
                _subject(p),
                origin=p.origin,
                cluster=c.name,
                fix=f"Merge PeerAuthentication {_name(p)} into {_name(kept)} and delete it.",
                scope="mesh-wide" if mesh_wide else "namespace-wide",
                name=_name(p),
                winner=_name(kept),
                where="the mesh" if mesh_wide else f"namespace {p.namespace}",
            )
        for p in c.pa.root_selector_ignored:
            yield PA_ROOT_SELECTOR.finding(
                _subject(p), origin=p.origin, cluster=c.name, name=_name(p), root=root
            )
        mesh = c.pa.mesh
        if mesh is None or _mode(mesh) != "STRICT":
            continue
        for ns, p in sorted(c.pa.namespace_wide.items()):
            mode = _mode(p)
            if ns == root or mode not in ("PERMISSIVE", "DISABLE"):
                continue
            yield PA_WEAKENS_MESH.finding(
                _subject(p),
                origin=p.origin,
                cluster=c.name,
                name=_name(p),
                mode=mode,
                namespace=ns,
                mesh=_name(mesh),
            )
