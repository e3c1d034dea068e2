"""The whole pipeline on loaded inputs: edges per destination, pseudo-client edges, findings."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import msgspec

from mtls_doctor.certs import TrustView
from mtls_doctor.checks.context import CheckContext
from mtls_doctor.checks.finding import Finding
from mtls_doctor.checks.registry import run_checks
from mtls_doctor.edges.authz import AuthzSeam
from mtls_doctor.edges.authz_seam import make_authz
from mtls_doctor.edges.classes import DestinationResult, classify
from mtls_doctor.edges.engine import EdgeEngine, RelevanceHook
from mtls_doctor.edges.records import Edge
from mtls_doctor.edges.trust import TrustCheck
from mtls_doctor.envoy.logfindings import log_findings
from mtls_doctor.envoy.logs import LogEvent
from mtls_doctor.model.load import LoadResult
from mtls_doctor.record import Record
from mtls_doctor.side_inputs import SideInputs

DestinationHook = Callable[[int, int], None]  # (done, total)


class Timings(msgspec.Struct):
    load_s: float = 0.0
    evaluate_s: float = 0.0
    checks_s: float = 0.0


class LinkedEvent(Record):
    """A log event tied to the destination the engine knows it by (when its cluster names one)."""

    event: LogEvent
    destination: DestinationResult | None


class Analysis(msgspec.Struct):
    load: LoadResult
    engine: EdgeEngine
    results: list[DestinationResult]
    pseudo: list[Edge]
    findings: list[Finding]
    timings: Timings
    events: list[LinkedEvent] = []

    @property
    def multi(self) -> bool:
        return self.load.mesh.multi_cluster

    def edge_count(self) -> int:
        return sum(r.client_count for r in self.results) + len(self.pseudo)


def analyze(
    load: LoadResult,
    *,
    authz: AuthzSeam | None = None,
    authz_relevance: RelevanceHook | None = None,
    progress: DestinationHook | None = None,
    load_seconds: float = 0.0,
    now: datetime | None = None,
    side: SideInputs | None = None,
) -> Analysis:
    when = now or datetime.now(UTC)
    trust, cert_findings = certificates(load, when)
    if authz is None:  # AuthorizationPolicy evaluation; a seam given by a caller (tests) wins
        authz, authz_relevance = make_authz(load.mesh)
    engine = EdgeEngine(load.mesh, authz, authz_relevance, trust=trust)
    t0 = time.perf_counter()
    dests = [(c, s, p) for c in load.mesh.clusters for s, p in engine.destinations(c)]
    results: list[DestinationResult] = []
    gc_was_enabled = gc.isenabled()
    gc.disable()  # outcomes, classes and findings form no cycles: collections only slow down
    try:
        for i, (cluster, svc, port) in enumerate(dests):
            results.append(classify(engine, cluster, svc, port))
            if progress is not None and (i % 256 == 0 or i + 1 == len(dests)):
                progress(i + 1, len(dests))
        pseudo = [e for c in load.mesh.clusters for e in engine.pseudo_edges(c)]
        t1 = time.perf_counter()
        context = CheckContext(load.mesh, tuple(results), engine.servers, tuple(pseudo))
        findings = run_checks(context)
        findings.extend(cert_findings)
        events: list[LinkedEvent] = []
        if side is not None:
            findings.extend(proxy_findings(engine, side))
            findings.extend(log_findings(e for e in side.events))
            events = link_events(side.events, results)
        t2 = time.perf_counter()
    finally:
        # What was built lives as long as the run: keep it out of later collections.
        gc.freeze()
        if gc_was_enabled:
            gc.enable()
    return Analysis(
        load, engine, results, pseudo, findings, Timings(load_seconds, t1 - t0, t2 - t1), events
    )


def proxy_findings(engine: EdgeEngine, side: SideInputs) -> list[Finding]:
    """Each dump's own findings, and where it differs from what the semantics predict for the
    workload it belongs to."""
    from mtls_doctor.edges.predictions import predicted_clusters, predicted_inbound
    from mtls_doctor.envoy.compare import compare

    out: list[Finding] = []
    for proxy in side.proxies:
        out.extend(proxy.config.findings)
        c = engine.mesh.clusters.get(proxy.cluster)
        if c is None or proxy.namespace is None or proxy.pod is None:
            continue
        w = next(
            (
                w
                for w in c.workloads_by_ns.get(proxy.namespace, ())
                if any(p.name == proxy.pod for p in w.pods)
            ),
            None,
        )
        if w is None:
            continue
        out.extend(
            compare(
                proxy.config,
                predicted_clusters(engine, c.name, w),
                predicted_inbound(engine, c.name, w),
            )
        )
    return out


def link_events(events: list[LogEvent], results: list[DestinationResult]) -> list[LinkedEvent]:
    by_to = {f"{r.service.hostname}:{r.port.number}": r for r in results}
    return [LinkedEvent(e, by_to.get(e.destination or "")) for e in events if e.cause]


def certificates(load: LoadResult, now: datetime) -> tuple[TrustCheck | None, list[Finding]]:
    """Certificates among the inputs (cacerts and root Secrets/ConfigMaps, PEM files, proxy
    secret dumps): the trust join for the edges, and the certificate findings. None and no
    findings when the inputs hold no certificate."""
    from mtls_doctor.certs import (
        CertInventory,
        CheckPolicy,
        check_certificates,
        inventory_from_objects,
        read_certificates,
        trust_view,
    )
    from mtls_doctor.sources.documents import RawObject

    raw: list[RawObject] = []
    for c in load.mesh.clusters.values():
        for kind in ("Secret", "ConfigMap"):
            for o in c.by_kind.get(kind, ()):
                raw.append(RawObject(o.cluster, o.origin, msgspec.to_builtins(o.obj)))
    inventory = inventory_from_objects(raw)
    if load.side_files:
        extra = read_certificates(load.side_files)
        inventory = CertInventory(
            (*inventory.bundles, *extra.bundles),
            (*inventory.problems, *extra.problems),
            {**inventory.mesh, **extra.mesh},
        )
    load.problems.extend(inventory.problems)
    if not inventory.bundles:
        return None, []
    report = check_certificates(inventory, CheckPolicy.at(now))
    view = trust_view(inventory)
    return TrustCheck(view, now), [*report.findings, *identity_mismatches(load, view)]


def identity_mismatches(load: LoadResult, view: TrustView) -> Iterator[Finding]:
    """CE404: a pod's certificate (from its proxy's secret dump) names another SPIFFE ID than
    the one its namespace and service account in the manifests imply."""
    from mtls_doctor.certs.codes import SPIFFE_MISMATCH
    from mtls_doctor.checks.finding import Subject
    from mtls_doctor.semantics.identity import spiffe_id

    for wt in view.workloads:
        c = load.mesh.clusters.get(wt.cluster)
        if c is None or wt.namespace is None or wt.pod is None or wt.spiffe_id is None:
            continue
        for w in c.workloads_by_ns.get(wt.namespace, ()):
            if not any(p.name == wt.pod for p in w.pods):
                continue
            expected = spiffe_id(c.config.trust_domain, w.namespace, w.service_account)
            if wt.spiffe_id != expected:
                yield SPIFFE_MISMATCH.finding(
                    Subject("Pod", wt.namespace, wt.pod),
                    origin=w.origin,
                    cluster=wt.cluster,
                    who=f"pod {wt.namespace}/{wt.pod} ({wt.source})",
                    spiffe_id=wt.spiffe_id,
                    basis=f"its service account {w.service_account} in the manifests",
                    expected=expected,
                )
