"""The proxy's configuration against the semantics' predictions (EV2xx)."""

from __future__ import annotations

from pathlib import Path

from mtls_doctor.envoy.compare import PredictedCluster, PredictedInbound, compare
from mtls_doctor.envoy.configdump import read_dump
from tests.envoy import compare_fixture

FIX = Path(__file__).resolve().parent.parent / "fixtures/configdump"
PREDICTIONS = FIX / "compare/geo-predictions.yaml"
LAB_PREDICTIONS = FIX / "compare/lab-predictions.yaml"
REAL = FIX / "realcluster-apache/istio-1.18.2_hotelreservation-geo_sidecar_config_dump.json"


def test_each_cluster_difference_is_one_finding() -> None:
    findings = compare_fixture.run(PREDICTIONS)
    assert sorted(f.code for f in findings) == ["EV201", "EV202", "EV204"]
    by_code = {f.code: f for f in findings}
    assert by_code["EV201"].message.startswith(
        "cluster outbound|10250||kubelet.kube-system.svc.cluster.local uses none"
    )
    assert "[spiffe://cluster.local/ns/hr2/sa/default]" in by_code["EV202"].message
    assert "[spiffe://cluster.local/ns/hr2/sa/search]" in by_code["EV202"].message
    assert "outbound|9080||reviews.hr2.svc.cluster.local" in by_code["EV204"].message
    assert {f.subject.name for f in findings} == {"geo-5c54dcd5bd-z5ghf"}
    # port 8083 was predicted STRICT, but its listener was rejected (EV102): no EV203 for it


def test_each_inbound_difference_is_one_finding() -> None:
    findings = compare_fixture.run(LAB_PREDICTIONS)
    assert sorted(f.code for f in findings) == ["EV203", "EV205"]
    by_code = {f.code: f for f in findings}
    assert by_code["EV203"].message == (
        "inbound port 9080 is enforced PERMISSIVE but STRICT is configured "
        "(from PeerAuthentication/labns/default)"
    )
    assert "port 9999" in by_code["EV205"].message
    assert {f.subject.name for f in findings} == {"lab-0"}


def test_matching_predictions_give_nothing() -> None:
    config = read_dump(REAL.read_bytes(), REAL.name)
    want = [
        PredictedCluster(
            host=c.host or "",
            port=c.port or 0,
            subset=c.subset,
            mode=c.mode,
            auto_mtls=c.auto_mtls,
            sans=c.tls.san_exact if c.tls else None,
        )
        for c in config.clusters
        if c.direction == "outbound"
    ]
    inbound = [PredictedInbound(port=p.port, mode=p.mode) for p in config.inbound]
    assert want and compare(config, want, inbound) == ()


def test_a_section_only_dump_does_not_report_what_it_cannot_know() -> None:
    only_endpoints = read_dump((FIX / "istio-head/endpoint_configdump.json").read_bytes(), "e.json")
    want = [
        PredictedCluster(host="details.default.svc.cluster.local", port=9080, mode="istio-mtls")
    ]
    assert compare(only_endpoints, want, [PredictedInbound(port=9080, mode="STRICT")]) == ()
