"""The one explicit, sorted registry of checks. Each check is pure: context in, findings out."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from mtls_doctor.checks import (
    authz,
    destinationrule,
    edges,
    injection,
    peerauthn,
    protocol,
    serviceentry,
    trust,
)
from mtls_doctor.checks.context import CheckContext
from mtls_doctor.checks.finding import LEVEL_RANK, Finding, subject_text
from mtls_doctor.record import Record

CheckFn = Callable[[CheckContext], Iterable[Finding]]


class Check(Record):
    name: str
    codes: tuple[str, ...]
    reads: tuple[str, ...]  # the kinds (or "edges") it reads
    run: CheckFn


CHECKS: tuple[Check, ...] = (
    Check(
        "authorizationpolicy-identity-on-plaintext",
        ("AZ101",),
        ("edges", "AuthorizationPolicy", "PeerAuthentication", "DestinationRule"),
        authz.identity_on_plaintext,
    ),
    Check(
        "authorizationpolicy-references",
        ("AZ104", "AZ105", "AZ107"),
        ("AuthorizationPolicy", "Namespace", "ServiceAccount", "Pod", "WorkloadEntry"),
        authz.references,
    ),
    Check(
        "authorizationpolicy-rules",
        ("AZ102", "AZ103", "AZ106"),
        ("AuthorizationPolicy", "MeshConfig"),
        authz.rule_shapes,
    ),
    Check(
        "destinationrule-against-server",
        ("DR101", "DR102", "PA108"),
        ("edges", "DestinationRule", "PeerAuthentication"),
        destinationrule.tls_against_server,
    ),
    Check(
        "destinationrule-inherited-tls",
        ("DR104",),
        ("DestinationRule", "MeshConfig"),
        destinationrule.inherited_tls,
    ),
    Check(
        "destinationrule-tls-fields",
        ("DR103", "DR105", "DR106"),
        ("DestinationRule",),
        destinationrule.tls_fields,
    ),
    Check("edge-outcomes", ("ED101", "ED102", "ED103"), ("edges",), edges.edge_findings),
    Check(
        "injection-non-mesh-callers",
        ("IN101", "IN102", "IN103"),
        ("edges", "Namespace", "Pod"),
        injection.non_mesh_callers,
    ),
    Check(
        "injection-probes-and-scrapes",
        ("IN105", "IN106"),
        ("Pod", "PeerAuthentication", "Service"),
        injection.probes_and_scrapes,
    ),
    Check(
        "injection-webhooks",
        ("IN104", "PR101"),
        ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "Service", "Pod"),
        injection.webhooks,
    ),
    Check(
        "peerauthentication-admission",
        ("PA101",),
        ("PeerAuthentication",),
        peerauthn.rejected_policies,
    ),
    Check(
        "peerauthentication-port-keys",
        ("PA102", "PA103"),
        ("PeerAuthentication", "Pod", "Service"),
        peerauthn.port_level_keys,
    ),
    Check(
        "peerauthentication-precedence",
        ("PA105", "PA106", "PA107"),
        ("PeerAuthentication",),
        peerauthn.precedence,
    ),
    Check(
        "peerauthentication-selector",
        ("PA104",),
        ("PeerAuthentication", "Pod", "WorkloadEntry"),
        peerauthn.selector_matches,
    ),
    Check("protocol-edges", ("PR101",), ("edges",), protocol.tls_on_http_edges),
    Check("protocol-service-ports", ("PR102", "PR103"), ("Service", "Pod"), protocol.service_ports),
    Check("pseudo-client-edges", ("ED101",), ("edges",), edges.pseudo_edge_findings),
    Check(
        "serviceentry-endpoints",
        ("SE104", "SE105"),
        ("ServiceEntry", "WorkloadEntry", "Pod"),
        serviceentry.serviceentry_endpoints,
    ),
    Check(
        "serviceentry-san",
        ("SE101",),
        ("edges", "ServiceEntry"),
        serviceentry.serviceentry_san_patched,
    ),
    Check(
        "trust-domain-references",
        ("TR101",),
        ("AuthorizationPolicy", "MeshConfig"),
        trust.foreign_trust_domains,
    ),
    Check(
        "workloadentry-account",
        ("SE103",),
        ("WorkloadEntry", "Pod"),
        serviceentry.workloadentry_account,
    ),
    Check(
        "workloadentry-identity",
        ("SE102",),
        ("edges", "ServiceEntry", "WorkloadEntry"),
        serviceentry.workloadentry_identity,
    ),
)


def run_checks(ctx: CheckContext) -> list[Finding]:
    found: list[Finding] = []
    for check in CHECKS:
        found.extend(check.run(ctx))
    found.sort(key=lambda f: (-LEVEL_RANK[f.level], f.code, subject_text(f.subject)))
    return found
