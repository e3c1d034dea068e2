"""Findings about one proxy's config dump on its own (EV family). Pure functions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from mtls_doctor.checks.finding import Finding, Subject
from mtls_doctor.envoy import codes as c
from mtls_doctor.envoy.records import InboundPort, ProxyConfig, ProxyInfo
from mtls_doctor.envoy.secrets import valid_at
from mtls_doctor.model.refs import Origin


def proxy_subject(proxy: ProxyInfo, source: str) -> Subject:
    if proxy.pod:
        return Subject("Pod", proxy.namespace or "", proxy.pod)
    return Subject("ConfigDump", "", source)


def port_label(port: InboundPort) -> str:
    return str(port.port) if port.port is not None else "* (catch-all)"


def _parse_time(value: str) -> datetime | None:
    text = value.rstrip("Z")
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def dump_findings(config: ProxyConfig, dump_time: str | None) -> Iterator[Finding]:
    subject = proxy_subject(config.proxy, config.source)
    istio_endpoints = {e.cluster for e in config.endpoints if e.tls_mode == "istio"}
    for rejected in config.rejected:
        yield c.EV_LISTENER_REJECTED.finding(
            subject, origin=rejected.origin, listener=rejected.name, details=rejected.details
        )
    for cluster in config.clusters:
        if cluster.direction != "outbound":
            continue
        tls = cluster.tls
        used = cluster.name in istio_endpoints or not cluster.auto_mtls
        if cluster.mode == "istio-mtls" and tls is not None and not tls.sans and used:
            yield c.EV_MTLS_WITHOUT_SAN.finding(
                subject,
                origin=cluster.origin,
                envoy_cluster=cluster.name,
                host=cluster.host or cluster.name,
            )
        if cluster.mode == "none" and not cluster.auto_mtls and ".svc." in (cluster.host or ""):
            yield c.EV_CLUSTER_PLAINTEXT.finding(
                subject, origin=cluster.origin, envoy_cluster=cluster.name
            )
    gateway = config.proxy.kind == "router"  # a gateway's plaintext ports are its business
    for port in config.inbound:
        label = port_label(port)
        if not gateway and port.mode == "PERMISSIVE":
            yield c.EV_INBOUND_PERMISSIVE.finding(subject, origin=port.origin, port=label)
        elif not gateway and port.mode == "DISABLE":
            yield c.EV_INBOUND_PLAINTEXT.finding(subject, origin=port.origin, port=label)
        layers = sorted(
            {
                "HTTP" if any(h.layer == "http" for h in ch.rbac) else "TCP"
                for ch in port.chains
                if ch.deny_all
            }
        )
        if layers:
            yield c.EV_INBOUND_DENY_ALL.finding(
                subject, origin=port.origin, port=label, layer="/".join(layers)
            )
    when = _parse_time(dump_time) if dump_time else None
    for secret in config.secrets:
        if secret.status == "WARMING":
            yield c.EV_SECRET_WARMING.finding(
                subject, origin=Origin(config.source), secret=secret.name
            )
            continue
        if when is not None and valid_at(secret, when) is False:
            yield c.EV_SECRET_EXPIRED.finding(
                subject,
                origin=Origin(config.source),
                secret=secret.name,
                when=dump_time,
                not_before=secret.not_before,
                not_after=secret.not_after,
            )
