"""SPIFFE identities and trust domains (istio-semantics.md §4, §5)."""

from __future__ import annotations

import re
from functools import cache

_SPIFFE = re.compile(r"^spiffe://(?P<td>[^/]+)/ns/(?P<ns>[^/]+)/sa/(?P<sa>[^/]+)$")


def spiffe_id(trust_domain: str, namespace: str, service_account: str) -> str:
    """`spiffe://<td>/ns/<ns>/sa/<sa>`; an `@` in the trust domain becomes `.` as in Istio."""
    return f"spiffe://{trust_domain.replace('@', '.')}/ns/{namespace}/sa/{service_account}"


def parse_spiffe(uri: str) -> tuple[str, str, str] | None:
    """(trust domain, namespace, service account) of an Istio-shaped SPIFFE ID, else None."""
    m = _SPIFFE.match(uri)
    return (m.group("td"), m.group("ns"), m.group("sa")) if m else None


def trust_domain_of(uri: str) -> str | None:
    if not uri.startswith("spiffe://"):
        return None
    return uri[len("spiffe://") :].split("/", 1)[0] or None


def expand_with_aliases(sans: tuple[str, ...], aliases: tuple[str, ...]) -> tuple[str, ...]:
    """`ExpandWithTrustDomains`: each Istio SPIFFE SAN repeated for every alias trust domain."""
    if not aliases:
        return tuple(sorted(set(sans)))
    out: dict[str, None] = {}
    for san in sans:
        out[san] = None
        parsed = parse_spiffe(san)
        if parsed is None:
            continue
        _, ns, sa = parsed
        for td in aliases:
            out[spiffe_id(td, ns, sa)] = None
    return tuple(sorted(out))


def server_accepts_client(client_id: str | None, trust_domains: tuple[str, ...]) -> bool:
    """The server sidecar's client-certificate check: a URI SAN prefix `spiffe://<td>/`."""
    return client_id is not None and client_id.startswith(_prefixes(trust_domains))


@cache
def _prefixes(trust_domains: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"spiffe://{td}/" for td in trust_domains)
