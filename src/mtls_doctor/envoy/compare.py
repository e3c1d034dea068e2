"""Compare what a proxy has (a `ProxyConfig`) with what the semantics predict for it.

The caller (the edge engine) states its predictions for one workload's proxy as frozen
records; `compare` reports each difference as an EV2xx finding. A difference is the signature
of a stale proxy, of an Istio behaviour newer than our model, or of our model being wrong: the
message says which resources made the prediction so the reader can tell.
"""

from __future__ import annotations

from collections.abc import Iterable

from mtls_doctor.checks.finding import Finding
from mtls_doctor.envoy import codes as c
from mtls_doctor.envoy.checks import proxy_subject
from mtls_doctor.envoy.records import ClusterTLS, InboundMode, ProxyConfig, TlsMode
from mtls_doctor.record import Record


class PredictedCluster(Record):
    """The outbound cluster the semantics expect for (host, port, subset)."""

    host: str
    port: int
    mode: TlsMode  # for endpoints with a sidecar (tlsMode: istio)
    subset: str | None = None
    auto_mtls: bool | None = None  # None: no opinion
    sans: tuple[str, ...] | None = None  # exact SANs expected; None: no opinion
    resources: tuple[str, ...] = ()  # Kind/namespace/name that decided it

    @property
    def cluster_name(self) -> str:
        return f"outbound|{self.port}|{self.subset or ''}|{self.host}"


class PredictedInbound(Record):
    port: int | None  # None: the catch-all chains
    mode: InboundMode
    resources: tuple[str, ...] = ()


def _because(resources: tuple[str, ...]) -> str:
    return ", ".join(resources) if resources else "mesh defaults"


def _compare_cluster(
    config: ProxyConfig, want: PredictedCluster, have: ClusterTLS
) -> Iterable[Finding]:
    subject = proxy_subject(config.proxy, config.source)
    because = _because(want.resources)
    if have.mode != want.mode or (want.auto_mtls is not None and have.auto_mtls != want.auto_mtls):
        yield c.EV_TLS_MODE_DIFFERS.finding(
            subject,
            origin=have.origin,
            envoy_cluster=have.name,
            actual=have.mode + (" (auto mTLS)" if have.auto_mtls else ""),
            predicted=want.mode + (" (auto mTLS)" if want.auto_mtls else ""),
            because=because,
        )
        return
    if want.sans is not None and have.tls is not None:
        actual = tuple(sorted(have.tls.sans))
        predicted = tuple(sorted(want.sans))
        if actual != predicted:
            yield c.EV_SANS_DIFFER.finding(
                subject,
                origin=have.origin,
                envoy_cluster=have.name,
                actual=", ".join(actual) or "(none)",
                predicted=", ".join(predicted) or "(none)",
                because=because,
            )


def compare(
    config: ProxyConfig,
    clusters: Iterable[PredictedCluster] = (),
    inbound: Iterable[PredictedInbound] = (),
) -> tuple[Finding, ...]:
    """Findings for every prediction the proxy's configuration does not match."""
    if config.legacy:
        return ()
    subject = proxy_subject(config.proxy, config.source)
    out: list[Finding] = []
    has_clusters = "clusters" in config.sections
    for want in clusters:
        have = config.cluster(want.cluster_name)
        if have is None:
            if has_clusters:
                out.append(
                    c.EV_CLUSTER_MISSING.finding(
                        subject,
                        envoy_cluster=want.cluster_name,
                        because=_because(want.resources),
                    )
                )
            continue
        out.extend(_compare_cluster(config, want, have))
    # a port of a listener Envoy rejected is not enforced at all: EV102 reports that
    live = [p for p in config.inbound if not p.rejected]
    has_listeners = "listeners" in config.sections and bool(live)
    for want_in in inbound if has_listeners else ():
        port = next((p for p in live if p.port == want_in.port), None)
        label = str(want_in.port) if want_in.port is not None else "* (catch-all)"
        if port is None:
            if not any(p.port == want_in.port for p in config.inbound):
                out.append(
                    c.EV_INBOUND_PORT_MISSING.finding(
                        subject, port=label, predicted=want_in.mode,
                        because=_because(want_in.resources),
                    )
                )  # fmt: skip
            continue
        if port.mode != want_in.mode:
            out.append(
                c.EV_INBOUND_MODE_DIFFERS.finding(
                    subject,
                    origin=port.origin,
                    port=label,
                    actual=port.mode,
                    predicted=want_in.mode,
                    because=_because(want_in.resources),
                )
            )
    return tuple(out)
