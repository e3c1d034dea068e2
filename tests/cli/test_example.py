"""The bundled example through the real command: the blog's story, stage by stage, and golden
files for the text and JSON output (refresh with MTLS_DOCTOR_UPDATE_GOLDEN=1)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli.run import ROOT, STAGES, mtls_doctor

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
UPDATE = os.environ.get("MTLS_DOCTOR_UPDATE_GOLDEN") == "1"


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text)
    assert path.exists(), f"missing golden file {path}; run with MTLS_DOCTOR_UPDATE_GOLDEN=1"
    assert text == path.read_text()


def _edge(doc: dict, frm: str, to: str) -> dict:  # type: ignore[type-arg]
    (edge,) = [e for e in doc["edges"] if e["from"] == frm and e["to"] == to]
    return edge  # type: ignore[no-any-return]


STORY = {
    1: ("plaintext", "endpoint-not-mtls"),
    2: ("fail", "plaintext-rejected"),
    3: ("fail", "san-mismatch"),
    4: ("mtls", None),
}


@pytest.mark.parametrize("stage", [1, 2, 3, 4])
def test_story_in_json(stage: int) -> None:
    r = mtls_doctor("edges", *STAGES[stage], "-o", "json", "--fail-on", "never")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    edge = _edge(doc, "curl/client", "global-echo:80")
    assert (edge["verdict"], edge["cause"]) == STORY[stage]
    assert {(e["address"], e["workload"], e["cluster"]) for e in edge["endpoints"]} == {
        ("10.4.2.45", "echo/echo", "cluster1"),
        ("10.6.1.212", "echo/echo", "cluster2"),
    }
    direct = _edge(doc, "curl/client", "echo.echo.svc.cluster.local:80")
    assert (direct["verdict"], direct["cause"]) == ("mtls", None)
    _golden(f"example-stage{stage}.json", r.stdout)


def test_stage2_symptom_and_stage3_identities() -> None:
    doc = json.loads(mtls_doctor("edges", *STAGES[2], "-o", "json").stdout)
    sym = _edge(doc, "curl/client", "global-echo:80")["symptom"]
    assert sym["http_status"] == 503 and sym["response_flags"] == "UC"
    assert "upstream connect error" in sym["message"] and "connection termination" in sym["message"]
    doc = json.loads(mtls_doctor("edges", *STAGES[3], "-o", "json").stdout)
    edge = _edge(doc, "curl/client", "global-echo:80")
    text = json.dumps(edge["trace"])
    assert "spiffe://cluster.local/ns/curl/sa/client" in text
    assert "spiffe://cluster.local/ns/echo/sa/default" in text
    assert "subjectAltNames of ServiceEntry curl/global-curl-global-echo" in edge["fix"]
    se = [
        f
        for f in doc["findings"]
        if f["subject"]["kind"] == "ServiceEntry" and f["level"] == "error"
    ]
    assert any(f["code"] == "SE101" for f in se)


@pytest.mark.parametrize("stage", [1, 2, 3, 4])
def test_analyze_text_golden(stage: int) -> None:
    r = mtls_doctor("analyze", *STAGES[stage])
    assert r.returncode == (1 if stage in (2, 3) else 0), r.stderr
    _golden(f"example-stage{stage}.txt", r.stdout)


def test_explain_walks_the_edge() -> None:
    r = mtls_doctor("explain", *STAGES[3], "--from", "curl/client", "--to", "global-echo:80")
    assert r.returncode == 0, r.stderr
    for needle in (
        "client sidecar", "outbound path", "cluster TLS", "endpoint", "server mode",
        "peer identity", "san-mismatch", "SAN matcher", "global-echo.yaml:3",
        "stages/3-serviceaccount.yaml:", "spec.subjectAltNames",
    ):  # fmt: skip
        assert needle in r.stdout, needle
    _golden("example-explain-stage3.txt", r.stdout)


def test_explain_pod_ip_is_passthrough() -> None:
    r = mtls_doctor(
        "explain", *STAGES[2], "--from", "curl/client", "--to", "10.4.2.45:8080", "-o", "json"
    )
    edge = json.loads(r.stdout)["edges"][0]
    assert (edge["verdict"], edge["cause"]) == ("fail", "plaintext-rejected")
    assert any("PassthroughCluster" in s["decision"] for s in edge["trace"])


def test_filters_and_unknown_names() -> None:
    r = mtls_doctor(
        "edges", *STAGES[1], "--from", "curl/client", "-o", "json", "--fail-on", "never"
    )
    doc = json.loads(r.stdout)
    assert {e["from"] for e in doc["edges"]} == {"curl/client"}
    r = mtls_doctor("edges", *STAGES[1], "--from", "nope/nothing")
    assert r.returncode == 2
    assert "nope/nothing" in r.stderr and "Traceback" not in r.stderr


def test_whatif_strict() -> None:
    r = mtls_doctor(
        "whatif", *STAGES[1], "--change", "cluster1=examples/pod-ip-multicluster/stages/2-strict.yaml",
        "--change", "cluster2=examples/pod-ip-multicluster/stages/2-strict.yaml", "-o", "json",
    )  # fmt: skip
    doc = json.loads(r.stdout)
    got = {
        (name, c["to"], c["before"]["verdict"], c["after"]["cause"])
        for c in doc["changes"]
        for name in c["from"]
    }
    assert ("curl/client", "global-echo:80", "plaintext", "plaintext-rejected") in got
    assert doc["edges_changed"] == sum(c["count"] for c in doc["changes"])
    r = mtls_doctor(
        "whatif", *STAGES[1], "--change", "cluster1=examples/pod-ip-multicluster/stages/2-strict.yaml",
        "--change", "cluster2=examples/pod-ip-multicluster/stages/2-strict.yaml",
    )  # fmt: skip
    assert "edges change" in r.stdout and "plaintext-rejected" in r.stdout, r.stdout


def test_discovery_follows_remote_secrets_or_the_flag() -> None:
    def endpoints(*extra: str) -> set[tuple[str, str]]:
        r = mtls_doctor("edges", *STAGES[1], *extra, "--from", "curl/client", "--to",
                        "echo.echo.svc.cluster.local:80", "-o", "json")  # fmt: skip
        (edge,) = json.loads(r.stdout)["edges"]
        return {(e["address"], e["cluster"]) for e in edge["endpoints"]}

    assert endpoints() == {("10.4.2.45", "cluster1")}
    both = {("10.4.2.45", "cluster1"), ("10.6.1.212", "cluster2")}
    assert endpoints("--multicluster-discovery", "cluster1=cluster2") == both
    assert endpoints("cluster1=tests/scenarios/remote-secret/remote-secret.yaml") == both


def test_large_output_switches_to_destinations() -> None:
    r = mtls_doctor("edges", *STAGES[2], "--max-edges", "2", "-o", "json", "--fail-on", "never")
    doc = json.loads(r.stdout)
    assert "edges" not in doc
    dests = {(d["to"], d["cluster"]): d for d in doc["destinations"]}
    g = dests[("global-echo:80", "cluster1")]
    assert g["default"] == {"verdict": "fail", "cause": "plaintext-rejected"}
    assert g["exceptions"] == []
    assert g["counts"] == {"fail": 2}
    r = mtls_doctor("edges", *STAGES[2], "--max-edges", "2", "--fail-on", "never")
    assert "Destinations" in r.stdout and "global-echo:80 (cluster1)" in r.stdout


def test_many_findings_are_counted_before_the_first_ones(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench", ROOT / "scripts" / "bench.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.generate(300, tmp_path / "mesh.json")
    r = mtls_doctor("analyze", str(tmp_path / "mesh.json"), "--fail-on", "never")
    assert r.returncode == 0, r.stderr
    assert "findings by code" in r.stdout
    assert "the first 40" in r.stdout
    shown = sum(1 for line in r.stdout.splitlines() if "  error  " in line or "  warning  " in line)
    assert shown <= 40
