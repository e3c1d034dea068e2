"""Trust-domain checks: identities in policies whose trust domain the mesh does not have."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_doctor.checks.codes_runbook import TR_FOREIGN_DOMAIN
from mtls_doctor.checks.context import CheckContext
from mtls_doctor.checks.finding import Finding, Subject

_WHEN_KEYS = ("source.principal",)


def principal_domain(principal: str) -> str | None:
    """The trust domain of a `<td>/ns/<ns>/sa/<sa>` principal; None for patterns and others."""
    td, sep, _ = principal.partition("/ns/")
    if not sep or not td or "*" in td or "/" in td:
        return None
    return td


def foreign_trust_domains(ctx: CheckContext) -> Iterator[Finding]:
    """TR101: AuthorizationPolicy principals of a trust domain that is not the mesh's or an
    alias."""
    for c in ctx.mesh.clusters.values():
        known = c.trust_domains
        for p in c.authorization_policies:
            seen: set[str] = set()
            for rule in p.obj.spec.rules or ():
                values = [
                    v for f in rule.from_ for v in (*f.source.principals, *f.source.not_principals)
                ]
                values += [
                    v for w in rule.when if w.key in _WHEN_KEYS for v in (*w.values, *w.not_values)
                ]
                for v in values:
                    td = principal_domain(v)
                    # istiod rewrites principals of the literal cluster.local to every trust
                    # domain of the mesh (ReplaceTrustDomainAliases), like aliases
                    if td is None or td in known or td == "cluster.local" or v in seen:
                        continue
                    seen.add(v)
                    yield TR_FOREIGN_DOMAIN.finding(
                        Subject("AuthorizationPolicy", p.namespace, p.name),
                        origin=p.origin,
                        cluster=c.name,
                        fix=f"Write {v.replace(td, known[0], 1)} or add {td} to meshConfig "
                        "trustDomainAliases.",
                        kind_name=f"AuthorizationPolicy {p.namespace}/{p.name}",
                        principal=v,
                        domain=td,
                        mesh_td=", ".join(known),
                    )
