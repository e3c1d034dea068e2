"""Finding codes of the EV (Envoy config dumps) and LG (logs) families."""

from __future__ import annotations

from mtls_doctor.checks.codes import Code

EV_LEGACY_DUMP = Code(
    "EV101",
    "legacy-config-dump",
    "warning",
    "{source} is an Envoy v2 API config dump (Istio {version}); its TLS settings are not analysed",
    "Capture the dump again from a proxy of Istio 1.8 or later "
    "(`istioctl proxy-config all POD -o json`).",
)
EV_LISTENER_REJECTED = Code(
    "EV102",
    "listener-rejected",
    "error",
    "Envoy rejected listener {listener}: {details}",
    "Fix the configuration that produced the listener (often an EnvoyFilter) and wait until "
    "`istioctl proxy-status` shows the proxy SYNCED.",
)
EV_MTLS_WITHOUT_SAN = Code(
    "EV103",
    "mtls-without-san-check",
    "warning",
    "cluster {envoy_cluster} originates Istio mTLS but checks no server SAN: any workload "
    "trusted by the mesh root is accepted as {host}",
    "Give the destination's endpoints a service account (WorkloadEntry/ServiceEntry) or set "
    "`subjectAltNames` in the DestinationRule's tls settings.",
)
EV_INBOUND_PERMISSIVE = Code(
    "EV104",
    "inbound-permissive",
    "info",
    "inbound port {port} accepts plaintext as well as mutual TLS (PERMISSIVE)",
    "Apply a STRICT PeerAuthentication for the workload once every client sends mTLS.",
)
EV_INBOUND_PLAINTEXT = Code(
    "EV105",
    "inbound-plaintext-only",
    "warning",
    "inbound port {port} accepts plaintext only (DISABLE): clients that send Istio mTLS fail "
    "with 503 UF or a reset",
    "Remove the PeerAuthentication DISABLE for this port, or make clients' DestinationRules "
    "send plaintext to it.",
)
EV_SECRET_EXPIRED = Code(
    "EV106",
    "proxy-certificate-expired",
    "error",
    "secret {secret} held by the proxy was not valid at the time of the dump ({when}): "
    "valid {not_before} to {not_after}",
    "Check istio-agent's certificate rotation (`istioctl proxy-config secret POD`) and the "
    "CA's health; restart the pod if its certificate does not renew.",
)
EV_SECRET_WARMING = Code(
    "EV107",
    "secret-not-delivered",
    "error",
    "secret {secret} is still WARMING: the proxy never received it over SDS, so TLS that "
    "uses it cannot handshake",
    "Read the istio-agent log of this pod for CA or SDS errors (`mtls-doctor logs`).",
)
EV_CLUSTER_PLAINTEXT = Code(
    "EV108",
    "mesh-cluster-plaintext",
    "info",
    "outbound cluster {envoy_cluster} sends plaintext to every endpoint (no TLS, no auto-mTLS "
    "match)",
    "If the destination has a sidecar, remove the DestinationRule `tls.mode: DISABLE` or "
    "enable auto mTLS.",
)
EV_INBOUND_DENY_ALL = Code(
    "EV109",
    "inbound-deny-all",
    "warning",
    "inbound port {port} has an ALLOW RBAC filter without any policy: every "
    "{layer} request on it is denied",
    "Check the AuthorizationPolicies of the workload: an ALLOW policy whose rules cannot apply "
    "to this port (e.g. HTTP fields on a TCP port) denies everything.",
)

# --- the proxy against the semantics' predictions (envoy.compare) ---------------------------
EV_TLS_MODE_DIFFERS = Code(
    "EV201",
    "proxy-tls-mode-differs",
    "error",
    "cluster {envoy_cluster} uses {actual} but {predicted} is predicted (from {because})",
    "Run `istioctl proxy-status` for this pod: if it is SYNCED, the proxy follows a rule our "
    "model lacks (report it), otherwise wait for or force the push.",
)
EV_SANS_DIFFER = Code(
    "EV202",
    "proxy-sans-differ",
    "error",
    "cluster {envoy_cluster} checks server SANs [{actual}] but [{predicted}] are predicted "
    "(from {because})",
    "Compare the service accounts of the destination's endpoints with the SANs the proxy checks "
    "and check `istioctl proxy-status`; a stale proxy fails with SAN mismatches until it syncs.",
)
EV_INBOUND_MODE_DIFFERS = Code(
    "EV203",
    "proxy-inbound-mode-differs",
    "error",
    "inbound port {port} is enforced {actual} but {predicted} is configured (from {because})",
    "Run `istioctl proxy-status` for this pod and check for PeerAuthentications with port-level "
    "settings or selectors the proxy may not have received yet.",
)
EV_CLUSTER_MISSING = Code(
    "EV204",
    "proxy-cluster-missing",
    "warning",
    "the proxy has no cluster {envoy_cluster}, which is predicted (from {because})",
    "Check the Sidecar resource's egress hosts and the destination's `exportTo`, then "
    "`istioctl proxy-status` for a stale proxy.",
)
EV_INBOUND_PORT_MISSING = Code(
    "EV205",
    "proxy-inbound-port-missing",
    "warning",
    "the proxy has no inbound filter chains for port {port}, predicted {predicted} "
    "(from {because})",
    "Check that a Service or the Sidecar ingress declares the port and that the proxy is SYNCED "
    "(`istioctl proxy-status`).",
)

LG_CAUSE_CODES: dict[str, Code] = {
    "san-mismatch": Code(
        "LG101",
        "log-san-mismatch",
        "error",
        "{count} log event(s) for {target}: the server certificate's SAN does not match what "
        "the client expects (san-mismatch)",
        "Compare the cluster's SAN matchers (`mtls-doctor envoy DUMP --diff`) with the server's "
        "service account and trust domain.",
    ),
    "untrusted-root": Code(
        "LG102",
        "log-untrusted-root",
        "error",
        "{count} log event(s) for {target}: the peer's certificate does not chain to a trusted "
        "root (untrusted-root)",
        "Make both sides use the same root of trust (cacerts secret, or a shared root in a "
        "multi-cluster mesh) and restart proxies holding the old one.",
    ),
    "cert-expired": Code(
        "LG103",
        "log-cert-expired",
        "error",
        "{count} log event(s) for {target}: a presented certificate has expired (cert-expired)",
        "Renew the expired certificate (workload: check istio-agent rotation; root: rotate "
        "the CA) and restart the affected pods.",
    ),
    "client-cert-missing": Code(
        "LG104",
        "log-client-cert-missing",
        "error",
        "{count} log event(s) for {target}: TLS without a client certificate into a port that "
        "requires one (client-cert-missing)",
        "Send Istio mTLS (DestinationRule ISTIO_MUTUAL, not SIMPLE) or relax the server's "
        "PeerAuthentication for this port.",
    ),
    "plaintext-rejected": Code(
        "LG105",
        "log-plaintext-rejected",
        "error",
        "{count} log event(s) for {target}: plaintext was refused by a STRICT mTLS port "
        "(plaintext-rejected)",
        "Give the client a sidecar or send mTLS, or make the server's PeerAuthentication "
        "PERMISSIVE while clients migrate.",
    ),
    "tls-to-plaintext-server": Code(
        "LG106",
        "log-tls-to-plaintext-server",
        "error",
        "{count} log event(s) for {target}: TLS was sent to a server that speaks plaintext "
        "(tls-to-plaintext-server)",
        "Make the client's DestinationRule match the server (tls.mode DISABLE for a port with "
        "PeerAuthentication DISABLE or no sidecar).",
    ),
    "authz-denied": Code(
        "LG107",
        "log-authz-denied",
        "warning",
        "{count} request(s) for {target} were denied by authorization{policy}",
        "Read the named AuthorizationPolicy and check the client's identity and the request "
        "against its rules.",
    ),
    "no-filter-chain": Code(
        "LG108",
        "log-no-filter-chain",
        "error",
        "{count} inbound connection(s) on {target} matched no filter chain (NR "
        "filter_chain_not_found)",
        "Find the callers: plaintext into STRICT, or one-way TLS / TLS into a port whose "
        "chains do not accept it; align PeerAuthentication and the clients.",
    ),
    "ca-unreachable": Code(
        "LG109",
        "log-ca-unreachable",
        "error",
        "{count} istio-agent event(s) in {target}: certificate requests to the CA failed "
        "(ca-unreachable)",
        "Check that istiod (or the external CA) is reachable on port 15012 from the pod and "
        "that its own certificate is valid.",
    ),
    "sds-failure": Code(
        "LG110",
        "log-sds-failure",
        "error",
        "{count} event(s) in {target}: the proxy could not get its certificate over SDS "
        "(sds-failure)",
        "Read the istio-agent lines before it for the CA error and fix that first.",
    ),
    "tls-handshake-failed": Code(
        "LG111",
        "log-tls-handshake-failed",
        "error",
        "{count} log event(s) for {target}: the TLS handshake failed ({reason})",
        "Enable `connection` debug logging on both proxies to see which side rejected the "
        "handshake and why.",
    ),
    "upstream-reset": Code(
        "LG112",
        "log-upstream-reset",
        "warning",
        "{count} log event(s) for {target}: the upstream closed the connection before "
        "responding (UC connection termination)",
        "Look at the server side for the reason: NR filter_chain_not_found (plaintext into "
        "STRICT), a rejected client certificate, or network RBAC.",
    ),
    "no-healthy-upstream": Code(
        "LG113",
        "log-no-healthy-upstream",
        "warning",
        "{count} log event(s) for {target}: no healthy upstream (UH)",
        "Check the cluster's endpoints (`istioctl proxy-config endpoint POD --cluster NAME`) "
        "and outlier detection.",
    ),
    "xds-unreachable": Code(
        "LG114",
        "log-xds-unreachable",
        "error",
        "{count} event(s) in {target}: the proxy has no configuration stream from istiod",
        "Check istiod's health and that the pod can reach istiod on port 15012.",
    ),
    "blackholed": Code(
        "LG115",
        "log-blackholed",
        "error",
        "{count} request(s) in {target} were sent to the BlackHoleCluster (REGISTRY_ONLY)",
        "Add a ServiceEntry for the destination or allow it in the Sidecar egress hosts.",
    ),
    "probe-failed": Code(
        "LG116",
        "log-probe-failed",
        "warning",
        "{count} health probe failure(s) in {target}",
        "Check that probes are rewritten by the sidecar injector under STRICT mTLS and that "
        "the app listens on the pod IP.",
    ),
    "downstream-protocol-error": Code(
        "LG117",
        "log-downstream-protocol-error",
        "warning",
        "{count} request(s) on {target} could not be parsed (DPE)",
        "Check what the callers send to this port: TLS into a plaintext HTTP port, or a "
        "protocol other than the port's declared one.",
    ),
    "cert-verify-failed": Code(
        "LG118",
        "log-cert-verify-failed",
        "error",
        "{count} log event(s) for {target}: a peer certificate was rejected ({reason}); the log "
        "does not say whether the SAN or the root was wrong",
        "Enable `connection` debug logging on the client proxy to see the SAN or issuer that "
        "failed, then compare SAN matchers and roots of both sides.",
    ),
    "upstream-connect-failure": Code(
        "LG119",
        "log-upstream-connect-failure",
        "warning",
        "{count} log event(s) for {target}: the TCP connection to the upstream failed (UF, no "
        "TLS error)",
        "Check that the app listens on the port and address the sidecar forwards to.",
    ),
}

CODES: tuple[Code, ...] = (
    EV_LEGACY_DUMP,
    EV_LISTENER_REJECTED,
    EV_MTLS_WITHOUT_SAN,
    EV_INBOUND_PERMISSIVE,
    EV_INBOUND_PLAINTEXT,
    EV_SECRET_EXPIRED,
    EV_SECRET_WARMING,
    EV_CLUSTER_PLAINTEXT,
    EV_INBOUND_DENY_ALL,
    EV_TLS_MODE_DIFFERS,
    EV_SANS_DIFFER,
    EV_INBOUND_MODE_DIFFERS,
    EV_CLUSTER_MISSING,
    EV_INBOUND_PORT_MISSING,
    *LG_CAUSE_CODES.values(),
)
