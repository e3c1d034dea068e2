"""CE: certificates, chains, roots of trust, SPIFFE identities and plug-in CA secrets.

Numbering: CE1xx validity, CE2xx chains, CE3xx roots, CE4xx SPIFFE identity, CE5xx plug-in CA and
key pairs, CE6xx lifecycle practice. Codes are never reused.
"""

from __future__ import annotations

from mtls_doctor.checks.codes import Code

CERT_EXPIRED = Code(
    "CE101",
    "cert-expired",
    "error",
    "{what} {source} expired at {not_after} ({ago} before {now})",
    "Renew the certificate (for Istio workloads restart the pod or check istiod and the agent "
    "logs; for a plug-in CA replace the cacerts Secret and restart istiod).",
)
CERT_NOT_YET_VALID = Code(
    "CE102",
    "cert-not-yet-valid",
    "error",
    "{what} {source} is not valid before {not_before} ({ahead} after {now})",
    "Check the clock of the issuing CA and of the nodes, or wait until the certificate is valid.",
)
CERT_EXPIRING = Code(
    "CE103",
    "cert-expiring-soon",
    "warning",
    "{what} {source} expires at {not_after}, in {left} (margin {margin})",
    "Rotate the certificate before it expires, and check that automatic renewal works.",
)
CHAIN_UNTRUSTED = Code(
    "CE201",
    "chain-not-verified",
    "error",
    "chain {chain} in {where} does not verify to the root that came with it: {reason}",
    "Issue the certificate from the CA whose root is distributed with it, or distribute "
    "that CA's root.",
)
CHAIN_MISSING_INTERMEDIATE = Code(
    "CE202",
    "chain-missing-intermediate",
    "error",
    "chain {chain} in {where} stops at {stops_at}: its issuer {issuer} is neither in the chain "
    "nor a root that came with it",
    "Put every intermediate CA certificate into the chain, leaf first and the root last.",
)
CHAIN_WRONG_ORDER = Code(
    "CE203",
    "chain-wrong-order",
    "warning",
    "chain {chain} in {where} is out of order: {reason}",
    "Order the chain leaf first, then each issuer in turn, ending with the root.",
)
ROOTS_DIFFER = Code(
    "CE301",
    "roots-differ",
    "error",
    "{where} trusts root {roots}, but {other} trusts root {other_roots} ({count} source(s)); "
    "peers with different roots cannot verify each other",
    "Give every cluster, namespace and proxy the same root (plug-in CA certificates issued "
    "from one shared root), then restart the affected pods.",
)
ROOTS_OVERLAP = Code(
    "CE302",
    "roots-partly-differ",
    "warning",
    "{where} trusts roots {roots}; {other} trusts {other_roots}: they share only {shared}",
    "Finish the root rotation so every proxy trusts the same set of roots.",
)
SPIFFE_NO_URI = Code(
    "CE401",
    "spiffe-id-missing",
    "error",
    "workload certificate {source} has no URI SAN, so it carries no SPIFFE identity",
    "Issue workload certificates with a URI SAN spiffe://<trust-domain>/ns/<namespace>/sa/"
    "<service-account>.",
)
SPIFFE_MALFORMED = Code(
    "CE402",
    "spiffe-id-malformed",
    "error",
    "certificate {source} has SPIFFE ID {spiffe_id}: {reason}",
    "Issue the certificate with exactly one well-formed spiffe://<trust-domain>/<path> URI SAN.",
)
SPIFFE_TRUST_DOMAIN = Code(
    "CE403",
    "trust-domain-unknown",
    "error",
    "certificate {source} has trust domain {trust_domain}, but cluster {cluster_name} accepts "
    "{accepted}{assumed}",
    "Issue the certificate in the mesh's trust domain, or add its trust domain to "
    "meshConfig.trustDomainAliases.",
)
SPIFFE_MISMATCH = Code(
    "CE404",
    "spiffe-id-mismatch",
    "error",
    "{who} presents {spiffe_id}, but {basis} implies {expected}",
    "Make the pod's service account match the identity it should have, or fix the "
    "certificate's issuer so it signs the pod's real identity.",
)
KEY_MISMATCH = Code(
    "CE501",
    "key-cert-mismatch",
    "error",
    "private key {key} does not belong to certificate {source}",
    "Store the private key that was generated with this certificate (or reissue both together).",
)
CA_NOT_SIGNED_BY_ROOT = Code(
    "CE502",
    "ca-not-signed-by-root",
    "error",
    "CA certificate {source} in {where} does not chain to root-cert.pem: {reason}",
    "Issue ca-cert.pem from the root in root-cert.pem, or put that CA's own root in root-cert.pem.",
)
CA_NOT_A_CA = Code(
    "CE503",
    "ca-flags-missing",
    "error",
    "{what} {source} signs certificates but {reason}",
    "Reissue the CA certificate with basicConstraints CA:TRUE (critical) and keyUsage keyCertSign.",
)
CA_PATH_LENGTH = Code(
    "CE504",
    "ca-path-length",
    "error",
    "{source} allows {limit} intermediate CA(s) below it, but the chain in {where} has {below}",
    "Reissue the CA certificate with a larger pathLenConstraint (or none), or shorten the chain.",
)
CA_MIXED_UP = Code(
    "CE505",
    "ca-files-mixed-up",
    "error",
    "{where}: {reason}",
    "Put the signing CA in ca-cert.pem, the root alone in root-cert.pem, and ca-cert.pem "
    "followed by its issuers up to the root in cert-chain.pem.",
)
CA_MEMBER_MISSING = Code(
    "CE506",
    "ca-file-missing",
    "error",
    "{where} has no {members}",
    "Create the Secret with all of ca-cert.pem, ca-key.pem, root-cert.pem and cert-chain.pem.",
)
WORKLOAD_TTL = Code(
    "CE601",
    "workload-ttl-too-long",
    "warning",
    "workload certificate {source} is valid for {ttl}, longer than {limit}",
    "Issue workload certificates for at most 72 hours (Istio's default is 24h) and let the "
    "proxy rotate them.",
)
WILDCARD_WORKLOAD = Code(
    "CE602",
    "wildcard-workload-cert",
    "warning",
    "{source} is used as a workload identity but has wildcard name {name}",
    "Give every workload its own certificate for its own identity instead of a shared wildcard.",
)

CODES: tuple[Code, ...] = (
    CERT_EXPIRED,
    CERT_NOT_YET_VALID,
    CERT_EXPIRING,
    CHAIN_UNTRUSTED,
    CHAIN_MISSING_INTERMEDIATE,
    CHAIN_WRONG_ORDER,
    ROOTS_DIFFER,
    ROOTS_OVERLAP,
    SPIFFE_NO_URI,
    SPIFFE_MALFORMED,
    SPIFFE_TRUST_DOMAIN,
    SPIFFE_MISMATCH,
    KEY_MISMATCH,
    CA_NOT_SIGNED_BY_ROOT,
    CA_NOT_A_CA,
    CA_PATH_LENGTH,
    CA_MIXED_UP,
    CA_MEMBER_MISSING,
    WORKLOAD_TTL,
    WILDCARD_WORKLOAD,
)
