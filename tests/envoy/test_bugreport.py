"""`istioctl bug-report` archives, built here from fixture files in istioctl's layout."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from mtls_doctor.envoy.bugreport import open_archive
from mtls_doctor.envoy.configdump import read_dump
from mtls_doctor.envoy.logs import read_log

FIX = Path(__file__).resolve().parent.parent / "fixtures"
REAL = (
    FIX / "configdump/realcluster-apache/istio-1.18.2_hotelreservation-geo_sidecar_config_dump.json"
)
PROXY_LOG = FIX / "logs/access/istio-28493_503_UF_URX_TLSV1_ALERT_UNKNOWN_CA_ingressgateway.log"
AGENT_LOG = FIX / "logs/debug/istio-36957_agent_ca_request_failed_sds.log"

# What `kubectl get ... -o yaml` writes into cluster/k8s-resources (a List) and cluster/crs.
K8S_RESOURCES = """apiVersion: v1
items:
- apiVersion: v1
  kind: Pod
  metadata:
    name: geo-5c54dcd5bd-z5ghf
    namespace: hr2
    labels:
      app: geo
  spec:
    serviceAccountName: default
- apiVersion: v1
  kind: Service
  metadata:
    name: geo
    namespace: hr2
  spec:
    ports:
    - port: 8083
kind: List
metadata:
  resourceVersion: ""
"""
CRS = """apiVersion: v1
items:
- apiVersion: security.istio.io/v1
  kind: PeerAuthentication
  metadata:
    name: default
    namespace: istio-system
  spec:
    mtls:
      mode: STRICT
kind: List
metadata:
  resourceVersion: ""
"""
SECRETS_TABLE = """NAMESPACE      NAME              TYPE                DATA   AGE
istio-system   istio-ca-secret   istio.io/ca-root    5      365d
"""


def layout() -> dict[str, bytes]:
    """Members as istioctl writes them: bug-report/<cluster|proxies|istio>/..."""
    return {
        "bug-report/versions": b"CLI version:\n1.18.2\n",
        "bug-report/cluster/k8s-resources": K8S_RESOURCES.encode(),
        "bug-report/cluster/crs": CRS.encode(),
        "bug-report/cluster/secrets": SECRETS_TABLE.encode(),
        "bug-report/cluster/events": b"LAST SEEN   TYPE   REASON\n",
        "bug-report/proxies/hr2/geo-5c54dcd5bd-z5ghf/config_dump?include_eds": REAL.read_bytes(),
        "bug-report/proxies/hr2/geo-5c54dcd5bd-z5ghf/istio-proxy.log": PROXY_LOG.read_bytes(),
        "bug-report/proxies/hr2/geo-5c54dcd5bd-z5ghf/certs": b'{"certificates": []}\n',
        "bug-report/istio/istio-system/istiod-6d8f/discovery.log": AGENT_LOG.read_bytes(),
        "bug-report/istio/istio-system/istiod-6d8f/debug/configz": b"[]\n",
    }


def build(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_reads_every_part(tmp_path: Path) -> None:
    report = open_archive(str(build(tmp_path / "bug-report.tar.gz", layout())))
    assert report.problems == ()
    assert {m.name for m in report.resources} == {
        "bug-report/cluster/k8s-resources",
        "bug-report/cluster/crs",
    }
    assert "PeerAuthentication" in next(m.text for m in report.resources if m.name.endswith("crs"))
    assert report.secrets is not None and "istio-ca-secret" in report.secrets.text
    (dump,) = report.config_dumps
    assert (dump.namespace, dump.pod) == ("hr2", "geo-5c54dcd5bd-z5ghf")
    assert read_dump(dump.data, dump.member).proxy.pod == dump.pod
    kinds = {(log.kind, log.namespace, log.pod) for log in report.logs}
    assert kinds == {
        ("proxy", "hr2", "geo-5c54dcd5bd-z5ghf"),
        ("istiod", "istio-system", "istiod-6d8f"),
    }
    proxy_log = next(log for log in report.logs if log.kind == "proxy")
    assert [e.cause for e in read_log(proxy_log.text, proxy_log.member)] == ["untrusted-root"]
    assert [m.name for m in report.proxy_certs] == [
        "bug-report/proxies/hr2/geo-5c54dcd5bd-z5ghf/certs"
    ]
    assert [m.name for m in report.istiod_debug] == [
        "bug-report/istio/istio-system/istiod-6d8f/debug/configz"
    ]
    assert report.versions is not None and "1.18.2" in report.versions
    origin = report.member_origin(dump.member, 3)
    assert str(origin).endswith(
        "bug-report.tar.gz!bug-report/proxies/hr2/geo-5c54dcd5bd-z5ghf/config_dump?include_eds:3"
    )


def test_archive_without_top_directory_and_old_dump_name(tmp_path: Path) -> None:
    members = {
        k.removeprefix("bug-report/").replace("config_dump?include_eds", "config_dump"): v
        for k, v in layout().items()
    }
    report = open_archive(str(build(tmp_path / "br.tgz", members)))
    assert report.problems == ()
    assert [d.member for d in report.config_dumps] == [
        "proxies/hr2/geo-5c54dcd5bd-z5ghf/config_dump"
    ]


def test_truncated_archive_keeps_what_was_read(tmp_path: Path) -> None:
    members = layout()
    # put the big dump last so the cut falls inside it
    dump_name = "bug-report/proxies/hr2/geo-5c54dcd5bd-z5ghf/config_dump?include_eds"
    ordered = {k: v for k, v in members.items() if k != dump_name} | {dump_name: members[dump_name]}
    whole = build(tmp_path / "whole.tar.gz", ordered).read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole[: int(len(whole) * 0.6)])
    report = open_archive(str(cut))
    assert {m.name for m in report.resources} == {
        "bug-report/cluster/k8s-resources",
        "bug-report/cluster/crs",
    }
    assert len(report.logs) == 2
    assert report.problems, "the cut must be reported"
    assert all(p.level == "error" for p in report.problems)
    assert any(dump_name in p.origin.file or dump_name in p.message for p in report.problems)
    # the part of the dump that was read is handed on; the dump reader keeps its whole resources
    (dump,) = report.config_dumps
    assert 0 < len(dump.data) < len(members[dump_name])
    cfg = read_dump(dump.data, dump.member)
    assert cfg.clusters and [p.level for p in cfg.problems] == ["warning"]


def test_corrupt_and_foreign_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"this is not an archive at all")
    report = open_archive(str(junk))
    assert report.config_dumps == () and [p.level for p in report.problems] == ["error"]
    assert "not a readable tar archive" in report.problems[0].message
    gz = tmp_path / "plain.gz"
    gz.write_bytes(gzip.compress(b"hello"))
    assert open_archive(str(gz)).problems
    other = build(tmp_path / "other.tar.gz", {"src/main.go": b"package main\n"})
    (p,) = open_archive(str(other)).problems
    assert p.level == "warning" and "no bug-report layout" in p.message


def test_extracted_directory(tmp_path: Path) -> None:
    for name, data in layout().items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    report = open_archive(str(tmp_path / "bug-report"))
    assert len(report.config_dumps) == 1 and len(report.resources) == 2


@pytest.mark.parametrize("size", [0, 10, 512])
def test_tiny_prefixes_never_raise(tmp_path: Path, size: int) -> None:
    whole = build(tmp_path / "w.tar.gz", layout()).read_bytes()
    cut = tmp_path / "c.tar.gz"
    cut.write_bytes(whole[:size])
    report = open_archive(str(cut))
    assert report.problems
