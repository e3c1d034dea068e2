"""Codes of the static AuthorizationPolicy checks (AZ)."""

from __future__ import annotations

from mtls_doctor.checks.codes import Code

AZ_IDENTITY_ON_PLAINTEXT = Code(
    "AZ101",
    "identity-rule-on-plaintext",
    "error",
    "AuthorizationPolicy {name} matches on {fields}, but {reached} reached by plaintext "
    "({detail}); a plaintext connection has no peer identity, so those rules never match",
    "Make the traffic to the selected workloads Istio mTLS (STRICT, no DISABLE), or match on "
    "something other than the peer identity.",
)
AZ_ALLOW_NO_RULES = Code(
    "AZ102",
    "allow-without-rules",
    "warning",
    "AuthorizationPolicy {name} is ALLOW with no rules: it matches nothing, so every request to "
    "{scope} is denied unless another ALLOW policy matches",
    "Add the rules that should be allowed (an empty rule `{}` allows everything).",
)
AZ_SPLIT_RULES = Code(
    "AZ103",
    "from-to-split-into-rules",
    "warning",
    "AuthorizationPolicy {name} puts `from` in rule {from_rule} and `to` in rule {to_rule}; rules "
    "are ORed, so {effect}",
    "Put `from` and `to` in the same rule so that both must match.",
)
AZ_NAMESPACE_MISSING = Code(
    "AZ104",
    "authz-namespace-not-found",
    "warning",
    "AuthorizationPolicy {name} names namespace {namespace} in {field}, which does not exist in "
    "the inputs",
    "Fix the namespace name in the policy, or remove it.",
)
AZ_ACCOUNT_MISSING = Code(
    "AZ105",
    "authz-service-account-not-found",
    "warning",
    "AuthorizationPolicy {name} names service account {account} in {field}, but no workload or "
    "ServiceAccount of namespace {namespace} has it",
    "Fix the service account in the policy to the one the calling pods run as.",
)
AZ_UNKNOWN_PROVIDER = Code(
    "AZ106",
    "custom-provider-unknown",
    "error",
    "AuthorizationPolicy {name} is CUSTOM with provider {provider}, which meshConfig "
    "extensionProviders does not define ({known}); Istio denies the requests it matches",
    "Define the provider in meshConfig.extensionProviders, or fix spec.provider.name.",
)
AZ_SELECTS_NOTHING = Code(
    "AZ107",
    "authz-selects-nothing",
    "warning",
    "AuthorizationPolicy {name} selects {selector}, which matches no workload {where}; it "
    "applies to nothing",
    "Fix spec.selector.matchLabels to match the pods' labels, or delete the policy.",
)

CODES: tuple[Code, ...] = (
    AZ_IDENTITY_ON_PLAINTEXT,
    AZ_ALLOW_NO_RULES,
    AZ_SPLIT_RULES,
    AZ_NAMESPACE_MISSING,
    AZ_ACCOUNT_MISSING,
    AZ_UNKNOWN_PROVIDER,
    AZ_SELECTS_NOTHING,
)
