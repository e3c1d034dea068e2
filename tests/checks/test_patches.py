"""The patches findings carry: applied as the merge patches they are to the original objects,
written to a file, and loaded after the original inputs (as `kubectl apply` would replace the
object), the edges they are about become mTLS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mtls_doctor.analysis import Analysis, analyze
from mtls_doctor.checks.finding import Finding
from mtls_doctor.model.load import load_mesh
from tests.cli.run import ROOT, STAGES

FIXTURES = ROOT / "tests" / "fixtures" / "mesh"


def _run(args: list[str]) -> Analysis:
    return analyze(load_mesh(_abs(args)))


def _abs(args: list[str]) -> list[str]:
    out = []
    for a in args:
        name, sep, path = a.partition("=")
        out.append(f"{name}={ROOT / path}" if sep else str(ROOT / a))
    return out


def _merge(base: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (what `kubectl patch --type merge` does)."""
    if not isinstance(patch, dict):
        return patch
    out = dict(base) if isinstance(base, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge(out.get(k), v)
    return out


def _originals(args: list[str]) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    """(cluster, kind, namespace, name) -> the last document of that object in the inputs."""
    found: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for a in _abs(args):
        cluster, sep, path = a.partition("=")
        if not sep:
            cluster, path = "default", a
        p = Path(path)
        for f in sorted(p.rglob("*.yaml")) if p.is_dir() else [p]:
            for doc in yaml.safe_load_all(f.read_text()):
                if doc and "metadata" in doc:
                    m = doc["metadata"]
                    found[(cluster, doc["kind"], m.get("namespace", "default"), m["name"])] = doc
    return found


def _apply(args: list[str], f: Finding, tmp: Path) -> list[str]:
    """The inputs plus a file with the patched objects, in the finding's cluster."""
    assert f.patch is not None
    cluster = f.cluster or "default"
    originals = _originals(args)
    docs = []
    for patch in yaml.safe_load_all(f.patch):
        m = patch["metadata"]
        key = (cluster, patch["kind"], m["namespace"], m["name"])
        docs.append(_merge(originals[key], patch))
    out = tmp / f"patched-{f.code}-{f.subject.name}.yaml"
    out.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    named = [f"{cluster}={out}"] if any("=" in a for a in args) else [str(out)]
    return [*_abs(args), *named]


def _edge_verdicts(a: Analysis, frm: str, to: str) -> set[str]:
    return {e.outcome.verdict for r in a.results for e in r.edges(a.engine)
            if e.from_ == frm and e.to == to}  # fmt: skip


@pytest.mark.parametrize(
    ("args", "code", "edge", "before"),
    [
        (STAGES[3], "SE101", ("curl/client", "global-echo:80"), "fail"),
        (STAGES[1], "SE102", ("curl/client", "global-echo:80"), "plaintext"),
        (STAGES[2], "SE102", ("curl/client", "global-echo:80"), "fail"),
        (
            ["tests/fixtures/mesh/checks-se.yaml"],
            "SE101",
            ("curl/client", "echo-a.global:80"),
            "fail",
        ),
    ],
    ids=["stage3-san", "stage1-account", "stage2-account", "checks-se-san"],
)
def test_patch_fixes_the_edge(
    args: list[str], code: str, edge: tuple[str, str], before: str, tmp_path: Path
) -> None:
    a = _run(args)
    assert _edge_verdicts(a, *edge) == {before}
    patched = [f for f in a.findings if f.code == code and f.patch]
    assert patched, f"no {code} finding with a patch: {[(f.code, f.patch) for f in a.findings]}"
    for f in patched:
        b = analyze(load_mesh(_apply(args, f, tmp_path)))
        assert not [p for p in b.load.problems if p.level == "error"]
        verdicts = {
            ep.verdict
            for r in b.results
            for e in r.edges(b.engine)
            if (e.from_, e.to) == edge
            for ep in e.outcome.endpoints
            if code != "SE102" or (ep.source and ep.source.name == f.subject.name)
        }
        assert verdicts == {"mtls"}, f"{f.subject}: after the patch {verdicts}"


def test_stage3_patch_names_the_presented_identity() -> None:
    a = _run(STAGES[3])
    (f,) = [f for f in a.findings if f.code == "SE101"]
    assert f.level == "error"
    assert f.patch is not None
    doc = yaml.safe_load(f.patch)
    assert (doc["kind"], doc["metadata"]["namespace"], doc["metadata"]["name"]) == (
        "ServiceEntry",
        "curl",
        "global-curl-global-echo",
    )
    assert doc["spec"] == {"subjectAltNames": ["spiffe://cluster.local/ns/echo/sa/default"]}


NO_POD = """
apiVersion: v1
kind: Namespace
metadata: {name: curl, labels: {istio-injection: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: client, namespace: curl}
spec:
  template:
    metadata: {labels: {app: client}}
    spec: {containers: [{name: curl, image: curl}]}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: vm, namespace: curl}
spec:
  hosts: [vm.example.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{name: http, number: 80, protocol: HTTP}]
  workloadSelector: {labels: {app: vm}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-1, namespace: curl, labels: {app: vm}}
spec: {address: 192.0.2.9, labels: {app: vm}}
"""


def test_no_patch_without_a_verified_fix(tmp_path: Path) -> None:
    """A WorkloadEntry whose address belongs to no known pod: no account to propose, no patch."""
    path = tmp_path / "vm.yaml"
    path.write_text(NO_POD)
    a = analyze(load_mesh([str(path)]))
    (f,) = [f for f in a.findings if f.code == "SE102"]
    assert str(f.subject) == "WorkloadEntry/curl/vm-1"
    assert f.patch is None
