"""ServiceEntry / WorkloadEntry identity checks that need no edge."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_doctor.checks.codes_core import WE_NO_IDENTITY
from mtls_doctor.checks.context import CheckContext
from mtls_doctor.checks.finding import Finding, Subject
from mtls_doctor.edges.registry import TLS_MODE_LABEL
from mtls_doctor.semantics.trace import selects


def workloadentry_identity(ctx: CheckContext) -> Iterator[Finding]:
    """A WorkloadEntry behind a MESH_INTERNAL ServiceEntry with no way to get mTLS."""
    for c in ctx.mesh.clusters.values():
        for se in c.service_entries:
            spec = se.obj.spec
            if spec.location != "MESH_INTERNAL" or spec.workload_selector is None:
                continue
            for we in c.workload_entries:
                labels = {**we.obj.spec.labels, **we.meta.labels}
                if we.namespace != se.namespace or not selects(
                    spec.workload_selector.labels, labels
                ):
                    continue
                if we.obj.spec.service_account or TLS_MODE_LABEL in labels:
                    continue
                yield WE_NO_IDENTITY.finding(
                    Subject("WorkloadEntry", we.namespace, we.name),
                    origin=we.origin,
                    cluster=c.name,
                    name=f"{we.namespace}/{we.name}",
                    host=", ".join(spec.hosts),
                )
