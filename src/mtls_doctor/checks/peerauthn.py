"""PeerAuthentication checks that need no edge."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_doctor.checks.codes_core import PA_REJECTED
from mtls_doctor.checks.context import CheckContext
from mtls_doctor.checks.finding import Finding, Subject


def rejected_policies(ctx: CheckContext) -> Iterator[Finding]:
    """Policies the API server refuses (CEL / `ValidatePeerAuthentication`): they are ignored."""
    for c in ctx.mesh.clusters.values():
        for p, reason in c.pa.rejected:
            yield PA_REJECTED.finding(
                Subject("PeerAuthentication", p.namespace, p.name),
                origin=p.origin,
                cluster=c.name,
                name=f"{p.namespace}/{p.name}",
                reason=reason,
            )
