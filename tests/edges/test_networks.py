"""Multi-network meshes (istio-semantics.md §9.2): remote endpoints a sidecar would reach in
plaintext are left out of its endpoints; mTLS ones stay (through the east-west gateway)."""

from __future__ import annotations

from pathlib import Path

from mtls_doctor.edges.engine import EdgeEngine
from mtls_doctor.model.load import load_mesh

HERE = Path(__file__).resolve().parent.parent / "scenarios" / "multi-network"


def _edge(*extra: str):  # type: ignore[no-untyped-def]
    args = [f"cluster1={HERE / 'cluster1.yaml'}", f"cluster2={HERE / 'cluster2.yaml'}", *extra]
    engine = EdgeEngine.with_policies(load_mesh(args).mesh)
    client = next(c for c in engine.clients("cluster1") if c.name == "a/sleep")
    target = engine.resolve(client, "echo.b.svc.cluster.local:80")
    assert not isinstance(target, str)
    return engine.target_edge(client, target)


def test_remote_plaintext_endpoint_is_left_out() -> None:
    edge = _edge()
    assert [(e.address, e.cluster, e.verdict) for e in edge.outcome.endpoints] == [
        ("10.1.0.10", "cluster1", "mtls")
    ]
    assert any(s.step == "network" and "10.2.0.10" in s.decision for s in edge.outcome.trace)


def test_remote_endpoint_with_a_sidecar_stays(tmp_path: Path) -> None:
    injected = (
        (HERE / "cluster2.yaml")
        .read_text()
        .replace(
            "labels: {app: echo, pod-template-hash: 7d8e}",
            "labels: {app: echo, pod-template-hash: 7d8e, security.istio.io/tlsMode: istio}\n"
            "  annotations: {sidecar.istio.io/status: '{}'}",
        )
    )
    (tmp_path / "c2.yaml").write_text(injected)
    edge = _edge(f"cluster2={tmp_path / 'c2.yaml'}")
    got = {(e.address, e.cluster, e.verdict) for e in edge.outcome.endpoints}
    assert got == {("10.1.0.10", "cluster1", "mtls"), ("10.2.0.10", "cluster2", "mtls")}
