"""The seam where authorization plugs into edge evaluation.

After the server sidecar has accepted a connection (mTLS or plaintext), the evaluator asks the
seam whether the server's AuthorizationPolicies deny this client. `principal` is the verified
client identity for mTLS connections and None otherwise (principal- and namespace-based rules
never match plaintext). The default seam allows everything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec

from mtls_doctor.semantics.trace import Step

if TYPE_CHECKING:
    from mtls_doctor.edges.evaluate import Client
    from mtls_doctor.edges.server import ServerFacts


class Denial(msgspec.Struct, frozen=True):
    step: Step  # the trace step naming the policy and rule
    policy: str  # Envoy's name for the matched rule: ns[NS]-policy[NAME]-rule[N]


AuthzSeam = Callable[["Client", "ServerFacts", "int | None", "str | None"], "Denial | None"]


def allow_all(
    client: Client, server: ServerFacts, port: int | None, principal: str | None
) -> Denial | None:
    return None
