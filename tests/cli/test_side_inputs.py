"""`analyze` with what the proxies have and say: an istioctl bug-report archive (resources, a
proxy's config dump, its log) and separate `--envoy` / `--logs` inputs, tied to the edges."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from tests.cli.run import ROOT, STAGES, mtls_doctor

EXAMPLE = ROOT / "examples" / "pod-ip-multicluster"
GEO = (
    ROOT
    / "tests/fixtures/configdump/realcluster-apache/istio-1.18.2_hotelreservation-geo_sidecar_config_dump.json"
)
# An access line of the client sidecar in stage 3 (Istio's default TEXT format): the SAN check
# of global-echo's endpoint failed.
SAN_LINE = (
    '[2026-11-20T10:12:01.123Z] "GET / HTTP/1.1" 503 UF,URX upstream_reset_before_response_started'
    "{remote_connection_failure|TLS_error:|268435581:SSL_routines:OPENSSL_internal:"
    "CERTIFICATE_VERIFY_FAILED:verify_cert_failed:_SAN_matcher:TLS_error_end} - "
    '"TLS_error:|268435581:SSL_routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:'
    'verify_cert_failed:_SAN_matcher:TLS_error_end" 0 91 12 - "-" "curl/8.5.0" '
    '"6d9f1c2e-1111-2222-3333-444455556666" "global-echo" "10.4.2.45:8080" '
    "outbound|80||global-echo - 10.4.2.45:8080 10.4.2.55:41234 - default\n"
)


def _archive(path: Path) -> Path:
    members = {
        "bug-report/cluster/k8s-resources": "".join(
            (EXAMPLE / "cluster1" / f).read_text() + "\n---\n"
            for f in ("namespaces.yaml", "workloads.yaml", "global-echo.yaml")
        )
        + (EXAMPLE / "stages" / "2-strict.yaml").read_text()
        + "\n---\n"
        + (EXAMPLE / "stages" / "3-serviceaccount.yaml").read_text(),
        "bug-report/proxies/curl/client-f4cd469d6-wnsrx/istio-proxy.log": SAN_LINE,
        "bug-report/proxies/hr2/geo-5c54dcd5bd-z5ghf/config_dump?include_eds": GEO.read_text(),
    }
    with tarfile.open(path, "w:gz") as tar:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_bug_report_archive_in_one_go(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "bug-report.tar.gz")
    r = mtls_doctor("analyze", str(archive), "-o", "json", "--fail-on", "never")
    assert "Traceback" not in r.stderr
    doc = json.loads(r.stdout)
    (edge,) = [
        e for e in doc["edges"] if e["from"] == "curl/client" and e["to"] == "global-echo:80"
    ]
    # only cluster1 is in the archive: the cluster2 address is taken at its registry identity
    assert (edge["verdict"], edge["cause"]) == ("mixed", "san-mismatch")
    per = {e["address"]: (e["verdict"], e["cause"]) for e in edge["endpoints"]}
    assert per == {"10.4.2.45": ("fail", "san-mismatch"), "10.6.1.212": ("mtls", None)}
    (event,) = [e for e in doc["log_events"] if e["destination"] == "global-echo:80"]
    assert event["cause"] == "san-mismatch" and event["response_flags"] == "UF,URX"
    assert {(x["verdict"], x["cause"]) for x in event["edges"]} == {("mixed", "san-mismatch")}
    assert sum(x["clients"] for x in event["edges"]) == 2  # curl/client and echo/echo
    codes = {f["code"] for f in doc["findings"]}
    assert "EV102" in codes  # the real geo dump: Envoy rejected virtualInbound
    assert "SE101" in codes
    text = mtls_doctor("analyze", str(archive), "--fail-on", "never").stdout
    assert "Log events" in text and "global-echo:80" in text


def test_truncated_archive_still_analysed(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "bug-report.tar.gz")
    data = archive.read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    r = mtls_doctor("analyze", str(cut), *STAGES[1], "-o", "json", "--fail-on", "never")
    assert "Traceback" not in r.stderr
    doc = json.loads(r.stdout)
    assert any("cut.tar.gz" in p["file"] for p in doc["problems"])
    assert any(e["to"] == "global-echo:80" for e in doc["edges"])


def test_envoy_dump_compared_with_the_prediction(tmp_path: Path) -> None:
    # The geo dump belongs to hr2/geo; with manifests for that pod, its proxy is compared with
    # what the semantics predict for it.
    manifests = tmp_path / "hr2.yaml"
    manifests.write_text(
        """apiVersion: v1
kind: Namespace
metadata: {name: hr2, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Pod
metadata:
  name: geo-5c54dcd5bd-z5ghf
  namespace: hr2
  labels: {app: geo, security.istio.io/tlsMode: istio, pod-template-hash: 5c54dcd5bd}
  annotations: {sidecar.istio.io/status: '{"containers":["istio-proxy"]}'}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: geo-5c54dcd5bd, controller: true}]
spec:
  containers: [{name: geo, ports: [{containerPort: 8083}]}, {name: istio-proxy}]
status: {phase: Running, podIP: 10.244.1.9}
---
apiVersion: v1
kind: Service
metadata: {name: geo, namespace: hr2}
spec:
  selector: {app: geo}
  ports: [{name: grpc, port: 8083, targetPort: 8083}]
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
"""
    )
    r = mtls_doctor(
        "analyze", str(manifests), "--envoy", f"hr2/geo-5c54dcd5bd-z5ghf={GEO}", "-o", "json",
        "--fail-on", "never",
    )  # fmt: skip
    doc = json.loads(r.stdout)
    ev = [f for f in doc["findings"] if f["code"].startswith("EV2")]
    assert ev, [f["code"] for f in doc["findings"]]
    assert all(f["subject"]["name"].startswith("geo-5c54dcd5bd-z5ghf") for f in ev)
