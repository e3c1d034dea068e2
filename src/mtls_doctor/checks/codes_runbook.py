"""Codes for the runbook steps: PeerAuthentication pitfalls (PA), DestinationRule TLS (DR),
ServiceEntry/WorkloadEntry identity (SE), injection and callers outside the mesh (IN),
protocol selection (PR) and trust domains (TR)."""

from __future__ import annotations

from mtls_doctor.checks.codes import Code

# --- PA: PeerAuthentication ------------------------------------------------------------------

PA_SERVICE_PORT_KEY = Code(
    "PA102",
    "portlevel-keyed-by-service-port",
    "warning",
    "PeerAuthentication {name} sets portLevelMtls for port {port}, which is the port of Service "
    "{service}; Istio keys portLevelMtls by the container port ({target}), so the setting never "
    "applies",
    "Key portLevelMtls by the container (target) port the Service forwards to.",
)
PA_UNUSED_PORT = Code(
    "PA103",
    "portlevel-port-not-listening",
    "warning",
    "PeerAuthentication {name} sets portLevelMtls for port {port}, but no workload it selects "
    "({workloads}) declares that port; the setting changes nothing",
    "Use a port the selected workloads listen on (their containerPort), or remove the entry.",
)
PA_SELECTS_NOTHING = Code(
    "PA104",
    "peerauthentication-selects-nothing",
    "warning",
    "PeerAuthentication {name} selects {selector}, which matches no workload in namespace "
    "{namespace}; it applies to nothing",
    "Fix spec.selector.matchLabels to match the pods' labels, or delete the policy.",
)
PA_SHADOWED = Code(
    "PA105",
    "several-namespace-wide-policies",
    "warning",
    "{scope} PeerAuthentication {name} is ignored: {winner} is older and is the one Istio uses "
    "for {where}",
    "Keep one policy without a selector per namespace (and one mesh-wide), and delete the rest.",
)
PA_ROOT_SELECTOR = Code(
    "PA106",
    "root-namespace-selector-ignored",
    "warning",
    "PeerAuthentication {name} has a selector but lives in the root namespace {root}; Istio "
    "ignores selector policies there, so it applies to no workload",
    "Move the policy into the namespace of the workloads it selects.",
)
PA_WEAKENS_MESH = Code(
    "PA107",
    "namespace-weakens-mesh-strict",
    "warning",
    "PeerAuthentication {name} sets {mode} for namespace {namespace} although the mesh-wide "
    "policy {mesh} says STRICT; workloads there accept plaintext",
    "Remove the namespace override or set it to STRICT once every caller has a sidecar.",
)

PA_DISABLE_VS_MUTUAL = Code(
    "PA108",
    "disable-with-istio-mutual-clients",
    "error",
    "PeerAuthentication {name} sets DISABLE for {where}, but DestinationRule {rule} makes clients "
    "originate Istio mTLS (ISTIO_MUTUAL) to {hosts}; the plaintext servers cannot read it",
    "Set the matching DestinationRule's tls mode to DISABLE, or drop the DISABLE policy.",
)

# --- DR: DestinationRule ---------------------------------------------------------------------

DR_AGAINST_STRICT = Code(
    "DR101",
    "destinationrule-tls-against-strict",
    "error",
    "DestinationRule {name} sets tls mode {mode} for {hosts}, but the servers behind it are "
    "STRICT: {clients} fail ({cause})",
    "Set the DestinationRule's tls mode to ISTIO_MUTUAL (or remove the tls block).",
)
DR_MUTUAL_TO_PLAIN = Code(
    "DR102",
    "istio-mutual-to-non-mtls-server",
    "error",
    "DestinationRule {name} sets ISTIO_MUTUAL for {hosts}, but {servers} cannot terminate Istio "
    "mTLS ({why}); clients fail",
    "Remove ISTIO_MUTUAL for that host (let auto mTLS decide) or give the server a sidecar.",
)
DR_NO_CA = Code(
    "DR103",
    "destinationrule-tls-without-ca",
    "warning",
    "DestinationRule {name} sets tls mode {mode}{where} without caCertificates or "
    "credentialName; the server certificate is checked against the OS trust store only",
    "Set caCertificates (or credentialName) to the CA that signs the server's certificate.",
)
DR_DROPS_TLS = Code(
    "DR104",
    "destinationrule-drops-inherited-tls",
    "warning",
    "DestinationRule {name} for {host}{where} has no tls setting, and being the more specific "
    "rule it hides the tls mode {mode} of {other}",
    "Copy the tls block of the broader rule into this DestinationRule.",
)
DR_SKIP_VERIFY = Code(
    "DR105",
    "insecure-skip-verify-ignored",
    "info",
    "DestinationRule {name} sets insecureSkipVerify with ISTIO_MUTUAL{where}; Istio ignores it "
    "and still checks the peer's SAN and root",
    "Remove insecureSkipVerify from the ISTIO_MUTUAL tls block.",
)
DR_CREDENTIAL_SIDECAR = Code(
    "DR106",
    "credentialname-on-sidecar-ignored",
    "warning",
    "DestinationRule {name} sets {mode} with credentialName{where} but has no workloadSelector; "
    "sidecars build no TLS at all from it and send plaintext",
    "Use caCertificates/clientCertificate file paths on sidecars, or add a workloadSelector.",
)

# --- SE: ServiceEntry / WorkloadEntry identity ------------------------------------------------

WE_IDENTITY_DIFFERS = Code(
    "SE103",
    "workloadentry-identity-differs",
    "warning",
    "WorkloadEntry {name} says serviceAccount {account}, read in its own namespace as {declared}, "
    "but the workload at {address} ({workload}) presents {actual}",
    "Add the presented identity to the ServiceEntry's subjectAltNames, or move the entry into the "
    "workload's namespace.",
)
SE_SAN_UNUSED = Code(
    "SE104",
    "serviceentry-san-unpresented",
    "warning",
    "ServiceEntry {name} lists subjectAltNames {unused} that none of its endpoints presents "
    "(they present {presented})",
    "Remove the stale names from spec.subjectAltNames, or list the identities the endpoints "
    "present.",
)
SE_EXTERNAL_MESHED = Code(
    "SE105",
    "mesh-external-entry-to-meshed-pods",
    "warning",
    "ServiceEntry {name} is MESH_EXTERNAL but its endpoints are meshed pods ({workloads}); "
    "auto mTLS never applies to it, so clients send plaintext",
    "Set location: MESH_INTERNAL on the ServiceEntry.",
)

# --- IN: injection and callers outside the mesh -----------------------------------------------

IN_NO_SIDECAR = Code(
    "IN101",
    "workload-without-sidecar-into-strict",
    "error",
    "{workload} has no sidecar ({why}) and calls STRICT destinations {targets}: their sidecars "
    "reject connections without an Istio client certificate",
    'Inject a sidecar into the workload (remove sidecar.istio.io/inject: "false" and restart), '
    "or make the called ports PERMISSIVE.",
)
IN_NAMESPACE_NOT_INJECTED = Code(
    "IN102",
    "namespace-without-injection-into-strict",
    "error",
    "namespace {namespace} is not injected ({why}); its workloads {workloads} call STRICT "
    "destinations {targets} without an Istio client certificate and are rejected",
    "Label the namespace istio-injection=enabled (or istio.io/rev) and restart its workloads.",
)
IN_HOST_NETWORK = Code(
    "IN103",
    "host-network-into-strict",
    "error",
    "{workload} runs with hostNetwork and can never have a sidecar; its calls to STRICT "
    "destinations {targets} are rejected",
    "Set the called ports PERMISSIVE with a workload PeerAuthentication (portLevelMtls).",
)
IN_WEBHOOK = Code(
    "IN104",
    "webhook-into-strict",
    "error",
    "the kube-apiserver calls webhook {webhook} at {service}:{port} with TLS but no client "
    "certificate, and the sidecar of {workload} is STRICT on port {target}",
    "Set port {target} PERMISSIVE in a workload PeerAuthentication, or exclude it with "
    "traffic.sidecar.istio.io/excludeInboundPorts.",
)
IN_PROBE = Code(
    "IN105",
    "probe-not-rewritten-into-strict",
    "error",
    "{workload} turns probe rewriting off and the kubelet probes port {port} in plaintext, but "
    "the sidecar is STRICT there; the probes fail",
    'Remove sidecar.istio.io/rewriteAppHTTPProbers: "false" (or make the probed port PERMISSIVE).',
)
IN_SCRAPE = Code(
    "IN106",
    "scrape-into-strict",
    "warning",
    "{workload} asks to be scraped on port {port} with metrics merging off, and that port is "
    "STRICT; a scraper without a sidecar is reset",
    'Let Istio merge metrics (remove prometheus.istio.io/merge-metrics: "false") or make the '
    "metrics port PERMISSIVE.",
)

# --- PR: protocol ------------------------------------------------------------------------------

PR_TLS_ON_HTTP = Code(
    "PR101",
    "app-tls-on-http-port",
    "error",
    "{caller} sends TLS to {service} port {port}, which is declared {declared}; the sidecar's "
    "HTTP codec cannot parse TLS bytes and the connection fails",
    "Name the Service port https-<suffix> or tls-<suffix> (or set appProtocol: https).",
)
PR_PLAIN_TO_TLS_APP = Code(
    "PR102",
    "plaintext-to-tls-app",
    "error",
    "Service {service} port {port} is declared {declared}, but {workload} listens with TLS on "
    "container port {target} ({container_port}); the sidecar hands the app plaintext",
    "Declare the Service port as https/tls so the app's TLS passes through, or let the app "
    "listen in plaintext behind the sidecar.",
)
PR_SNIFFED = Code(
    "PR103",
    "protocol-sniffed-port",
    "info",
    "Service {service} port {port} ({why}) has no protocol; the sidecars sniff it, which adds "
    "latency and can misclassify server-first protocols",
    "Name the port <protocol>[-<suffix>] (http-, grpc-, tcp-, tls-) or set appProtocol.",
)

# --- TR: trust domains -----------------------------------------------------------------------

TR_FOREIGN_DOMAIN = Code(
    "TR101",
    "policy-foreign-trust-domain",
    "warning",
    "{kind_name} names {principal}, whose trust domain {domain} is neither the mesh's ({mesh_td}) "
    "nor an alias; no peer of this mesh presents it",
    "Use the mesh trust domain in the principal, or add the domain to meshConfig "
    "trustDomainAliases.",
)

CODES: tuple[Code, ...] = (
    PA_SERVICE_PORT_KEY,
    PA_UNUSED_PORT,
    PA_SELECTS_NOTHING,
    PA_SHADOWED,
    PA_ROOT_SELECTOR,
    PA_WEAKENS_MESH,
    PA_DISABLE_VS_MUTUAL,
    DR_AGAINST_STRICT,
    DR_MUTUAL_TO_PLAIN,
    DR_NO_CA,
    DR_DROPS_TLS,
    DR_SKIP_VERIFY,
    DR_CREDENTIAL_SIDECAR,
    WE_IDENTITY_DIFFERS,
    SE_SAN_UNUSED,
    SE_EXTERNAL_MESHED,
    IN_NO_SIDECAR,
    IN_NAMESPACE_NOT_INJECTED,
    IN_HOST_NETWORK,
    IN_WEBHOOK,
    IN_PROBE,
    IN_SCRAPE,
    PR_TLS_ON_HTTP,
    PR_PLAIN_TO_TLS_APP,
    PR_SNIFFED,
    TR_FOREIGN_DOMAIN,
)
