"""Codes of the core families (ED edges, SE ServiceEntry/WorkloadEntry identity)."""

from __future__ import annotations

from mtls_doctor.checks.codes import Code

FAILING_EDGE = Code(
    "ED101",
    "failing-edge",
    "error",
    "{clients} → {to}: {verdict} ({cause}); {detail}",
    "Apply the fix named for the edge in `mtls-doctor explain`.",
)
PLAINTEXT_EDGE = Code(
    "ED102",
    "plaintext-in-mesh",
    "warning",
    "{clients} → {to} works but is plaintext ({cause}); {detail}",
    "Make the edge use Istio mTLS as the edge's fix says.",
)
UNDECIDED_EDGE = Code(
    "ED103",
    "undecided-edge",
    "info",
    "{clients} → {to} cannot be decided from the inputs: {detail}",
    "Add the missing objects to the inputs.",
)
SE_SAN_MISMATCH = Code(
    "SE101",
    "serviceentry-san-mismatch",
    "error",
    "clients of {host} expect the identities {expected} but its endpoints present {presented}",
    "Add the identities the endpoints present to the ServiceEntry's subjectAltNames.",
)
WE_NO_IDENTITY = Code(
    "SE102",
    "workloadentry-without-identity",
    "warning",
    "WorkloadEntry {name} behind MESH_INTERNAL host {host} has neither serviceAccount nor the "
    "security.istio.io/tlsMode label, so clients send it plaintext",
    "Set serviceAccount on the WorkloadEntry (or label it security.istio.io/tlsMode: istio).",
)

PA_REJECTED = Code(
    "PA101",
    "peerauthentication-rejected",
    "error",
    "PeerAuthentication {name} would be rejected at admission: {reason}; it never takes effect",
    "Give the policy a selector, or move the port-level settings into a workload policy.",
)

CODES: tuple[Code, ...] = (
    FAILING_EDGE,
    PLAINTEXT_EDGE,
    UNDECIDED_EDGE,
    PA_REJECTED,
    SE_SAN_MISMATCH,
    WE_NO_IDENTITY,
)
