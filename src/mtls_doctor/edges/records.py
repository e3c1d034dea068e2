"""The edge records: what the evaluator decides for a client and a destination port."""

from __future__ import annotations

from typing import Final, Literal

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


class EndpointResult:
    """One endpoint's verdict on an edge (a plain class with value equality: an evaluation
    makes one per pod behind the service, and compiled code reads its fields directly)."""

    __slots__ = (
        "_steps", "_written_for", "address", "arrived", "authz", "cause", "cluster", "expected",
        "plain_cause", "policy", "presented", "source", "verdict", "workload",
    )  # fmt: skip

    def __init__(
        self,
        address: str | None,
        workload: str | None,
        cluster: str | None,
        verdict: Verdict,
        cause: str | None,
        source: ResourceRef | None = None,
        steps: tuple[Step, ...] = (),
        plain_cause: str | None = None,
        presented: str | None = None,
        expected: tuple[str, ...] = (),
        policy: str | None = None,
        arrived: str | None = None,
        authz: tuple[AuthzCondition, ...] = (),
        *,
        _written_for: str | None = None,
    ) -> None:
        self.address: Final = address
        # namespace/workload, or None when nothing known is at the address
        self.workload: Final = workload
        self.cluster: Final = cluster
        self.verdict: Final = verdict
        self.cause: Final = cause
        self.source: Final = source  # the Pod/WorkloadEntry/ServiceEntry that lists it
        self._steps: Final = steps
        # the address `steps` name, when they were written for another pod of the workload
        self._written_for: Final = _written_for
        self.plain_cause: Final = plain_cause  # why the client sent plaintext, when it did
        self.presented: Final = presented  # the identity the server presented (SAN mismatch)
        self.expected: Final = expected  # the SANs the client accepts (SAN mismatch)
        self.policy: Final = policy  # the denying policy rule, Envoy-style name
        # how the request reached the server's authorization: mtls, plaintext or tls (None
        # when it failed before authorization)
        self.arrived: Final = arrived
        # requests some policy allows or denies (conditional)
        self.authz: Final = authz

    @property
    def steps(self) -> tuple[Step, ...]:
        """The per-endpoint part of the explanation."""
        own = self._steps
        was = self._written_for
        if was is None or not own or not self.address:
            return own
        head = own[0]
        return (head.with_decision(head.decision.replace(was, self.address, 1)), *own[1:])

    def at(self, address: str | None) -> EndpointResult:
        """The same result for another pod of the workload, decided alike: only the address
        differs (the steps name it when they are read)."""
        return EndpointResult(
            address, self.workload, self.cluster, self.verdict, self.cause, self.source,
            self._steps, self.plain_cause, self.presented, self.expected, self.policy,
            self.arrived, self.authz,
            _written_for=self._written_for if self._written_for is not None else self.address,
        )  # fmt: skip

    def _key(self) -> tuple[object, ...]:
        return (
            self.address, self.workload, self.cluster, self.verdict, self.cause, self.source,
            self.steps, self.plain_cause, self.presented, self.expected, self.policy,
            self.arrived, self.authz,
        )  # fmt: skip

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EndpointResult) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"EndpointResult({self.address!r}, {self.workload!r}, {self.cluster!r}, "
            f"{self.verdict!r}, {self.cause!r})"
        )


class Outcome:
    """The verdict of one client class on one destination port (a plain class with value
    equality, like `EndpointResult`)."""

    __slots__ = ("cause", "endpoints", "fix", "symptom", "trace", "verdict")

    def __init__(
        self,
        verdict: Verdict,
        cause: str | None,
        endpoints: tuple[EndpointResult, ...],
        trace: tuple[Step, ...],
        symptom: Symptom | None,
        fix: str | None,
    ) -> None:
        self.verdict: Final = verdict
        self.cause: Final = cause
        self.endpoints: Final = endpoints
        self.trace: Final = trace
        self.symptom: Final = symptom
        self.fix: Final = fix

    def with_text(self, trace: tuple[Step, ...], fix: str | None) -> Outcome:
        """The same outcome with another trace and fix (a client's own steps and names)."""
        return Outcome(self.verdict, self.cause, self.endpoints, trace, self.symptom, fix)

    def _key(self) -> tuple[object, ...]:
        return (self.verdict, self.cause, self.endpoints, self.trace, self.symptom, self.fix)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Outcome) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Outcome({self.verdict!r}, {self.cause!r}, {len(self.endpoints)} endpoint(s))"


class Edge(Record):
    from_: str
    from_cluster: str | None
    to: str
    to_cluster: str | None
    outcome: Outcome
