"""What the proxies really have and say: Envoy config dumps, logs, bug-report archives.

Pure API (frozen records in, frozen records out; only `bugreport.open_archive` reads a file):

- `envoy.configdump.read_dump(data: bytes, source: str) -> ProxyConfig`
  One config dump: Envoy `/config_dump` (snake_case) or `istioctl proxy-config ... -o json`
  (lowerCamelCase), whole or one section (clusters, listeners, endpoints, secrets, bootstrap).
  `ProxyConfig` (envoy.records) has `proxy: ProxyInfo`, `clusters: tuple[ClusterTLS, ...]`
  (TLS mode none/istio-mtls/tls/mtls, auto-mTLS `transport_socket_matches`, SNI, ALPN, SAN
  matchers exact/prefix, CA and certificate sources),
  `inbound: tuple[InboundPort, ...]` (mode STRICT/PERMISSIVE/DISABLE/TLS/UNKNOWN per port as
  the filter chains enforce it, RBAC policies), `endpoints` (with `tlsMode` metadata),
  `secrets` (certificate facts, never keys), `rejected` (listeners Envoy refused),
  `findings` (EV codes) and `problems` (a truncated dump keeps its complete resources).
  Envoy v2 API dumps give `legacy=True` and finding EV101, nothing else.
- `envoy.diff.diff_clusters(a, b) -> ClusterDiff` and `find_pair(configs, name_a, name_b)`:
  the TLS-relevant differences between two clusters.
- `envoy.compare.compare(config, clusters=[PredictedCluster...], inbound=[PredictedInbound...])
  -> tuple[Finding, ...]`: the proxy against the semantics' predictions for its workload
  (EV201 TLS mode, EV202 SANs, EV203 inbound mode, EV204 missing cluster, EV205 missing port).
  Cluster predictions are keyed by Istio's name `outbound|PORT|SUBSET|HOST`.
- `envoy.logs.read_log(text: str, source: str) -> tuple[LogEvent, ...]`
  Access logs (TEXT of Istio 1.0-1.2x, JSON, key=value, ztunnel), Envoy debug logs, istio-agent
  and client messages; each event has `cause` (DESIGN's vocabulary plus
  `envoy.causes.LOG_ONLY_CAUSES`), flags, code, details, `next_step`, `upstream_cluster`,
  `destination` (host:port from an outbound cluster name, to join with edges), `peer`.
- `envoy.logfindings.log_findings(events) -> tuple[Finding, ...]`: LG findings, one per
  (cause, upstream cluster or log file); `group_events(events) -> tuple[EventGroup, ...]`:
  failures grouped by (cause, upstream cluster, peer host) with counts and first origin.
- `envoy.bugreport.open_archive(path) -> BugReport`: cluster resource YAML texts, per-proxy
  config dumps, proxy/istiod/operator/cni logs, proxy /certs, cluster secrets, with problems
  naming archive members for corrupt or truncated input.
- `envoy.codes.CODES`: EV1xx (one config dump), EV2xx (dump vs predictions) and LG1xx (logs).
"""
