"""The cases of envoy-behaviour.md §2 (and a few more from istio-semantics.md), as LabCases.

Each entry: (LabCase, expected verdict, expected cause). The expectation is what the reference
observed with real Envoy 1.40 (or what istio-semantics.md §1.5 / §12 says), written here by hand.
"""

from __future__ import annotations

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

SNI = "outbound_.8080_._.echo.echo.svc.cluster.local"
ECHO = "spiffe://cluster.local/ns/echo/sa/default"
CURL = "spiffe://cluster.local/ns/curl/sa/curl"

AUTO = AutoMtls(endpoint_tls_mode="istio", sni=SNI, sans=(ECHO,))
AUTO_OFF = AutoMtls(endpoint_tls_mode="disabled", sni=SNI, sans=(ECHO,))
MUTUAL = IstioMutual(sni=SNI, sans=(ECHO,))
DENY_CURL = RbacPolicy(
    name="ns[echo]-policy[deny-curl]-rule[0]",
    action="DENY",
    principals=(PrincipalMatch(kind="exact", value=CURL),),
)
ALLOW_CURL = RbacPolicy(
    name="ns[echo]-policy[allow-curl]-rule[0]",
    action="ALLOW",
    principals=(PrincipalMatch(kind="exact", value=CURL),),
)
NO_SIDECAR = ClientSide(sidecar=False, identity=None)


def case(
    name: str,
    client: ClientSide,
    server: ServerSide,
    verdict: str,
    cause: str | None,
    **kw: object,
) -> tuple[LabCase, str, str | None]:
    # The prediction carried by the case is the expectation itself: the CLI compares with it.
    lab = LabCase(
        client=client,
        server=server,
        predicted=Prediction(verdict, cause),  # type: ignore[arg-type]
        name=name,
        **kw,  # type: ignore[arg-type]
    )
    return lab, verdict, cause


WE_CLIENT = "spiffe://cluster.local/ns/curl/sa/client"  # istio-semantics.md §4.3, the blog case

CASES = [
    case("a-mtls-strict", ClientSide(cluster_tls=AUTO), ServerSide(mode="STRICT"), "mtls", None),
    case("d2-mtls-permissive", ClientSide(cluster_tls=AUTO), ServerSide(), "mtls", None),
    case(
        "a-dr-istio-mutual-strict",
        ClientSide(cluster_tls=MUTUAL),
        ServerSide(mode="STRICT"),
        "mtls",
        None,
    ),
    case(
        "auto-tlsmode-disabled-permissive",
        ClientSide(cluster_tls=AUTO_OFF),
        ServerSide(),
        "plaintext",
        "endpoint-not-mtls",
    ),
    case(
        "auto-tlsmode-disabled-strict",
        ClientSide(cluster_tls=AUTO_OFF),
        ServerSide(mode="STRICT"),
        "fail",
        "plaintext-rejected",
    ),
    case(
        "c-plaintext-strict",
        ClientSide(cluster_tls=NoTls()),
        ServerSide(mode="STRICT"),
        "fail",
        "plaintext-rejected",
    ),
    case(
        "i8-no-sidecar-strict", NO_SIDECAR, ServerSide(mode="STRICT"), "fail", "plaintext-rejected"
    ),
    case("d-plaintext-permissive", NO_SIDECAR, ServerSide(), "plaintext", "no-client-sidecar"),
    case(
        "b-san-mismatch",
        ClientSide(cluster_tls=IstioMutual(sni=SNI, sans=(CURL,))),
        ServerSide(mode="STRICT"),
        "fail",
        "san-mismatch",
    ),
    case(
        "e-foreign-root",
        ClientSide(cluster_tls=AUTO, root="cluster2-root"),
        ServerSide(mode="STRICT"),
        "fail",
        "untrusted-root",
    ),
    case(
        "e-foreign-client-root-only",
        ClientSide(cluster_tls=AUTO, root="cluster2-root", trusts=("mesh",)),
        ServerSide(mode="STRICT"),
        "fail",
        "untrusted-root",
    ),
    case(
        "f-expired-server-cert",
        ClientSide(cluster_tls=AUTO),
        ServerSide(mode="STRICT", cert_expired=True),
        "fail",
        "cert-expired",
    ),
    case(
        "expired-client-cert",
        ClientSide(cluster_tls=AUTO, cert_expired=True),
        ServerSide(mode="STRICT"),
        "fail",
        "cert-expired",
    ),
    case(
        "trust-domain-rejected",
        ClientSide(cluster_tls=AUTO, identity="spiffe://other.example/ns/curl/sa/curl"),
        ServerSide(mode="STRICT"),
        "fail",
        "trust-domain-rejected",
    ),
    case(
        "g1-http-rbac-deny",
        ClientSide(cluster_tls=AUTO),
        ServerSide(mode="STRICT", rbac=(DENY_CURL,)),
        "denied",
        "authz-denied",
    ),
    case(
        "g2-tcp-rbac-deny",
        ClientSide(cluster_tls=AUTO),
        ServerSide(mode="STRICT", rbac=(DENY_CURL,)),
        "denied",
        "authz-denied",
        port_class="tcp",
        app_protocol="tcp",
    ),
    case(
        "allow-principal-plaintext-denied",
        NO_SIDECAR,
        ServerSide(rbac=(ALLOW_CURL,)),
        "denied",
        "authz-denied",
    ),
    case(
        "allow-principal-mtls-allowed",
        ClientSide(cluster_tls=AUTO),
        ServerSide(rbac=(ALLOW_CURL,)),
        "mtls",
        None,
    ),
    case(
        "h-mtls-to-no-sidecar",
        ClientSide(cluster_tls=MUTUAL),
        ServerSide(sidecar=False),
        "fail",
        "tls-to-plaintext-server",
    ),
    case(
        "h2-mtls-to-disable-http",
        ClientSide(cluster_tls=MUTUAL),
        ServerSide(mode="DISABLE"),
        "fail",
        "tls-to-plaintext-server",
    ),
    case(
        "mtls-to-disable-tcp",
        ClientSide(cluster_tls=MUTUAL),
        ServerSide(mode="DISABLE"),
        "fail",
        "tls-to-plaintext-server",
        port_class="tcp",
        app_protocol="tcp",
    ),
    case(
        "dis-plaintext-disable",
        ClientSide(cluster_tls=NoTls()),
        ServerSide(mode="DISABLE"),
        "plaintext",
        "peer-auth-disable",
    ),
    case(
        "auto-to-no-server-sidecar",
        ClientSide(cluster_tls=AUTO_OFF),
        ServerSide(sidecar=False),
        "plaintext",
        "no-server-sidecar",
    ),
    case(
        "i5-app-tls-strict",
        NO_SIDECAR,
        ServerSide(mode="STRICT", app_tls=True),
        "fail",
        "client-cert-missing",
        port_class="tcp",
        app_protocol="app-tls",
    ),
    case(
        "app-tls-permissive-tcp",
        NO_SIDECAR,
        ServerSide(app_tls=True),
        "tls",
        None,
        port_class="tcp",
        app_protocol="app-tls",
    ),
    case(
        "i7-app-tls-permissive-http",
        NO_SIDECAR,
        ServerSide(app_tls=True),
        "fail",
        "app-tls-on-http-port",
        app_protocol="app-tls",
    ),
    case(
        "app-tls-in-mtls-strict-tcp",
        ClientSide(cluster_tls=AUTO),
        ServerSide(mode="STRICT", app_tls=True),
        "mtls",
        None,
        port_class="tcp",
        app_protocol="app-tls",
    ),
    case(
        "dr-simple-mesh-ca-strict",
        ClientSide(cluster_tls=SimpleTls(sni=SNI, sans=(ECHO,), ca="mesh")),
        ServerSide(mode="STRICT", app_tls=True),
        "fail",
        "client-cert-missing",
        port_class="tcp",
        app_protocol="tcp",
    ),
    case(
        "dr-simple-system-ca-strict",
        ClientSide(cluster_tls=SimpleTls(sni=SNI, ca="system")),
        ServerSide(mode="STRICT"),
        "fail",
        "untrusted-root",
    ),
    case(
        "passthrough-strict",
        ClientSide(cluster_tls=AUTO, passthrough=True),
        ServerSide(mode="STRICT"),
        "fail",
        "plaintext-rejected",
    ),
    case(
        "passthrough-permissive",
        ClientSide(cluster_tls=AUTO, passthrough=True),
        ServerSide(),
        "plaintext",
        "passthrough",
    ),
    case(
        "plaintext-to-tls-app",
        ClientSide(cluster_tls=AUTO),
        ServerSide(mode="STRICT", app_tls=True),
        "fail",
        "plaintext-to-tls-app",
        port_class="tcp",
        app_protocol="http",
    ),
    case(
        "auto-port-mtls",
        ClientSide(cluster_tls=AUTO),
        ServerSide(mode="STRICT"),
        "mtls",
        None,
        port_class="auto",
    ),
    case(
        "auto-port-tcp-mtls",
        ClientSide(cluster_tls=AUTO),
        ServerSide(mode="PERMISSIVE"),
        "mtls",
        None,
        port_class="auto",
        app_protocol="tcp",
    ),
    case(
        "inbound-excluded-mtls",
        ClientSide(cluster_tls=AUTO),
        ServerSide(mode="STRICT", inbound_excluded=True),
        "fail",
        "tls-to-plaintext-server",
    ),
    # istio-semantics.md §4.3: ServiceEntry + WorkloadEntries in `curl` pointing at echo pods.
    case(
        "blog-step3-we-identity-san-mismatch",
        ClientSide(cluster_tls=AutoMtls(endpoint_tls_mode="istio", sni=SNI, sans=(WE_CLIENT,))),
        ServerSide(mode="STRICT"),
        "fail",
        "san-mismatch",
    ),
    case(
        "blog-step4-se-subject-alt-names",
        ClientSide(
            cluster_tls=AutoMtls(endpoint_tls_mode="istio", sni=SNI, sans=(WE_CLIENT, ECHO))
        ),
        ServerSide(mode="STRICT"),
        "mtls",
        None,
    ),
    case(
        "blog-step5b-tlsmode-label-no-sans",
        ClientSide(cluster_tls=AutoMtls(endpoint_tls_mode="istio", sni=SNI, sans=())),
        ServerSide(mode="STRICT"),
        "mtls",
        None,
    ),
    case(
        "allow-namespace-curl",
        ClientSide(cluster_tls=AUTO),
        ServerSide(
            mode="STRICT",
            rbac=(
                RbacPolicy(
                    name="ns[echo]-policy[from-curl-ns]-rule[0]",
                    action="ALLOW",
                    principals=(PrincipalMatch(kind="regex", value=".*/ns/curl/.*"),),
                ),
            ),
        ),
        "mtls",
        None,
    ),
    case(
        "allow-nothing-tcp",
        ClientSide(cluster_tls=AUTO),
        ServerSide(
            rbac=(RbacPolicy(name="ns[echo]-policy[allow-nothing]", action="ALLOW", never=True),)
        ),
        "denied",
        "authz-denied",
        port_class="tcp",
        app_protocol="tcp",
    ),
]
