"""Generated edges through real Envoy: the lab's observation must equal an independent prediction.

Hypothesis draws LabCases over PeerAuthentication modes and port classes, DestinationRule modes
(none, ISTIO_MUTUAL, SIMPLE), auto mTLS endpoint tlsMode, sidecar presence on each side, identity
and trust domain, roots, expiry, SAN lists, app TLS and authorization rules. `predictor.predict`
(written from istio-semantics.md, sharing no code with the lab) gives the expected verdict and
cause. A disagreement is a bug in the lab or in the predictor: fix it, do not loosen this test.

LAB_EXAMPLES raises the number of generated cases (default 150).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtls_doctor.lab import run_case
from mtls_doctor.lab.case import (
    AutoMtls,
    ClientSide,
    IstioMutual,
    LabCase,
    NoTls,
    Prediction,
    PrincipalMatch,
    RbacPolicy,
    ServerSide,
    SimpleTls,
)
from tests.lab.predictor import predict

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("envoy")]

SNI = "outbound_.8080_._.echo.echo.svc.cluster.local"
ECHO = "spiffe://cluster.local/ns/echo/sa/default"
CURL = "spiffe://cluster.local/ns/curl/sa/curl"
CURL_OTHER_TD = "spiffe://other.example/ns/curl/sa/curl"
WE_IDENTITY = "spiffe://cluster.local/ns/curl/sa/client"  # a WorkloadEntry's identity (§4.3)

# Hypothesis favours the first element of sampled_from; the common case comes first.
RARE = st.sampled_from([False] * 9 + [True])
SOMETIMES = st.sampled_from([False] * 4 + [True])
sans = st.sampled_from([(), (ECHO,), (WE_IDENTITY,), (WE_IDENTITY, ECHO)])
auto_mtls = st.builds(
    AutoMtls,
    endpoint_tls_mode=st.sampled_from(["istio", "istio", "istio", "disabled"]),
    sni=st.just(SNI),
    sans=st.sampled_from([(ECHO,), (ECHO,), (), (WE_IDENTITY,), (WE_IDENTITY, ECHO)]),
)
# Weighted toward what istiod usually configures: auto mTLS.
cluster_tls = st.one_of(
    auto_mtls,
    auto_mtls,
    auto_mtls,
    st.just(NoTls()),
    st.builds(IstioMutual, sni=st.just(SNI), sans=sans),
    st.builds(
        SimpleTls,
        sni=st.just(SNI),
        sans=st.sampled_from([(), (ECHO,)]),
        ca=st.sampled_from(["system", "mesh", "skip"]),
    ),
)
principal = st.sampled_from(
    [
        PrincipalMatch(kind="exact", value=CURL),
        PrincipalMatch(kind="prefix", value="spiffe://cluster.local/ns/curl/"),
        PrincipalMatch(kind="suffix", value="/sa/other"),
        PrincipalMatch(kind="regex", value=".*/ns/curl/.*"),  # namespaces: [curl]
        PrincipalMatch(kind="authenticated"),
        PrincipalMatch(kind="any"),
    ]
)
policy = st.builds(
    RbacPolicy,
    name=st.sampled_from(["ns[echo]-policy[p]-rule[0]", "ns[istio-system]-policy[q]-rule[1]"]),
    action=st.sampled_from(["ALLOW", "DENY"]),
    principals=st.lists(principal, max_size=2).map(tuple),
    not_principals=st.lists(principal, max_size=1).map(tuple),
)
rbac = st.one_of(
    st.just(()),
    st.just(()),
    st.lists(policy, max_size=2, unique_by=lambda p: p.name).map(tuple),
    st.just((RbacPolicy(name="ns[echo]-policy[allow-nothing]", action="ALLOW", never=True),)),
)


@st.composite
def lab_cases(draw: st.DrawFn) -> LabCase:
    port_class = draw(st.sampled_from(["http", "tcp", "auto"]))
    tls = draw(cluster_tls)
    protocols = ["http"] * 4 + ["app-tls"] + ([] if port_class == "http" else ["tcp"] * 2)
    if isinstance(tls, SimpleTls):
        protocols = ["http"]  # DR SIMPLE originates TLS for an app that speaks plaintext
    app_protocol = draw(st.sampled_from(protocols))
    client = ClientSide(
        sidecar=not draw(SOMETIMES),
        identity=draw(st.sampled_from([CURL] * 4 + [CURL_OTHER_TD])),
        root=draw(st.sampled_from(["mesh"] * 5 + ["cluster2-root"])),
        trusts=draw(st.sampled_from([(), (), (), ("mesh",), ("cluster2-root",)])),
        cert_expired=draw(RARE),
        cluster_tls=tls,
        passthrough=draw(RARE),
    )
    server = ServerSide(
        sidecar=not draw(SOMETIMES),
        identity=ECHO,
        root=draw(st.sampled_from(["mesh"] * 5 + ["cluster2-root"])),
        trusts=draw(st.sampled_from([(), (), (), ("mesh",), ("cluster2-root",)])),
        cert_expired=draw(RARE),
        mode=draw(st.sampled_from(["STRICT", "PERMISSIVE", "DISABLE"])),
        trust_domains=draw(
            st.sampled_from([("cluster.local",), ("cluster.local", "other.example"), ()])
        ),
        inbound_excluded=draw(RARE),
        app_tls=app_protocol == "app-tls" or draw(RARE),
        rbac=draw(rbac),
    )
    name = f"gen-{draw(st.integers(0, 10**6))}"
    base = LabCase(
        client=client,
        server=server,
        predicted=Prediction("unknown"),
        name=name,
        app_protocol=app_protocol,
        port_class=port_class,
    )
    verdict, cause = predict(base)
    return LabCase(
        client=client,
        server=server,
        predicted=Prediction(verdict, cause),  # type: ignore[arg-type]
        name=name,
        app_protocol=app_protocol,
        port_class=port_class,
    )


@settings(
    max_examples=int(os.environ.get("LAB_EXAMPLES", "150")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(case=lab_cases())
def test_generated_edge_agrees_with_prediction(case: LabCase) -> None:
    result = run_case(case)
    out = result.outcome
    expected = (case.predicted.verdict, case.predicted.cause)
    observed = (out.verdict, out.cause)
    assert result.seconds < 3, f"slow replay: {result.seconds:.2f} s"
    assert result.agrees, (
        f"predicted {expected}, observed {observed} [{out.mechanism}]\n{case}\n{result.observation}"
    )
