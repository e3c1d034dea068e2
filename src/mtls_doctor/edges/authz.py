"""The seam where authorization plugs into edge evaluation.

After the server sidecar has accepted a connection (mTLS or plaintext), the evaluator asks the
seam whether the server's AuthorizationPolicies deny this client. `principal` is the verified
client identity for mTLS connections and None otherwise (principal- and namespace-based rules
never match plaintext). The default seam allows everything; `edges.authz_seam.make_authz` is
the real one.

A seam answer (`Denial`) has a `verdict`: "denied" (every request is denied), "unknown" (the
inputs cannot decide it), or "allowed"/"conditional" (the edge keeps its verdict; the step goes
into the trace and a conditional answer lists the request conditions under `authz`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from mtls_doctor.record import Record
from mtls_doctor.semantics.authz import AuthzCondition
from mtls_doctor.semantics.trace import Step

if TYPE_CHECKING:
    from mtls_doctor.edges.client_tls import Client
    from mtls_doctor.edges.server import ServerFacts


class Denial(Record):
    step: Step  # the trace step naming the policy and rule
    policy: str | None  # Envoy's name for the matched rule: ns[NS]-policy[NAME]-rule[N]
    verdict: Literal["denied", "unknown", "conditional", "allowed"] = "denied"
    conditions: tuple[AuthzCondition, ...] = ()  # request-dependent parts (conditional)


AuthzSeam = Callable[["Client", "ServerFacts", "int | None", "str | None"], "Denial | None"]


def allow_all(
    client: Client, server: ServerFacts, port: int | None, principal: str | None
) -> Denial | None:
    return None
