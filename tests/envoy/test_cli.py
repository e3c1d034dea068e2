"""`mtls-doctor envoy` and `mtls-doctor logs`: JSON contracts, text views, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner

from mtls_doctor.cli.cmd_envoy import register

FIX = Path(__file__).resolve().parent.parent / "fixtures"
REAL = (
    FIX / "configdump/realcluster-apache/istio-1.18.2_hotelreservation-geo_sidecar_config_dump.json"
)
SUMMARY_DUMP = FIX / "configdump/istio-head/proxyconfig_config_dump.json"
FRONTEND = "outbound|5000||frontend.hr2.svc.cluster.local"


def run(*args: str) -> tuple[int, str, str]:
    group = click.Group()
    register(group)
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        group, list(args), standalone_mode=False, catch_exceptions=False
    )
    return int(result.return_value or 0), result.stdout, result.stderr


def test_envoy_json_contract() -> None:
    rc, out, _ = run("envoy", str(REAL), "-o", "json")
    doc: dict[str, Any] = json.loads(out)
    assert {"proxy", "clusters", "inbound", "findings"} <= set(doc)
    assert doc["proxy"]["pod"] == "geo-5c54dcd5bd-z5ghf"
    frontend = next(c for c in doc["clusters"] if c["name"] == FRONTEND)
    assert frontend["tls_mode"] == "istio-mtls" and frontend["auto_mtls"] is True
    assert frontend["sans"]["exact"] == ["spiffe://cluster.local/ns/hr2/sa/default"]
    assert frontend["sni"] == "outbound_.5000_._.frontend.hr2.svc.cluster.local"
    assert frontend["alpn"] == ["istio-peer-exchange", "istio"]
    port = next(p for p in doc["inbound"] if p["port"] == 8083)
    assert port["mode"] == "PERMISSIVE"
    for f in doc["findings"]:
        assert set(f) >= {"code", "level", "subject", "message", "fix"}
        assert set(f["subject"]) == {"kind", "namespace", "name"}
    assert "EV102" in {f["code"] for f in doc["findings"]}
    assert [r["name"] for r in doc["rejected"]] == ["virtualInbound"]
    assert rc == 1  # EV102 is an error: Envoy rejected the inbound listener
    assert "private_key" not in out and "BEGIN" not in out


def test_envoy_text_view_names_the_modes() -> None:
    rc, out, _ = run("envoy", str(REAL), "--fail-on", "never")
    assert rc == 0
    assert "Istio mTLS" in out and "PERMISSIVE" in out and "REJECTED" in out
    assert "geo-5c54dcd5bd-z5ghf" in out


def test_diff_of_the_same_cluster_in_two_proxies(tmp_path: Path) -> None:
    """The blog post's manual diff: the broken proxy's cluster lost its SAN matcher."""
    raw = json.loads(REAL.read_bytes())
    clusters = next(c for c in raw["configs"] if c["@type"].endswith("ClustersConfigDump"))
    for entry in clusters["dynamic_active_clusters"]:
        if entry["cluster"]["name"] == FRONTEND:
            tls = entry["cluster"]["transport_socket_matches"][0]["transport_socket"][
                "typed_config"
            ]
            ctx = tls["common_tls_context"]["combined_validation_context"][
                "default_validation_context"
            ]
            ctx["match_subject_alt_names"] = [
                {"exact": "spiffe://cluster.local/ns/hr2/sa/frontend"}
            ]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(raw))
    rc, out, _ = run("envoy", str(REAL), str(broken), "--diff", FRONTEND, FRONTEND, "-o", "json")
    diff = json.loads(out)["diff"]
    assert diff["a_source"].endswith(REAL.name) and diff["b_source"].endswith("broken.json")
    assert [d["field"] for d in diff["differences"]] == ["SAN exact"]
    assert diff["differences"][0]["a"] == "spiffe://cluster.local/ns/hr2/sa/default"
    assert diff["differences"][0]["b"] == "spiffe://cluster.local/ns/hr2/sa/frontend"
    rc, text, _ = run(
        "envoy", str(REAL), str(broken), "--diff", FRONTEND, FRONTEND, "--fail-on", "never"
    )
    assert "SAN exact" in text and rc == 0


def test_diff_of_two_clusters_in_one_dump() -> None:
    kubelet = "outbound|10250||kubelet.kube-system.svc.cluster.local"
    _, out, _ = run("envoy", str(REAL), "--diff", FRONTEND, kubelet, "-o", "json")
    fields = {d["field"]: (d["a"], d["b"]) for d in json.loads(out)["diff"]["differences"]}
    assert fields["tls mode"] == ("istio-mtls", "none")
    assert fields["auto mTLS (tlsMode-istio match)"] == ("yes", "no")


def test_diff_of_unknown_cluster_is_a_usage_error() -> None:
    rc, _, err = run("envoy", str(REAL), "--diff", FRONTEND, "outbound|1||nope")
    assert rc == 2 and "outbound|1||nope" in err


def test_unreadable_input_exit_3(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"configs": [')
    rc, _, err = run("envoy", str(bad), str(tmp_path / "missing.json"))
    assert rc == 3
    assert "bad.json" in err and "missing.json" in err


def test_logs_json_contract_and_exit_code() -> None:
    rc, out, _ = run("logs", str(FIX / "logs/access"), "-o", "json")
    doc = json.loads(out)
    assert set(doc) == {"events", "findings"}
    for e in doc["events"]:
        assert {
            "source",
            "line",
            "cause",
            "response_flags",
            "response_code",
            "details",
            "message",
        } <= set(e)
        assert {"next_step", "upstream_cluster", "upstream_host", "peer"} <= set(e)
    causes = {e["cause"] for e in doc["events"]}
    assert {"untrusted-root", "no-filter-chain", "authz-denied"} <= causes
    assert rc == 1


def test_logs_text_view() -> None:
    rc, out, _ = run("logs", str(FIX / "logs/debug/istio-36957_agent_ca_request_failed_sds.log"))
    assert "ca-unreachable" in out and "LG109" in out and rc == 1


def test_secrets_summary_json_has_istioctl_validity() -> None:
    _, out, _ = run("envoy", str(SUMMARY_DUMP), "-o", "json", "--fail-on", "never")
    secrets = {s["name"]: s for s in json.loads(out)["secrets"]}
    assert secrets["ROOTCA"]["serial"] == "0193a543fe2b0d9cd4847675394dfc54"
    assert secrets["default"]["valid_now"] is False


def test_bug_report_archive_as_input(tmp_path: Path) -> None:
    import io
    import tarfile

    archive = tmp_path / "bug-report.tar.gz"
    members = {
        "bug-report/proxies/hr2/geo-5c54dcd5bd-z5ghf/config_dump?include_eds": REAL.read_bytes(),
        "bug-report/proxies/hr2/geo-5c54dcd5bd-z5ghf/istio-proxy.log": (
            FIX / "logs/access/istio-40944_403_rbac_access_denied_bad_CUSTOM_action.log"
        ).read_bytes(),
    }
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    _, out, _ = run("envoy", str(archive), "-o", "json", "--fail-on", "never")
    doc = json.loads(out)
    assert doc["proxy"]["pod"] == "geo-5c54dcd5bd-z5ghf"
    assert doc["proxy"]["source"].endswith(
        "!bug-report/proxies/hr2/geo-5c54dcd5bd-z5ghf/config_dump?include_eds"
    )
    _, out, _ = run("logs", str(archive), "-o", "json", "--fail-on", "never")
    (event,) = json.loads(out)["events"]
    assert event["cause"] == "authz-denied" and event["source"].endswith("istio-proxy.log")


def test_envoy_all_lists_endpoints() -> None:
    _, out, _ = run("envoy", str(REAL), "--all", "--fail-on", "never")
    assert "172.16.188.33:5000" in out  # frontend's endpoint, tlsMode istio


def test_text_views_keep_bracketed_names() -> None:
    """Istio's policy names (`ns[NS]-policy[NAME]-rule[N]`) are data, not rich markup."""
    _, out, _ = run(
        "envoy", str(FIX / "configdump/envoy-lab/config_dump.json"), "--fail-on", "never"
    )
    assert "ns[labns]-policy[deny-curl]-rule[0]" in out
    log = FIX / "logs/lab/envoy-1.40-lab-lines.log"
    _, out, _ = run("logs", str(log), "--fail-on", "never")
    assert "ns[echo]-policy[deny-curl]-rule[0]" in out
