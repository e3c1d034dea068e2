"""The one explicit, sorted registry of checks. Each check is pure: context in, findings out."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import msgspec

from mtls_doctor.checks import edges, peerauthn, serviceentry
from mtls_doctor.checks.context import CheckContext
from mtls_doctor.checks.finding import LEVEL_RANK, Finding

CheckFn = Callable[[CheckContext], Iterable[Finding]]


class Check(msgspec.Struct, frozen=True):
    name: str
    codes: tuple[str, ...]
    reads: tuple[str, ...]  # the kinds (or "edges") it reads
    run: CheckFn


CHECKS: tuple[Check, ...] = (
    Check("edge-outcomes", ("ED101", "ED102", "ED103"), ("edges",), edges.edge_findings),
    Check(
        "peerauthentication-admission",
        ("PA101",),
        ("PeerAuthentication",),
        peerauthn.rejected_policies,
    ),
    Check("serviceentry-san", ("SE101",), ("edges", "ServiceEntry"), edges.serviceentry_san),
    Check(
        "workloadentry-identity",
        ("SE102",),
        ("ServiceEntry", "WorkloadEntry"),
        serviceentry.workloadentry_identity,
    ),
)


def run_checks(ctx: CheckContext) -> list[Finding]:
    found: list[Finding] = []
    for check in CHECKS:
        found.extend(check.run(ctx))
    found.sort(key=lambda f: (-LEVEL_RANK[f.level], f.code, str(f.subject)))
    return found
