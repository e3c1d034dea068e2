"""ServiceEntry / WorkloadEntry identity checks, and the verified patches for the two fixes the
blog's story needs (subjectAltNames on the ServiceEntry, serviceAccount on a WorkloadEntry).

A patch is a YAML merge patch of the object to change. It is attached only after the mesh has
been rebuilt in memory with the patched object in place of the original (as if the patched file
had been loaded with the others) and the edges that had the problem came out as mTLS."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import yaml

from mtls_doctor.checks.codes_core import WE_NO_IDENTITY
from mtls_doctor.checks.codes_runbook import SE_EXTERNAL_MESHED, SE_SAN_UNUSED, WE_IDENTITY_DIFFERS
from mtls_doctor.checks.context import CheckContext
from mtls_doctor.checks.edges import serviceentry_san
from mtls_doctor.checks.finding import Finding, Subject
from mtls_doctor.edges.classes import DestinationResult
from mtls_doctor.edges.clients import workload_client
from mtls_doctor.edges.engine import EdgeEngine
from mtls_doctor.edges.registry import TLS_MODE_LABEL
from mtls_doctor.model import istio
from mtls_doctor.model.mesh import ClusterIndex, Mesh, entry_labels
from mtls_doctor.model.objects import Loaded, loaded
from mtls_doctor.model.workloads import Workload
from mtls_doctor.semantics.identity import spiffe_id
from mtls_doctor.semantics.trace import selects

SE = Loaded[istio.ServiceEntry]
WE = Loaded[istio.WorkloadEntry]
API_VERSION = "networking.istio.io/v1"
MAX_PATCHED = 20  # each verification rebuilds one cluster; keep big inputs fast


def _entries_of(c: ClusterIndex, se: SE) -> list[WE]:
    sel = se.obj.spec.workload_selector
    if sel is None:
        return []
    return c.selected_entries(se.namespace, sel.labels)


def _meshed_at(mesh: Mesh, address: str) -> tuple[ClusterIndex, Workload] | None:
    found = mesh.workload_at(address) if address else None
    if found is None or not found[0].injection(found[1]).injected:
        return None
    return found


def _identity(c: ClusterIndex, w: Workload) -> str:
    return spiffe_id(c.config.trust_domain, w.namespace, w.service_account)


# --- re-analysis ----------------------------------------------------------------------------


def _rebuild(mesh: Mesh, cluster: str, patched: list[Loaded[Any]]) -> Mesh:
    """The mesh with `patched` ServiceEntries and WorkloadEntries replacing those of the same
    kind, namespace and name."""
    return mesh.with_cluster(mesh.clusters[cluster].with_entries(patched))


def _fixed(
    mesh: Mesh, res: DestinationResult, se: SE, clients: list[str], entry: str | None
) -> bool:
    """Whether every named client's edge to the destination (a host of ServiceEntry `se`) is
    mTLS in `mesh` (only the endpoint listed by `entry` when given). Only that service and
    those clients are built: the rest of the mesh is the same as the analysed one."""
    engine = EdgeEngine.with_policies(mesh)
    c = mesh.clusters[res.cluster]
    patched = c.service_entry_named(se.namespace, se.name)
    reg = engine.registries[res.cluster]
    svc = next(
        (s for s in reg.service_entry_services(patched) if s.hostname == res.service.hostname),
        None,
    ) if patched is not None else None  # fmt: skip
    port = svc.port(res.port.number) if svc is not None else None
    if svc is None or port is None:
        return False
    for name in clients:
        ns = name.partition("/")[0]
        w = next((w for w in c.workloads_by_ns.get(ns, ()) if w.key == name), None)
        if w is None:
            return False
        o = engine.outcome(workload_client(c, w), svc, port)
        eps = [e for e in o.endpoints if entry is None or (e.source and e.source.name == entry)]
        if not eps or any(e.verdict != "mtls" for e in eps):
            return False
    return True


def _patch_text(kind: str, namespace: str, name: str, spec: dict[str, Any]) -> str:
    doc = {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
    return yaml.safe_dump(doc, sort_keys=False)


def _with_sans(se: SE, sans: list[str]) -> SE:
    spec = msgspec.structs.replace(se.obj.spec, subject_alt_names=sans)
    return loaded(se.cluster, se.origin, msgspec.structs.replace(se.obj, spec=spec), se.kind)


def _with_account(we: WE, account: str) -> WE:
    spec = msgspec.structs.replace(we.obj.spec, service_account=account)
    return loaded(we.cluster, we.origin, msgspec.structs.replace(we.obj, spec=spec), we.kind)


# --- SE101 with its patch -------------------------------------------------------------------


def serviceentry_san_patched(ctx: CheckContext) -> Iterator[Finding]:
    """SE101 (see checks/edges.py) with the subjectAltNames patch, verified."""
    by_subject: dict[tuple[str | None, str], DestinationResult] = {}
    for r in ctx.results:
        if r.service.kind == "ServiceEntry" and any(
            e.cause == "san-mismatch" for cls in r.classes for e in cls.outcome.endpoints
        ):
            by_subject.setdefault((r.cluster, r.service.ref.key), r)
    for n, f in enumerate(serviceentry_san(ctx)):
        res = by_subject.get((f.cluster, f"ServiceEntry/{f.subject.namespace}/{f.subject.name}"))
        patch = _san_patch(ctx, res) if res is not None and n < MAX_PATCHED else None
        yield msgspec.structs.replace(f, patch=patch) if patch else f


def _san_patch(ctx: CheckContext, res: DestinationResult) -> str | None:
    c = ctx.mesh.clusters[res.cluster]
    se = c.service_entry_named(res.service.namespace, res.service.ref.name)
    if se is None:
        return None
    clients: list[str] = []
    presented: dict[str, None] = {}
    for cls in res.classes:
        bad = [e for e in cls.outcome.endpoints if e.cause == "san-mismatch"]
        if bad:
            clients.append(cls.first.name)
            presented.update((e.presented, None) for e in bad if e.presented)
    sans = list(dict.fromkeys([*se.obj.spec.subject_alt_names, *presented]))
    if not presented or not _fixed(
        _rebuild(ctx.mesh, res.cluster, [_with_sans(se, sans)]), res, se, clients, None
    ):
        return None
    return _patch_text("ServiceEntry", se.namespace, se.name, {"subjectAltNames": sans})


# --- SE102 with its patch -------------------------------------------------------------------


def workloadentry_identity(ctx: CheckContext) -> Iterator[Finding]:
    """SE102: a WorkloadEntry behind a MESH_INTERNAL ServiceEntry with no way to get mTLS; with
    a verified patch when the address belongs to a meshed pod."""
    n = 0
    for c in ctx.mesh.clusters.values():
        for se in c.service_entries:
            spec = se.obj.spec
            if spec.location != "MESH_INTERNAL" or spec.workload_selector is None:
                continue
            for we in _entries_of(c, se):
                if we.obj.spec.service_account or TLS_MODE_LABEL in entry_labels(we):
                    continue
                patch = None
                if n < MAX_PATCHED:
                    n += 1
                    patch = _account_patch(ctx, c, se, we)
                f = WE_NO_IDENTITY.finding(
                    Subject("WorkloadEntry", we.namespace, we.name),
                    origin=we.origin,
                    cluster=c.name,
                    name=f"{we.namespace}/{we.name}",
                    host=", ".join(spec.hosts),
                )
                yield msgspec.structs.replace(f, patch=patch) if patch else f


def _account_patch(ctx: CheckContext, c: ClusterIndex, se: SE, we: WE) -> str | None:
    found = _meshed_at(ctx.mesh, we.obj.spec.address)
    if found is None:
        return None
    wc, w = found
    res = next(
        (r for r in ctx.results if r.cluster == c.name and r.service.kind == "ServiceEntry"
         and r.service.ref.name == se.name and r.service.namespace == se.namespace),
        None,
    )  # fmt: skip
    if res is None:
        return None
    clients = [cls.first.name for cls in res.classes if cls.any_sidecar and cls.explicit] or [
        cls.first.name for cls in res.classes if cls.any_sidecar
    ]
    if not clients:
        return None
    clients = clients[:3]
    fixed_we = _with_account(we, w.service_account)
    if _fixed(_rebuild(ctx.mesh, c.name, [fixed_we]), res, se, clients, we.name):
        return _patch_text(
            "WorkloadEntry", we.namespace, we.name, {"serviceAccount": w.service_account}
        )
    # the account is read in the WorkloadEntry's namespace: the ServiceEntry must also accept
    # the identity the pod really presents
    sans = list(dict.fromkeys([*se.obj.spec.subject_alt_names, _identity(wc, w)]))
    mesh = _rebuild(ctx.mesh, c.name, [fixed_we, _with_sans(se, sans)])
    if not _fixed(mesh, res, se, clients, we.name):
        return None
    return (
        _patch_text("WorkloadEntry", we.namespace, we.name, {"serviceAccount": w.service_account})
        + "---\n"
        + _patch_text("ServiceEntry", se.namespace, se.name, {"subjectAltNames": sans})
    )


# --- SE103-SE105 ----------------------------------------------------------------------------


def _sans_by_entry(c: ClusterIndex) -> dict[int, set[str]]:
    """id(WorkloadEntry) -> the subjectAltNames of the ServiceEntries that select it."""
    out: dict[int, set[str]] = {}
    for se in c.service_entries:
        if se.obj.spec.subject_alt_names:
            for we in _entries_of(c, se):
                out.setdefault(id(we), set()).update(se.obj.spec.subject_alt_names)
    return out


def workloadentry_account(ctx: CheckContext) -> Iterator[Finding]:
    """SE103: the WorkloadEntry's serviceAccount, read in its namespace, is not the identity of
    the meshed workload at its address."""
    for c in ctx.mesh.clusters.values():
        accepted_by = _sans_by_entry(c) if c.workload_entries else {}
        for we in c.workload_entries:
            account = we.obj.spec.service_account
            found = _meshed_at(ctx.mesh, we.obj.spec.address)
            if not account or found is None:
                continue
            wc, w = found
            declared = spiffe_id(c.config.trust_domain, we.namespace, account)
            actual = _identity(wc, w)
            accepted = actual in accepted_by.get(id(we), ())
            if declared == actual or accepted:
                continue
            yield WE_IDENTITY_DIFFERS.finding(
                Subject("WorkloadEntry", we.namespace, we.name),
                origin=we.origin,
                cluster=c.name,
                fix=f"Add {actual} to the subjectAltNames of the ServiceEntry that selects "
                f"{we.namespace}/{we.name}.",
                name=f"{we.namespace}/{we.name}",
                account=account,
                declared=declared,
                address=we.obj.spec.address,
                workload=w.key,
                actual=actual,
            )


def _endpoint_identities(ctx: CheckContext, c: ClusterIndex, se: SE) -> set[str] | None:
    """What the endpoints of a ServiceEntry present; None when some endpoint is unknown."""
    out: set[str] = set()
    spec = se.obj.spec
    items: list[tuple[str, str | None, str]] = [
        (e.address, e.service_account, se.namespace) for e in spec.endpoints
    ]
    items += [
        (we.obj.spec.address, we.obj.spec.service_account, we.namespace)
        for we in _entries_of(c, se)
    ]
    for address, account, ns in items:
        found = _meshed_at(ctx.mesh, address)
        if found is not None:
            out.add(_identity(*found))
        elif account:
            out.add(spiffe_id(c.config.trust_domain, ns, account))
        else:
            return None
    if spec.workload_selector is not None:
        for w in c.workloads_by_ns.get(se.namespace, ()):
            if selects(spec.workload_selector.labels, w.labels) and c.injection(w).injected:
                out.add(_identity(c, w))
    return out


def serviceentry_endpoints(ctx: CheckContext) -> Iterator[Finding]:
    """SE104: subjectAltNames nobody presents; SE105: MESH_EXTERNAL entries whose endpoints
    are meshed pods."""
    for c in ctx.mesh.clusters.values():
        for se in c.service_entries:
            spec = se.obj.spec
            name = f"{se.namespace}/{se.name}"
            subject = Subject("ServiceEntry", se.namespace, se.name)
            if spec.subject_alt_names:
                ids = _endpoint_identities(ctx, c, se)
                unused = [s for s in spec.subject_alt_names if ids and s not in ids]
                if ids and unused:
                    yield SE_SAN_UNUSED.finding(
                        subject,
                        origin=se.origin,
                        cluster=c.name,
                        name=name,
                        unused=", ".join(unused),
                        presented=", ".join(sorted(ids)),
                    )
            if spec.location == "MESH_INTERNAL":
                continue
            meshed: list[str] = []
            addresses = [e.address for e in spec.endpoints]
            addresses += [we.obj.spec.address for we in _entries_of(c, se)]
            for address in addresses:
                found = _meshed_at(ctx.mesh, address)
                if found is not None:
                    meshed.append(found[1].key)
            if spec.workload_selector is not None:
                meshed += [
                    w.key for w in c.workloads_by_ns.get(se.namespace, ())
                    if selects(spec.workload_selector.labels, w.labels)
                    and c.injection(w).injected
                ]  # fmt: skip
            if meshed:
                yield SE_EXTERNAL_MESHED.finding(
                    subject,
                    origin=se.origin,
                    cluster=c.name,
                    name=name,
                    workloads=", ".join(dict.fromkeys(meshed)),
                )
