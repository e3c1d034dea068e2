"""Certificates joined with edges: roots that do not trust each other, expired certificates.

Without certificate inputs every cluster shares one root of trust and no check runs. With them
(`cacerts` Secrets, root ConfigMaps, PEM files, proxy secret dumps), the client and the server
of an mTLS edge are each matched to what the inputs say about them: their own presented
certificate when a dump names the pod or its SPIFFE ID, else their cluster's roots.
"""

from __future__ import annotations

from datetime import datetime

from mtls_doctor.certs import TrustView, WorkloadTrust
from mtls_doctor.semantics.trace import Step

_NOT_KNOWN: frozenset[str] = frozenset()


class TrustCheck:
    def __init__(self, view: TrustView, now: datetime) -> None:
        self.view = view
        self.now = now
        self.per_workload = {w.cluster for w in view.workloads}

    def has_workload_certs(self, cluster: str) -> bool:
        return cluster in self.per_workload

    def _cert(
        self, cluster: str, namespace: str | None, pods: tuple[str, ...], identity: str | None
    ) -> WorkloadTrust | None:
        if namespace is not None:
            for pod in pods:
                got = self.view.workload(cluster, namespace, pod)
                if got is not None:
                    return got
        if identity is not None:
            return next((w for w in self.view.by_spiffe_id(identity) if w.cluster == cluster), None)
        return None

    def expired(
        self, cluster: str, namespace: str | None, pods: tuple[str, ...], identity: str | None
    ) -> bool:
        """Whether the certificate the inputs show for this workload is outside its validity."""
        cert = self._cert(cluster, namespace, pods, identity)
        return cert is not None and cert.expired_at(self.now)

    def presented(
        self, cluster: str, namespace: str | None, pods: tuple[str, ...], identity: str | None
    ) -> str | None:
        """The SPIFFE ID in the workload's own certificate, when a secret dump shows it by pod
        (looking it up by the identity itself would prove nothing)."""
        if namespace is None:
            return None
        for pod in pods:
            got = self.view.workload(cluster, namespace, pod)
            if got is not None:
                return got.spiffe_id
        return None

    def _chain_roots(self, cluster: str, cert: WorkloadTrust | None) -> frozenset[str]:
        if cert is not None and cert.chain_root is not None:
            return frozenset({cert.chain_root})
        c = self.view.clusters.get(cluster)
        return c.roots if c is not None else _NOT_KNOWN

    def _trusted(self, cluster: str, cert: WorkloadTrust | None) -> frozenset[str]:
        if cert is not None and cert.trusted_roots:
            return cert.trusted_roots
        c = self.view.clusters.get(cluster)
        return c.roots if c is not None else _NOT_KNOWN

    def check(
        self,
        client_cluster: str,
        client_ns: str | None,
        client_pods: tuple[str, ...],
        client_id: str | None,
        server_cluster: str,
        server_ns: str,
        server_pods: tuple[str, ...],
        server_id: str,
    ) -> tuple[str, Step] | None:
        """(cause, step) when the handshake fails on certificates, else None.

        Checked in handshake order: the client verifies the server's certificate (expiry, then
        root), then the server verifies the client's."""
        s_cert = self._cert(server_cluster, server_ns, server_pods, server_id)
        c_cert = self._cert(client_cluster, client_ns, client_pods, client_id)
        if s_cert is not None and s_cert.expired_at(self.now):
            return "cert-expired", Step(
                "certificates",
                f"the server's certificate ({s_cert.source}) is valid {s_cert.not_before:%Y-%m-%d %H:%M} "  # noqa: E501
                f"to {s_cert.not_after:%Y-%m-%d %H:%M} UTC, not at {self.now:%Y-%m-%d %H:%M}",
            )
        bad = self._distrust(client_cluster, c_cert, server_cluster, s_cert, "client", "server")
        if bad is not None:
            return "untrusted-root", bad
        bad = self._distrust(server_cluster, s_cert, client_cluster, c_cert, "server", "client")
        if bad is not None:
            return "untrusted-root", bad
        if c_cert is not None and c_cert.expired_at(self.now):
            return "cert-expired", Step(
                "certificates",
                f"the client's certificate ({c_cert.source}) expired {c_cert.not_after:%Y-%m-%d %H:%M} UTC",  # noqa: E501
            )
        return None

    def _distrust(
        self,
        verifier_cluster: str,
        verifier: WorkloadTrust | None,
        peer_cluster: str,
        peer: WorkloadTrust | None,
        who: str,
        whom: str,
    ) -> Step | None:
        trusted = self._trusted(verifier_cluster, verifier)
        presented = self._chain_roots(peer_cluster, peer)
        if not trusted or not presented or trusted & presented:
            return None
        return Step(
            "certificates",
            f"the {who} ({verifier_cluster}) trusts roots {_fp(trusted)} but the {whom}'s "
            f"certificate chains to {_fp(presented)} ({peer_cluster}): unknown CA",
        )


def _fp(roots: frozenset[str]) -> str:
    return ", ".join(sorted(r[:16] + "…" for r in roots))
