"""The edge records: what the evaluator decides for a client and a destination port."""

from __future__ import annotations

from typing import Literal

from mtls_doctor.model.refs import ResourceRef
from mtls_doctor.record import Record
from mtls_doctor.semantics.authz import AuthzCondition
from mtls_doctor.semantics.trace import Step

Verdict = Literal["mtls", "plaintext", "tls", "fail", "denied", "unknown", "mixed"]

# The causes an edge or endpoint may carry (DESIGN.md's cause table, in its order).
CAUSES: tuple[str, ...] = (
    "no-client-sidecar", "no-server-sidecar", "endpoint-not-mtls", "peer-auth-disable",
    "destination-rule-disable", "auto-mtls-off", "passthrough", "mesh-external",
    "plaintext-rejected", "san-mismatch", "untrusted-root", "trust-domain-rejected",
    "client-cert-missing", "tls-to-plaintext-server", "app-tls-on-http-port",
    "dr-tls-on-http-port", "plaintext-to-tls-app", "cert-expired", "blackholed", "authz-denied",
    "network-unreachable", "missing-input", "authz-undecidable",
)  # fmt: skip

# Worst first: how an edge with endpoints of several verdicts is summarised.
SEVERITY: dict[str, int] = {
    "fail": 5, "denied": 4, "unknown": 3, "plaintext": 2, "tls": 1, "mtls": 0, "mixed": 6
}  # fmt: skip


class Symptom(Record):
    """What the user sees when the edge is used (observed with real Envoy 1.40)."""

    http_status: int | None
    response_flags: str | None
    message: str
    server_log: str | None = None


class EndpointResult(Record):
    address: str | None
    workload: str | None  # namespace/workload, or None when nothing known is at the address
    cluster: str | None
    verdict: Verdict
    cause: str | None
    source: ResourceRef | None = None  # the Pod/WorkloadEntry/ServiceEntry that lists it
    steps: tuple[Step, ...] = ()  # the per-endpoint part of the explanation
    plain_cause: str | None = None  # why the client sent plaintext, when it did
    presented: str | None = None  # the identity the server presented (SAN mismatch)
    expected: tuple[str, ...] = ()  # the SANs the client accepts (SAN mismatch)
    policy: str | None = None  # the denying policy rule, Envoy-style name
    arrived: str | None = None  # how the request reached the server's authorization: mtls,
    # plaintext or tls (None when it failed before authorization)
    authz: tuple[AuthzCondition, ...] = ()  # requests some policy allows or denies (conditional)


class Outcome(Record):
    """The verdict of one client class on one destination port."""

    verdict: Verdict
    cause: str | None
    endpoints: tuple[EndpointResult, ...]
    trace: tuple[Step, ...]
    symptom: Symptom | None
    fix: str | None


class Edge(Record):
    from_: str
    from_cluster: str | None
    to: str
    to_cluster: str | None
    outcome: Outcome
