"""Secrets and ConfigMaps inside `kubectl get -o yaml/json` dumps, mesh trust domains, and the
TrustView the edge engine joins with."""

from __future__ import annotations

import json
from pathlib import Path

import tests.certs.pki_factory as pki
from mtls_doctor.certs import (
    CERT_SUFFIXES,
    CertInventory,
    CheckPolicy,
    accepts,
    check_certificates,
    inventory_from_objects,
    read_certificates,
    trust_view,
)
from mtls_doctor.certs.check_identity import mismatch_finding
from mtls_doctor.checks.finding import Subject
from mtls_doctor.sources.documents import read_file
from mtls_doctor.sources.paths import expand
from tests.certs.pki_factory import DAY, HOUR, NOW


def inventory(*args: str) -> CertInventory:
    files, problems = expand(list(args), CERT_SUFFIXES)
    assert problems == []
    return read_certificates(files)


def _cluster_dump(tmp: Path, name: str, r: pki.Issued, td: str, *, as_json: bool) -> Path:
    ca = pki.intermediate(r, f"{name} CA")
    items = [
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
        pki.configmap("istio-ca-root-cert", "shop", {"root-cert.pem": r.pem}),
        pki.configmap("istio-ca-root-cert", "cart", {"root-cert.pem": r.pem}),
        pki.mesh_configmap(td),
        pki.configmap("unrelated", "shop", {"a": "b"}),
    ]
    doc = {"apiVersion": "v1", "kind": "List", "items": items}
    path = tmp / (f"{name}.json" if as_json else f"{name}.yaml")
    path.write_text(json.dumps(doc, indent=4) if as_json else pki.dump_yaml(doc))
    return path


def test_list_dumps_of_two_clusters_sharing_a_root(tmp_path: Path) -> None:
    r = pki.root("Shared Root")
    east = _cluster_dump(tmp_path, "east", r, "east.example", as_json=False)
    west = _cluster_dump(tmp_path, "west", r, "west.example", as_json=True)
    inv = inventory(f"east={east}", f"west={west}")
    kinds = {(b.cluster, b.kind, b.subject.namespace, b.subject.name) for b in inv.bundles}
    assert kinds == {
        (c, k, ns, n)
        for c in ("east", "west")
        for k, ns, n in (
            ("cacerts", "istio-system", "cacerts"),
            ("root-configmap", "shop", "istio-ca-root-cert"),
            ("root-configmap", "cart", "istio-ca-root-cert"),
        )
    }
    assert inv.mesh["east"].trust_domain == "east.example"
    assert inv.mesh["west"].trust_domain == "west.example"
    sources = {c.source for c in inv.certificates}
    assert f"{east}#secret/istio-system/cacerts:cert-chain.pem[1]" in sources
    assert f"{east}#configmap/shop/istio-ca-root-cert:root-cert.pem" in sources
    assert check_certificates(inv, CheckPolicy.at(NOW)).findings == ()
    view = trust_view(inv)
    assert view.clusters["east"].roots == view.clusters["west"].roots == {r.fingerprint}


def test_one_cluster_with_its_own_root_is_reported_by_cluster(tmp_path: Path) -> None:
    east = _cluster_dump(tmp_path, "east", pki.root("East Root"), "mesh.example", as_json=False)
    west = _cluster_dump(tmp_path, "west", pki.root("West Root"), "mesh.example", as_json=False)
    inv = inventory(f"east={east}", f"west={west}")
    rep = check_certificates(inv, CheckPolicy.at(NOW))
    assert {(f.code, f.cluster, str(f.subject)) for f in rep.findings} == {
        ("CE301", "west", "Secret/istio-system/cacerts"),
        ("CE301", "west", "ConfigMap/shop/istio-ca-root-cert"),
        ("CE301", "west", "ConfigMap/cart/istio-ca-root-cert"),
    }
    view = trust_view(inv)
    assert not view.clusters["east"].roots & view.clusters["west"].roots


def test_istio_ca_secret_and_tls_secret_with_ca(tmp_path: Path) -> None:
    r = pki.root("cluster.local", org=None)
    gw_ca = pki.root("Gateway CA")
    server = pki.issue(
        subject=pki.x509.Name([]),
        issuer=gw_ca,
        ca=False,
        dns=("a.example",),
        not_after=NOW + 90 * DAY,
    )
    path = pki.write_yaml(
        tmp_path / "s.yaml",
        pki.secret(
            "istio-ca-secret", "istio-system", {"ca-cert.pem": r.pem, "ca-key.pem": r.key_pem}
        ),
        pki.secret(
            "gw",
            "istio-system",
            {"tls.crt": server.pem, "tls.key": server.key_pem, "ca.crt": gw_ca.pem},
            "kubernetes.io/tls",
        ),
    )
    inv = inventory(str(path))
    assert {b.kind for b in inv.bundles} == {"istio-ca-secret", "tls"}
    assert check_certificates(inv, CheckPolicy.at(NOW)).findings == ()
    # the gateway's own CA is not a mesh root: only istiod's root is in the cluster's roots
    assert trust_view(inv).clusters["default"].roots == {r.fingerprint}


def test_objects_already_read_give_the_same_inventory(tmp_path: Path) -> None:
    r = pki.root()
    path = _cluster_dump(tmp_path, "east", r, "east.example", as_json=False)
    files, _ = expand([str(path)], CERT_SUFFIXES)
    objects = read_file(files[0]).objects
    from_objects = inventory_from_objects(objects)
    from_files = read_certificates(files)
    assert [c.source for c in from_objects.certificates] == [
        c.source for c in from_files.certificates
    ]
    assert from_objects.mesh == from_files.mesh


def test_bad_secret_data_is_a_problem_naming_file_and_line(tmp_path: Path) -> None:
    r = pki.root()
    good = pki.configmap("istio-ca-root-cert", "a", {"root-cert.pem": r.pem})
    broken = pki.configmap(
        "istio-ca-root-cert",
        "b",
        {"root-cert.pem": r.pem[:200] + "!!\n" + "-----END CERTIFICATE-----\n"},
    )
    path = pki.write_yaml(tmp_path / "cms.yaml", good, broken)
    inv = inventory(str(path))
    (problem,) = inv.problems
    assert problem.origin.file == str(path)
    assert problem.origin.line is not None and problem.origin.line > 1
    assert "ConfigMap b/istio-ca-root-cert" in problem.message
    assert [c.source for c in inv.certificates] == [
        f"{path}#configmap/a/istio-ca-root-cert:root-cert.pem"
    ]


def test_trust_view_per_workload_and_accepts(tmp_path: Path) -> None:
    good, stale = pki.root("Mesh Root"), pki.root("Stale Root")
    a = pki.workload(good, "spiffe://cluster.local/ns/shop/sa/web")
    b = pki.workload(
        stale, "spiffe://cluster.local/ns/cart/sa/api", not_before=NOW - DAY, not_after=NOW - HOUR
    )
    pa = pki.write_json(
        tmp_path / "a.json",
        pki.sds_dump([a, good], [good], pod="web-1", namespace="shop", service_account="web"),
    )
    pb = pki.write_json(
        tmp_path / "b.json",
        pki.sds_dump([b, stale], [stale], pod="api-1", namespace="cart", service_account="api"),
    )
    view = trust_view(inventory(str(pa), str(pb)))
    web = view.workload("default", "shop", "web-1")
    api = view.workload("default", "cart", "api-1")
    assert web is not None and api is not None
    assert web.spiffe_id == "spiffe://cluster.local/ns/shop/sa/web"
    assert web.chain_root == good.fingerprint
    assert api.chain_root == stale.fingerprint
    # web -> api: api's proxy does not accept web's chain, nor web api's
    assert accepts(view.roots_for("default", "cart", "api-1"), web.chain_root) is False
    assert accepts(view.roots_for("default", "shop", "web-1"), web.chain_root) is True
    assert accepts(None, web.chain_root) is None
    assert api.expired_at(NOW) and not web.expired_at(NOW)
    assert view.by_spiffe_id("spiffe://cluster.local/ns/cart/sa/api") == (api,)
    assert view.clusters["default"].roots == {good.fingerprint, stale.fingerprint}


def test_mismatch_finding_for_the_manifest_join(tmp_path: Path) -> None:
    r = pki.root()
    leaf = pki.workload(r, "spiffe://cluster.local/ns/shop/sa/default")
    path = pki.write_json(tmp_path / "p.json", pki.sds_dump([leaf, r], [r]))
    inv = inventory(str(path))
    cert = next(iter(inv.certificates))
    f = mismatch_finding(
        Subject("Pod", "shop", "cart-1"),
        cert,
        expected="spiffe://cluster.local/ns/shop/sa/cart",
        who="pod shop/cart-1",
        basis="its Deployment's serviceAccountName",
    )
    assert (f.code, f.level, str(f.subject)) == ("CE404", "error", "Pod/shop/cart-1")
    assert "spiffe://cluster.local/ns/shop/sa/default" in f.message
    assert "spiffe://cluster.local/ns/shop/sa/cart" in f.message
