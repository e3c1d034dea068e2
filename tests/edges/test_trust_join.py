"""Certificates given with manifests change edges: roots that differ between clusters give
untrusted-root, an expired presented certificate gives cert-expired (real X.509 from
`cryptography`, read by the real readers)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from mtls_doctor.analysis import analyze
from mtls_doctor.model.load import load_mesh
from tests.certs import pki_factory as pki

EXAMPLE = Path(__file__).resolve().parent.parent.parent / "examples" / "pod-ip-multicluster"
STAGE4 = [
    f"cluster1={EXAMPLE / 'cluster1'}",
    f"cluster2={EXAMPLE / 'cluster2'}",
    f"cluster1={EXAMPLE / 'stages' / '2-strict.yaml'}",
    f"cluster2={EXAMPLE / 'stages' / '2-strict.yaml'}",
    f"cluster1={EXAMPLE / 'stages' / '3-serviceaccount.yaml'}",
    f"cluster1={EXAMPLE / 'stages' / '4-subjectaltnames.yaml'}",
]


def _cacerts(path: Path, root: pki.Issued) -> None:
    ca = pki.intermediate(root, cn="istiod")
    pki.write_yaml(
        path,
        pki.secret(
            "cacerts", "istio-system",
            {"ca-cert.pem": ca.pem, "ca-key.pem": ca.key_pem, "root-cert.pem": root.pem,
             "cert-chain.pem": ca.pem + root.pem},
        ),
    )  # fmt: skip


def _pod_secrets(folder: Path, leaf: pki.Issued, root: pki.Issued, pod: str) -> None:
    """What `istioctl proxy-config secret POD -o json` shows for an echo pod, in `folder`."""
    dump = pki.sds_dump([leaf], [root], pod=pod, namespace="echo")
    (folder / "echo-secrets.json").write_text(json.dumps(dump))


def _global_echo(args: list[str]) -> dict[str, tuple[str, str | None]]:
    a = analyze(load_mesh(args), now=pki.NOW)
    (edge,) = [
        e for r in a.results for e in r.edges(a.engine)
        if e.from_ == "curl/client" and e.to == "global-echo:80"
    ]  # fmt: skip
    return {ep.address or "": (ep.verdict, ep.cause) for ep in edge.outcome.endpoints}


def test_shared_root_keeps_mtls(tmp_path: Path) -> None:
    root = pki.root()
    _cacerts(tmp_path / "c1" / "cacerts.yaml", root)
    _cacerts(tmp_path / "c2" / "cacerts.yaml", root)
    got = _global_echo([*STAGE4, f"cluster1={tmp_path / 'c1'}", f"cluster2={tmp_path / 'c2'}"])
    assert got == {"10.4.2.45": ("mtls", None), "10.6.1.212": ("mtls", None)}


def test_different_roots_break_the_cross_cluster_endpoint(tmp_path: Path) -> None:
    _cacerts(tmp_path / "c1" / "cacerts.yaml", pki.root(cn="cluster1 root"))
    _cacerts(tmp_path / "c2" / "cacerts.yaml", pki.root(cn="cluster2 root"))
    got = _global_echo([*STAGE4, f"cluster1={tmp_path / 'c1'}", f"cluster2={tmp_path / 'c2'}"])
    assert got == {"10.4.2.45": ("mtls", None), "10.6.1.212": ("fail", "untrusted-root")}


def test_expired_server_certificate_from_a_secret_dump(tmp_path: Path) -> None:
    root = pki.root()
    _cacerts(tmp_path / "c1" / "cacerts.yaml", root)
    _cacerts(tmp_path / "c2" / "cacerts.yaml", root)
    leaf = pki.workload(
        root, "spiffe://cluster.local/ns/echo/sa/default",
        not_before=pki.NOW - timedelta(days=2), not_after=pki.NOW - timedelta(hours=1),
    )  # fmt: skip
    _pod_secrets(tmp_path / "c2", leaf, root, "echo-5f7d9c8b4-q8w2m")
    got = _global_echo([*STAGE4, f"cluster1={tmp_path / 'c1'}", f"cluster2={tmp_path / 'c2'}"])
    assert got == {"10.4.2.45": ("mtls", None), "10.6.1.212": ("fail", "cert-expired")}


@pytest.mark.parametrize("stage_args", [STAGE4])
def test_no_certificates_means_one_root(stage_args: list[str]) -> None:
    got = _global_echo(stage_args)
    assert got == {"10.4.2.45": ("mtls", None), "10.6.1.212": ("mtls", None)}


def test_pod_certificate_with_another_identity_is_a_finding(tmp_path: Path) -> None:
    root = pki.root()
    _cacerts(tmp_path / "c2" / "cacerts.yaml", root)
    leaf = pki.workload(root, "spiffe://cluster.local/ns/echo/sa/not-default")
    _pod_secrets(tmp_path / "c2", leaf, root, "echo-5f7d9c8b4-q8w2m")
    a = analyze(load_mesh([*STAGE4, f"cluster2={tmp_path / 'c2'}"]), now=pki.NOW)
    hits = [f for f in a.findings if f.code == "CE404" and f.subject.name == "echo-5f7d9c8b4-q8w2m"]
    assert len(hits) == 1
    assert "spiffe://cluster.local/ns/echo/sa/default" in hits[0].message
    assert "not-default" in hits[0].message


@pytest.mark.lab
@pytest.mark.parametrize("variant", ["roots-differ", "server-cert-expired"])
def test_lab_replays_the_certificate_failures(tmp_path: Path, variant: str, envoy: str) -> None:
    """The lab makes a second root / an expired certificate where the inputs say so, and real
    Envoy fails the way the engine predicts."""
    from mtls_doctor.edges.lab_case import lab_cases
    from mtls_doctor.lab.result import run_case as replay

    root = pki.root()
    _cacerts(tmp_path / "c1" / "cacerts.yaml", root)
    _cacerts(
        tmp_path / "c2" / "cacerts.yaml",
        pki.root(cn="other") if variant == "roots-differ" else root,
    )
    if variant == "server-cert-expired":
        leaf = pki.workload(
            root, "spiffe://cluster.local/ns/echo/sa/default",
            not_before=pki.NOW - timedelta(days=2), not_after=pki.NOW - timedelta(hours=1),
        )  # fmt: skip
        _pod_secrets(tmp_path / "c2", leaf, root, "echo-5f7d9c8b4-q8w2m")
    a = analyze(
        load_mesh([*STAGE4, f"cluster1={tmp_path / 'c1'}", f"cluster2={tmp_path / 'c2'}"]),
        now=pki.NOW,
    )
    client = next(c for c in a.engine.clients("cluster1") if c.name == "curl/client")
    target = a.engine.resolve(client, "global-echo:80")
    assert not isinstance(target, str)
    cases, _ = lab_cases(a.engine, client, target)
    want = "untrusted-root" if variant == "roots-differ" else "cert-expired"
    assert {c.predicted.cause for c in cases} == {None, want}
    for case in cases:
        r = replay(case)
        assert r.agrees, (case.predicted, r.outcome, r.observation)


def test_the_identity_a_secret_dump_shows_is_the_one_checked(tmp_path: Path) -> None:
    root = pki.root()
    _cacerts(tmp_path / "c1" / "cacerts.yaml", root)
    leaf = pki.workload(root, "spiffe://cluster.local/ns/echo/sa/not-default")
    _pod_secrets(tmp_path / "c1", leaf, root, "echo-7b9c5d8f6d-x2k4p")
    a = analyze(load_mesh([*STAGE4, f"cluster1={tmp_path / 'c1'}"]), now=pki.NOW)
    (edge,) = [
        e for r in a.results for e in r.edges(a.engine)
        if e.from_ == "curl/client" and e.to == "echo.echo.svc.cluster.local:80"
    ]  # fmt: skip
    (ep,) = edge.outcome.endpoints
    assert (ep.verdict, ep.cause) == ("fail", "san-mismatch")
    assert ep.presented == "spiffe://cluster.local/ns/echo/sa/not-default"
    assert ep.expected == ("spiffe://cluster.local/ns/echo/sa/default",)
