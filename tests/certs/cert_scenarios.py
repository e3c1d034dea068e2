"""One small, real input per failure the certificate checks know, with the exact findings it
must produce as (code, subject name) pairs. Used by the scenario tests and the catalog test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import tests.certs.pki_factory as pki
from tests.certs.pki_factory import DAY, HOUR, NOW


@dataclass
class Scenario:
    args: list[str]
    expect: set[tuple[str, str]]
    levels: dict[str, str] = field(default_factory=dict)  # code -> expected level, when asserted


Builder = Callable[[Path], Scenario]
SCENARIOS: dict[str, Builder] = {}


def scenario(fn: Builder) -> Builder:
    SCENARIOS[fn.__name__] = fn
    return fn


def _proxy(
    tmp: Path,
    name: str,
    chain: list[pki.Issued],
    roots: list[pki.Issued],
    ns: str = "default",
    sa: str | None = "default",
    **kw: object,
) -> str:
    dump = pki.sds_dump(chain, roots, pod=name, namespace=ns, service_account=sa, **kw)  # type: ignore[arg-type]
    return str(pki.write_json(tmp / f"{name}.json", dump))


@scenario
def clean_proxies(tmp: Path) -> Scenario:
    r = pki.root("cluster.local", org=None)
    a = _proxy(tmp, "a-1", [pki.workload(r), r], [r])
    b = _proxy(
        tmp, "b-1", [pki.workload(r, "spiffe://cluster.local/ns/default/sa/b"), r], [r], sa="b"
    )
    return Scenario([a, b], set())


@scenario
def expired_workload(tmp: Path) -> Scenario:
    r = pki.root()
    leaf = pki.workload(r, not_before=NOW - DAY, not_after=NOW - HOUR)
    return Scenario([_proxy(tmp, "web-1", [leaf, r], [r])], {("CE101", "web-1")})


@scenario
def not_yet_valid(tmp: Path) -> Scenario:
    r = pki.root()
    leaf = pki.workload(r, not_before=NOW + 2 * HOUR, not_after=NOW + DAY)
    return Scenario([_proxy(tmp, "web-1", [leaf, r], [r])], {("CE102", "web-1")})


@scenario
def expiring_soon(tmp: Path) -> Scenario:
    r = pki.root(not_before=NOW - 365 * DAY, not_after=NOW + 10 * DAY)
    leaf = pki.workload(r, not_before=NOW - DAY, not_after=NOW + HOUR / 2)
    fresh_root = pki.root("Other Root")
    # 40 minutes left of a one-hour certificate: within a third of its life, so not "soon"
    ok = pki.workload(fresh_root, not_before=NOW - HOUR / 3, not_after=NOW + 2 * HOUR / 3)
    return Scenario(
        [
            _proxy(tmp, "web-1", [leaf, r], [r]),
            str(pki.write_text(tmp / "ok" / "cert.pem", pem_of(ok, fresh_root))),
        ],
        {("CE103", "web-1")},
    )


def pem_of(*items: pki.Issued) -> str:
    return pki.pem(*items)


@scenario
def chain_other_root_same_name(tmp: Path) -> Scenario:
    signer = pki.root("cluster.local", org=None)
    trusted = pki.root("cluster.local", org=None)  # same name, different key
    return Scenario([_proxy(tmp, "web-1", [pki.workload(signer)], [trusted])], {("CE201", "web-1")})


@scenario
def chain_ends_at_foreign_root(tmp: Path) -> Scenario:
    signer = pki.root("Cluster One Root")
    trusted = pki.root("Cluster Two Root")
    return Scenario(
        [_proxy(tmp, "web-1", [pki.workload(signer), signer], [trusted])], {("CE201", "web-1")}
    )


@scenario
def missing_intermediate(tmp: Path) -> Scenario:
    r = pki.root()
    i = pki.intermediate(r)
    return Scenario([_proxy(tmp, "web-1", [pki.workload(i)], [r])], {("CE202", "web-1")})


@scenario
def wrong_order(tmp: Path) -> Scenario:
    r = pki.root()
    i = pki.intermediate(r)
    leaf = pki.workload(i)
    d = tmp / "mounted"
    pki.write_text(d / "cert-chain.pem", pki.pem(i, leaf, r))
    pki.write_text(d / "root-cert.pem", r.pem)
    return Scenario([str(d)], {("CE203", str(d))})


@scenario
def roots_differ_between_clusters(tmp: Path) -> Scenario:
    def cacerts(cluster: str, r: pki.Issued) -> str:
        ca = pki.intermediate(r, f"{cluster} CA")
        path = pki.write_yaml(
            tmp / f"{cluster}.yaml",
            pki.secret(
                "cacerts",
                "istio-system",
                {
                    "ca-cert.pem": ca.pem,
                    "ca-key.pem": ca.key_pem,
                    "root-cert.pem": r.pem,
                    "cert-chain.pem": pki.pem(ca, r),
                },
            ),
        )
        return f"{cluster}={path}"

    return Scenario(
        [cacerts("east", pki.root("East Root")), cacerts("west", pki.root("West Root"))],
        {("CE301", "cacerts")},
    )


@scenario
def roots_differ_between_namespaces(tmp: Path) -> Scenario:
    good, bad = pki.root("Mesh Root"), pki.root("Stale Root")
    cms = [
        pki.configmap("istio-ca-root-cert", ns, {"root-cert.pem": r.pem})
        for ns, r in (("shop", good), ("cart", good), ("legacy", bad))
    ]
    return Scenario(
        [str(pki.write_yaml(tmp / "cms.yaml", *cms))], {("CE301", "istio-ca-root-cert")}
    )


@scenario
def roots_differ_between_proxies(tmp: Path) -> Scenario:
    good, bad = pki.root("Mesh Root"), pki.root("Stale Root")
    both = _proxy(tmp, "rotating-1", [pki.workload(good), good], [good, bad])
    return Scenario(
        [
            _proxy(tmp, "a-1", [pki.workload(good), good], [good]),
            _proxy(tmp, "b-1", [pki.workload(good), good], [good]),
            _proxy(tmp, "c-1", [pki.workload(bad), bad], [bad]),
            both,
        ],
        {("CE301", "c-1"), ("CE302", "rotating-1")},
    )


@scenario
def no_uri_san(tmp: Path) -> Scenario:
    r = pki.root()
    leaf = pki.workload(r, spiffe=None, dns=("web.default.svc",))
    return Scenario([_proxy(tmp, "web-1", [leaf, r], [r])], {("CE401", "web-1")})


@scenario
def malformed_spiffe(tmp: Path) -> Scenario:
    r = pki.root()
    upper = pki.workload(r, "spiffe://Cluster.Local/ns/default/sa/default")
    empty = pki.workload(r, "spiffe:///ns/default/sa/default")
    two = pki.workload(
        r, uris=("spiffe://cluster.local/ns/a/sa/a", "spiffe://cluster.local/ns/b/sa/b")
    )
    return Scenario(
        [
            _proxy(tmp, "upper-1", [upper, r], [r]),
            _proxy(tmp, "empty-1", [empty, r], [r]),
            _proxy(tmp, "two-1", [two, r], [r], ns="a", sa="a"),
        ],
        {("CE402", "upper-1"), ("CE402", "empty-1"), ("CE402", "two-1")},
    )


@scenario
def unknown_trust_domain(tmp: Path) -> Scenario:
    r = pki.root()
    mesh = pki.write_yaml(tmp / "mesh.yaml", pki.mesh_configmap("prod.example", ("old.example",)))
    ok = _proxy(
        tmp, "ok-1", [pki.workload(r, "spiffe://prod.example/ns/default/sa/default"), r], [r]
    )
    alias = _proxy(
        tmp, "alias-1", [pki.workload(r, "spiffe://old.example/ns/default/sa/default"), r], [r]
    )
    other = _proxy(
        tmp, "other-1", [pki.workload(r, "spiffe://cluster.local/ns/default/sa/default"), r], [r]
    )
    return Scenario([str(mesh), ok, alias, other], {("CE403", "other-1")}, {"CE403": "error"})


@scenario
def unknown_trust_domain_assumed(tmp: Path) -> Scenario:
    r = pki.root()
    other = _proxy(
        tmp, "other-1", [pki.workload(r, "spiffe://elsewhere.io/ns/default/sa/default"), r], [r]
    )
    return Scenario([other], {("CE403", "other-1")}, {"CE403": "warning"})


@scenario
def identity_not_the_pods(tmp: Path) -> Scenario:
    r = pki.root()
    leaf = pki.workload(r, "spiffe://cluster.local/ns/shop/sa/default")
    return Scenario(
        [_proxy(tmp, "cart-1", [leaf, r], [r], ns="shop", sa="cart")], {("CE404", "cart-1")}
    )


def _cacerts(tmp: Path, name: str, **members: str) -> str:
    data = {k.replace("_", "-") + ".pem": v for k, v in members.items()}
    return str(pki.write_yaml(tmp / f"{name}.yaml", pki.secret("cacerts", name, data)))


@scenario
def plugin_ca_good(tmp: Path) -> Scenario:
    r = pki.root(path_length=1)
    ca = pki.intermediate(r, path_length=0)
    return Scenario(
        [
            _cacerts(
                tmp,
                "ns1",
                ca_cert=ca.pem,
                ca_key=ca.key_pem,
                root_cert=r.pem,
                cert_chain=pki.pem(ca, r),
            )
        ],
        set(),
    )


@scenario
def plugin_ca_key_mismatch(tmp: Path) -> Scenario:
    r = pki.root()
    ca, other = pki.intermediate(r), pki.intermediate(r, "Other CA")
    return Scenario(
        [
            _cacerts(
                tmp,
                "ns1",
                ca_cert=ca.pem,
                ca_key=other.key_pem,
                root_cert=r.pem,
                cert_chain=pki.pem(ca, r),
            )
        ],
        {("CE501", "cacerts")},
    )


@scenario
def plugin_ca_not_signed_by_root(tmp: Path) -> Scenario:
    r, foreign = pki.root("Mesh Root"), pki.root("Foreign Root")
    ca = pki.intermediate(foreign)
    return Scenario(
        [
            _cacerts(
                tmp,
                "ns1",
                ca_cert=ca.pem,
                ca_key=ca.key_pem,
                root_cert=r.pem,
                cert_chain=pki.pem(ca, foreign),
            )
        ],
        {("CE502", "cacerts")},
    )


@scenario
def plugin_ca_not_a_ca(tmp: Path) -> Scenario:
    r = pki.root()
    not_ca = pki.intermediate(r, ca=False)
    no_sign = pki.intermediate(r, "No Sign CA", key_cert_sign=False)
    return Scenario(
        [
            _cacerts(
                tmp,
                "ns1",
                ca_cert=not_ca.pem,
                ca_key=not_ca.key_pem,
                root_cert=r.pem,
                cert_chain=pki.pem(not_ca, r),
            ),
            _cacerts(
                tmp,
                "ns2",
                ca_cert=no_sign.pem,
                ca_key=no_sign.key_pem,
                root_cert=r.pem,
                cert_chain=pki.pem(no_sign, r),
            ),
        ],
        {("CE503", "cacerts")},
    )


@scenario
def intermediate_not_a_ca(tmp: Path) -> Scenario:
    r = pki.root()
    middle = pki.intermediate(r, "Middle", ca=False)
    ca = pki.intermediate(middle, "Issuing CA")
    return Scenario(
        [
            _cacerts(
                tmp,
                "ns1",
                ca_cert=ca.pem,
                ca_key=ca.key_pem,
                root_cert=r.pem,
                cert_chain=pki.pem(ca, middle, r),
            )
        ],
        {("CE503", "cacerts")},
    )


@scenario
def plugin_ca_path_length(tmp: Path) -> Scenario:
    r = pki.root(path_length=0)
    ca = pki.intermediate(r)
    return Scenario(
        [
            _cacerts(
                tmp,
                "ns1",
                ca_cert=ca.pem,
                ca_key=ca.key_pem,
                root_cert=r.pem,
                cert_chain=pki.pem(ca, r),
            )
        ],
        {("CE504", "cacerts")},
    )


@scenario
def plugin_ca_mixed_up(tmp: Path) -> Scenario:
    r = pki.root()
    ca = pki.intermediate(r)
    return Scenario(
        [
            _cacerts(
                tmp,
                "ns1",
                ca_cert=ca.pem,
                ca_key=ca.key_pem,
                root_cert=r.pem,
                cert_chain=pki.pem(r, ca),
            )
        ],
        {("CE505", "cacerts"), ("CE203", "cacerts")},
    )


@scenario
def plugin_ca_member_missing(tmp: Path) -> Scenario:
    r = pki.root()
    ca = pki.intermediate(r)
    return Scenario(
        [_cacerts(tmp, "ns1", ca_cert=ca.pem, root_cert=r.pem, cert_chain=pki.pem(ca, r))],
        {("CE506", "cacerts")},
    )


@scenario
def tls_secret_key_mismatch(tmp: Path) -> Scenario:
    r = pki.root()
    server = pki.issue(
        subject=pki.x509.Name([]),
        issuer=r,
        ca=False,
        dns=("shop.example.com",),
        not_after=NOW + 60 * DAY,
    )
    other = pki.new_key()
    wrong = pki.Issued(server.cert, other)
    path = pki.write_yaml(
        tmp / "tls.yaml",
        pki.secret(
            "shop-cert",
            "istio-system",
            {"tls.crt": server.pem, "tls.key": wrong.key_pem},
            "kubernetes.io/tls",
        ),
    )
    return Scenario([str(path)], {("CE501", "shop-cert")})


@scenario
def long_lived_and_wildcard(tmp: Path) -> Scenario:
    r = pki.root()
    long = pki.workload(r, not_before=NOW - DAY, not_after=NOW + 30 * DAY)
    wild = pki.workload(r, "spiffe://cluster.local/ns/web/sa/default", dns=("*.web.svc",))
    return Scenario(
        [_proxy(tmp, "long-1", [long, r], [r]), _proxy(tmp, "wild-1", [wild, r], [r], ns="web")],
        {("CE601", "long-1"), ("CE602", "wild-1")},
    )
