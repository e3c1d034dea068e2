"""One edge, decided the way Istio decides it (istio-semantics.md §0 and §11).

client capture → outbound path → cluster TLS (DestinationRule or auto mTLS) → per-endpoint
tlsMode → what the server sidecar does with those bytes on the target port → the peer
identity checks → authorization. Every step is recorded with the resources that decided it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Literal

import msgspec

from mtls_doctor.edges.authz import AuthzSeam, allow_all
from mtls_doctor.edges.fixes import suggest
from mtls_doctor.edges.records import SEVERITY, EndpointResult, Outcome, Symptom, Verdict
from mtls_doctor.edges.registry import Endpoint, MeshService, Registry, SvcPort
from mtls_doctor.edges.server import ServerFacts, ServerSides
from mtls_doctor.edges.symptoms import symptom
from mtls_doctor.edges.trust import TrustCheck
from mtls_doctor.model.istio import ClientTLS, Sidecar
from mtls_doctor.model.objects import Loaded
from mtls_doctor.model.refs import ResourceRef
from mtls_doctor.semantics.destinationrule import DRChoice, cluster_tls, endpoint_tls_mode
from mtls_doctor.semantics.identity import expand_with_aliases, server_accepts_client
from mtls_doctor.semantics.inbound import Wire, inbound
from mtls_doctor.semantics.scope import exported_to, outbound_policy, sidecar_allows
from mtls_doctor.semantics.trace import Step

ClusterMode = Literal["none", "auto", "istio", "simple", "mutual"]


class Client(msgspec.Struct, frozen=True):
    """Everything about a caller that the client side of an edge reads."""

    name: str  # namespace/workload or external/<name>
    cluster: str
    namespace: str | None  # None for pseudo-clients outside the mesh
    labels: dict[str, str]
    sidecar: bool
    sidecar_why: str
    refs: tuple[ResourceRef, ...]
    exclude_ports: frozenset[int] = frozenset()
    exclude_ranges: tuple[str, ...] = ()
    include_ranges: tuple[str, ...] | None = None
    sidecar_resource: Loaded[Sidecar] | None = None
    identity: str | None = None
    sends_tls: bool = False  # the client app itself speaks TLS (e.g. the kube-apiserver)
    pods: tuple[str, ...] = ()  # pod names, to find their certificates in secret dumps


class Settings(msgspec.Struct, frozen=True):
    """The client cluster's TLS for this service port, and why."""

    mode: ClusterMode
    why: str
    cause: str | None  # why no mTLS, when mode is "none"
    sans: tuple[str, ...] = ()
    tls: ClientTLS | None = None
    dr: DRChoice | None = None
    whole_cluster: bool = False  # ORIGINAL_DST: auto mTLS without per-endpoint matches


def _in_ranges(ip: str, ranges: tuple[str, ...]) -> bool:
    if not ranges:
        return False
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for r in ranges:
        if r.strip() == "*":
            return True
        try:
            if addr in ipaddress.ip_network(r.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


def app_wire(client: Client, port: SvcPort) -> Wire:
    if client.sends_tls or port.protocol.app_tls:
        return "app-tls"
    return "plaintext-tcp" if port.protocol.port_class == "tcp" else "plaintext-http"


class Evaluator:
    """Decides edges for one viewing cluster's registry."""

    def __init__(
        self,
        registry: Registry,
        servers: ServerSides,
        authz: AuthzSeam = allow_all,
        trust: TrustCheck | None = None,
    ):
        self.reg = registry
        self.servers = servers
        self.authz = authz
        self.trust = trust
        self.mesh = registry.index.config

    # -- client side --------------------------------------------------------------------------

    @staticmethod
    def capture(client: Client, svc: MeshService, port: SvcPort) -> tuple[bool, Step]:
        """Whether the client's sidecar handles this connection (the only client-named step)."""
        if not client.sidecar:
            return False, Step(
                "client sidecar", f"{client.name} has no sidecar: {client.sidecar_why}", client.refs
            )
        if port.number in client.exclude_ports:
            return False, Step(
                "client sidecar",
                f"port {port.number} is in traffic.sidecar.istio.io/excludeOutboundPorts: the "
                "app's "
                "bytes bypass the sidecar",
                client.refs,
            )
        for vip in svc.vips if client.exclude_ranges or client.include_ranges is not None else ():
            if _in_ranges(vip, client.exclude_ranges) or (
                client.include_ranges is not None and not _in_ranges(vip, client.include_ranges)
            ):
                return False, Step(
                    "client sidecar",
                    f"{vip} is outside the sidecar's captured IP ranges: the app's bytes bypass it",
                    client.refs,
                )
        return True, Step(
            "client sidecar", f"{client.name} has a sidecar: {client.sidecar_why}", client.refs
        )

    def outbound(self, client: Client, svc: MeshService, port: SvcPort) -> tuple[bool, str, Step]:
        """(visible, outbound policy, step): whether the client's sidecar has the service
        cluster, and what it does otherwise. The step names the client's own Sidecar, so it is
        rebuilt per client; the shared outcome keys only on the two answers."""
        assert client.namespace is not None
        exp = exported_to(svc.namespace, svc.export_to, client.namespace, self.mesh)
        scope = sidecar_allows(
            client.sidecar_resource, client.namespace, svc.namespace, svc.hostname, port.number
        )
        if exp.visible and scope.visible:
            return True, "", Step(
                "outbound path",
                f"service cluster outbound|{port.number}||{svc.hostname} ({scope.why})",
                (*svc.refs, *scope.resources),
            )
        mode, why = outbound_policy(client.sidecar_resource, self.mesh)
        reason = (
            f"{svc.display} is not in the client's registry view: {exp.why}"
            if not exp.visible
            else scope.why
        )
        sink = "BlackHoleCluster" if mode == "REGISTRY_ONLY" else "PassthroughCluster, no TLS"
        return False, mode, Step(
            "outbound path", f"{reason}; {why}: {sink}", (*svc.refs, *scope.resources)
        )

    def settings(self, client: Client, svc: MeshService, port: SvcPort) -> tuple[Settings, Step]:
        """Cluster TLS from the DestinationRule, else auto mTLS (§2-§3)."""
        assert client.namespace is not None
        dr = self.reg.index.dr.lookup(client.namespace, client.labels, svc.hostname, svc.namespace)
        choice = cluster_tls(dr, port.number)
        refs = dr.resources if dr else ()
        sans = expand_with_aliases(
            self.reg.service_accounts(svc), tuple(self.mesh.trust_domain_aliases)
        )
        tls = choice.tls
        if tls is not None:
            mode = tls.mode.upper()
            if mode == "DISABLE":
                return Settings("none", choice.why, "destination-rule-disable", dr=dr), Step(
                    "cluster TLS", f"{choice.why}: plaintext to every endpoint", refs
                )
            if mode == "ISTIO_MUTUAL":
                dr_sans = tuple(tls.subject_alt_names) if tls.subject_alt_names else None
                use = dr_sans if dr_sans is not None else sans
                return Settings("istio", choice.why, None, use, tls, dr), Step(
                    "cluster TLS",
                    f"{choice.why}: Istio mTLS to every endpoint, sidecar or not",
                    refs,
                )
            if mode in ("SIMPLE", "MUTUAL"):
                selector = dr is not None and dr.rules[0].obj.spec.workload_selector is not None
                if (
                    tls.credential_name
                    and not tls.credential_name.startswith("configmap://")
                    and not selector
                ):
                    return Settings("none", choice.why, "destination-rule-disable", dr=dr), Step(
                        "cluster TLS",
                        f"{choice.why} with credentialName on a sidecar: Istio builds no TLS at "
                        "all (credentialName works on gateways only): plaintext",
                        refs,
                    )
                if (
                    mode == "MUTUAL"
                    and not tls.credential_name
                    and not (tls.client_certificate and tls.private_key)
                ):
                    return Settings("none", choice.why, "destination-rule-disable", dr=dr), Step(
                        "cluster TLS",
                        f"{choice.why} without clientCertificate/privateKey: the TLS context is "
                        "not built: plaintext",
                        refs,
                    )
                m: ClusterMode = "simple" if mode == "SIMPLE" else "mutual"
                return Settings(
                    m, choice.why, None, tuple(tls.subject_alt_names or ()), tls, dr
                ), Step(
                    "cluster TLS",
                    f"{choice.why}: one-way/user TLS, no Istio client certificate",
                    refs,
                )
        # auto mTLS
        if not self.mesh.enable_auto_mtls:
            return Settings("none", "enableAutoMtls is false", "auto-mtls-off", dr=dr), Step(
                "cluster TLS", f"{choice.why}; mesh config enableAutoMtls: false: plaintext", refs
            )
        if svc.mesh_external:
            why = (
                f"{svc.kind} {svc.namespace}/{svc.ref.name} is MESH_EXTERNAL: auto mTLS never "
                "applies"
                if svc.kind == "ServiceEntry"
                else f"Service {svc.namespace}/{svc.ref.name} is ExternalName: auto mTLS never applies"  # noqa: E501
            )
            return Settings("none", why, "mesh-external", dr=dr), Step(
                "cluster TLS", f"{choice.why}; {why}", (*refs, *svc.refs)
            )
        if svc.passthrough:
            eps = self.reg.endpoints(svc, port)
            if not eps or any(e.tls_mode != "istio" for e in eps):
                why = (
                    "pass-through service (headless / resolution NONE) with "
                    + ("no endpoints" if not eps else "an endpoint without tlsMode istio")
                    + ": auto mTLS is off for the whole cluster"
                )
                cause = "endpoint-not-mtls"
                return Settings("none", why, cause, dr=dr), Step(
                    "cluster TLS", f"{choice.why}; {why}", (*refs, *svc.refs)
                )
            ns_mode = self.reg.index.pa.namespace_mode(svc.namespace)
            if ns_mode.mode == "DISABLE":
                return Settings("none", ns_mode.why, "peer-auth-disable", dr=dr), Step(
                    "cluster TLS", f"auto mTLS off: {ns_mode.why}", (*refs, *ns_mode.resources)
                )
            return Settings(
                "auto",
                "pass-through service, every endpoint has a sidecar",
                None,
                sans,
                None,
                dr,
                True,
            ), Step(
                "cluster TLS",
                f"{choice.why}; auto mTLS: every endpoint of the pass-through service has "
                "tlsMode istio: Istio mTLS for the whole cluster",
                (*refs, *svc.refs),
            )
        ns_mode = self.reg.index.pa.namespace_mode(svc.namespace)
        if ns_mode.mode == "DISABLE":
            return Settings("none", ns_mode.why, "peer-auth-disable", dr=dr), Step(
                "cluster TLS",
                f"{choice.why}; auto mTLS is off because the service namespace's mode is "
                f"DISABLE ({ns_mode.why})",
                (*refs, *ns_mode.resources),
            )
        return Settings("auto", ns_mode.why, None, sans, None, dr), Step(
            "cluster TLS",
            f"{choice.why}; auto mTLS ({ns_mode.why}): Istio mTLS to endpoints labelled "
            "tlsMode istio, plaintext to the others",
            (*refs, *ns_mode.resources),
        )

    # -- per endpoint -------------------------------------------------------------------------

    def endpoint_wire(
        self, s: Settings, ep: Endpoint, port: SvcPort, base: Wire
    ) -> tuple[Wire, str, str | None]:
        """(wire, why, cause-if-not-mtls) for one endpoint."""
        if s.mode == "none":
            return base, s.why, s.cause
        if s.mode == "istio" or s.whole_cluster:
            return "istio-mtls", "Istio mTLS (no per-endpoint choice)", None
        if s.mode in ("simple", "mutual"):
            return "app-tls", f"DestinationRule {s.mode.upper()} TLS", None
        eds = endpoint_tls_mode(s.dr, port.number)
        if eds is not None and eds.upper() != "ISTIO_MUTUAL":
            return (
                base,
                f"the DestinationRule's tls mode {eds} marks the endpoint plaintext",
                "destination-rule-disable",
            )
        if ep.tls_mode != "istio":
            cause = "endpoint-not-mtls"
            if ep.server is not None and ep.source.kind not in ("WorkloadEntry", "ServiceEntry"):
                cause = "no-server-sidecar"
            return base, f"endpoint tlsMode {ep.tls_mode} ({ep.tls_mode_why}): plaintext", cause
        if eds is not None:  # ISTIO_MUTUAL keeps the endpoint's tlsMode istio (it adds none)
            return "istio-mtls", f"endpoint tlsMode istio ({ep.tls_mode_why})", None
        pa = self.reg.index.pa.mode_for(ep.namespace, ep.labels, ep.target_port)
        if pa.mode == "DISABLE":
            return (
                base,
                f"the endpoint's own PeerAuthentication is DISABLE ({pa.why}): plaintext",
                "peer-auth-disable",
            )
        return "istio-mtls", f"endpoint tlsMode istio ({ep.tls_mode_why})", None

    def _endpoint(
        self,
        client: Client,
        svc: MeshService,
        port: SvcPort,
        ep: Endpoint,
        wire: Wire,
        wire_why: str,
        plain_cause: str | None,
        s: Settings | None,
    ) -> EndpointResult:
        steps = [
            Step(
                "endpoint",
                f"{ep.address or ep.workload_key or ep.source.key}: {wire_why}",
                (ep.source,),
            )
        ]
        verdict: Verdict
        cause: str | None
        if ep.server is None or ep.server_cluster is None:
            if wire == "istio-mtls" and ep.tls_mode == "istio":
                steps.append(
                    Step(
                        "server",
                        f"no pod is known at {ep.address}; assuming a proxy with the registry "
                        f"identity {ep.identity}",
                        (ep.source,),
                    )
                )
                verdict, cause = ("mtls", None)
            elif wire == "istio-mtls":
                verdict, cause = ("unknown", "missing-input")
                steps.append(
                    Step(
                        "server",
                        f"nothing known at {ep.address}: cannot tell whether it terminates "
                        "Istio mTLS",
                        (ep.source,),
                    )
                )
            else:
                verdict = "tls" if wire == "app-tls" else "plaintext"
                cause = plain_cause or ("no-server-sidecar" if verdict == "plaintext" else None)
                steps.append(
                    Step(
                        "server",
                        f"{ep.address} is outside the known mesh: it receives the bytes as sent",
                        (ep.source,),
                    )
                )
            return self._ep(ep, verdict, cause, steps)
        facts = self.servers.facts(ep.server_cluster, ep.server, ep.target_port)
        return self._at_server(client, facts, ep, wire, plain_cause, s, steps)

    @staticmethod
    def _ep(
        ep: Endpoint,
        verdict: Verdict,
        cause: str | None,
        steps: list[Step],
        *,
        plain_cause: str | None = None,
        presented: str | None = None,
        expected: tuple[str, ...] = (),
        policy: str | None = None,
    ) -> EndpointResult:
        return EndpointResult(
            address=ep.address,
            workload=ep.workload_key,
            cluster=ep.server_cluster,
            verdict=verdict,
            cause=cause,
            source=ep.source,
            steps=tuple(steps),
            plain_cause=plain_cause,
            presented=presented,
            expected=expected,
            policy=policy,
        )

    def _at_server(
        self,
        client: Client,
        f: ServerFacts,
        ep: Endpoint,
        wire: Wire,
        plain_cause: str | None,
        s: Settings | None,
        steps: list[Step],
    ) -> EndpointResult:
        w = f.workload
        if not f.captured:
            why = f.injection.why if not f.sidecar else f.excluded_why
            steps.append(
                Step(
                    "server sidecar",
                    f"{w.key} ({f.cluster}): no sidecar on port {ep.target_port}: {why}",
                    f.injection.resources,
                )
            )
            if wire == "istio-mtls":
                # an app that serves TLS itself answers with its own certificate, which the
                # client sidecar does not trust; any other app cannot parse the handshake
                cause = "untrusted-root" if f.app_tls else "tls-to-plaintext-server"
                return self._ep(ep, "fail", cause, steps)
            if wire == "app-tls":
                if f.app_tls:
                    return self._ep(ep, "tls", plain_cause or "no-server-sidecar", steps)
                return self._ep(ep, "fail", "tls-to-plaintext-server", steps)
            return self._ep(ep, "plaintext", plain_cause or "no-server-sidecar", steps)
        steps.append(
            Step(
                "server mode",
                f"{w.key} ({f.cluster}) port {ep.target_port}: {f.pa.mode} ({f.pa.why}); {f.port_why}",  # noqa: E501
                (*f.pa.resources, *f.port_refs),
            )
        )
        result = inbound(f.pa.mode, f.port_kind, wire)
        if result == "no-filter-chain":
            cause = "plaintext-rejected" if wire.startswith("plaintext") else "app-tls-on-http-port"
            steps.append(
                Step(
                    "server sidecar",
                    f"{f.pa.mode} inbound on this port has no filter chain for {wire} bytes: "
                    "connection closed",
                    (),
                )
            )
            return self._ep(ep, "fail", cause, steps, plain_cause=plain_cause)
        if result == "client-cert-required":
            tls = s.tls if s is not None else None
            if (
                s is not None
                and s.mode == "simple"
                and tls is not None
                and not tls.insecure_skip_verify
                and not tls.ca_certificates
                and not tls.credential_name
            ):
                steps.append(
                    Step(
                        "server sidecar",
                        "the DestinationRule's SIMPLE TLS checks the server against the system "
                        "roots, which do not hold the mesh root: the client rejects the sidecar's "
                        "certificate (before STRICT would refuse the missing client certificate)",
                        (),
                    )
                )
                return self._ep(ep, "fail", "untrusted-root", steps)
            cause = "untrusted-root" if s is not None and s.mode == "mutual" else "client-cert-missing"  # noqa: E501
            steps.append(
                Step(
                    "server sidecar",
                    "STRICT requires an Istio client certificate; the client sends TLS without one",
                    (),
                )
            )
            return self._ep(ep, "fail", cause, steps)
        if result == "protocol-error":
            cause = "tls-to-plaintext-server" if wire == "istio-mtls" else "app-tls-on-http-port"
            steps.append(
                Step(
                    "server sidecar",
                    f"the HTTP codec on this {f.pa.mode} port cannot parse {wire} bytes",
                    (),
                )
            )
            return self._ep(ep, "fail", cause, steps)
        if result == "raw":
            steps.append(
                Step("server sidecar", f"{wire} bytes are passed to the app undecoded", ())
            )
            if wire == "app-tls" and f.app_tls:
                return self._authorize(client, f, ep, "tls", plain_cause, steps, None)
            return self._ep(ep, "fail", "tls-to-plaintext-server", steps)
        if result == "plain":
            steps.append(Step("server sidecar", f"{f.pa.mode} accepts plaintext on this port", ()))
            return self._authorize(client, f, ep, "plaintext", plain_cause, steps, None)
        # Istio mTLS terminated: certificates, then peer identity checks
        if self.trust is not None:
            bad = self.trust.check(
                client.cluster, client.namespace, client.pods, client.identity,
                f.cluster, w.namespace, tuple(p.name for p in w.pods), f.identity,
            )  # fmt: skip
            if bad is not None:
                steps.append(bad[1])
                return self._ep(ep, "fail", bad[0], steps)
        expected = s.sans if s is not None else ()
        if expected and f.identity not in expected:
            steps.append(
                Step(
                    "peer identity",
                    f"the client expects one of {list(expected)} but {w.key} presents "
                    f"{f.identity}: SAN mismatch",
                    (ep.source,) if ep.source.kind in ("ServiceEntry", "WorkloadEntry") else (),
                )
            )
            return self._ep(
                ep, "fail", "san-mismatch", steps, presented=f.identity, expected=expected
            )
        if not server_accepts_client(client.identity, f.trust_domains):
            steps.append(
                Step(
                    "peer identity",
                    "the server accepts client certificates of trust domains "
                    f"{list(f.trust_domains)}; the client presents $CLIENT_ID",
                    (),
                )
            )
            return self._ep(ep, "fail", "trust-domain-rejected", steps)
        check = (
            f"presented {f.identity} is expected"
            if expected
            else "no SAN list: any mesh identity is accepted"
        )
        steps.append(Step("peer identity", f"{check}; the server accepts $CLIENT_ID", ()))
        return self._authorize(client, f, ep, "mtls", None, steps, client.identity)

    def _authorize(
        self,
        client: Client,
        f: ServerFacts,
        ep: Endpoint,
        verdict: Verdict,
        cause: str | None,
        steps: list[Step],
        principal: str | None,
    ) -> EndpointResult:
        denial = self.authz(client, f, ep.target_port, principal)
        if denial is not None:
            steps.append(denial.step)
            if denial.verdict == "denied":
                return self._ep(ep, "denied", "authz-denied", steps, policy=denial.policy)
            if denial.verdict == "unknown":
                return self._ep(ep, "unknown", "missing-input", steps, policy=denial.policy)
        got = self._ep(
            ep, verdict, cause, steps, plain_cause=cause if verdict == "plaintext" else None
        )
        if denial is not None and denial.conditions:
            got = msgspec.structs.replace(got, authz=denial.conditions)
        return got

    # -- the edge -----------------------------------------------------------------------------

    def client_steps(self, client: Client, svc: MeshService, port: SvcPort) -> tuple[Step, ...]:
        captured, step = self.capture(client, svc, port)
        if not captured or svc.resolution == "direct":
            return (step,)
        return (step, self.outbound(client, svc, port)[2])

    def evaluate_direct(
        self, client: Client, svc: MeshService, ep: Endpoint, wire: Wire
    ) -> Outcome:
        """A call to a workload's address itself (pod IP, kubelet probe): no service cluster.
        A captured client's sidecar sends it through PassthroughCluster, without TLS."""
        trace: list[Step] = []
        port = svc.ports[0]
        captured, _ = self.capture(client, svc, port)
        if captured:
            mode, why = outbound_policy(client.sidecar_resource, self.mesh)
            if mode == "REGISTRY_ONLY":
                trace.append(
                    Step(
                        "outbound path",
                        f"{ep.address} belongs to no service the client knows; {why}: "
                        "BlackHoleCluster",
                        (),
                    )
                )
                res = (
                    EndpointResult(
                        ep.address,
                        ep.workload_key,
                        ep.server_cluster,
                        "fail",
                        "blackholed",
                        ep.source,
                    ),
                )
                return self._summarise(client, svc, port, res, trace, None)
            trace.append(
                Step(
                    "outbound path",
                    f"{ep.address or ep.workload_key} belongs to no service the client knows; "
                    f"{why}: PassthroughCluster, no TLS",
                    (),
                )
            )
            per = self._endpoint(
                client,
                svc,
                port,
                ep,
                wire,
                "pass-through: the app's bytes as sent",
                "passthrough",
                None,
            )
        else:
            per = self._endpoint(
                client, svc, port, ep, wire, "the caller's own bytes", "no-client-sidecar", None
            )
        return self._summarise(client, svc, port, (per,), trace, None)

    def evaluate(
        self, client: Client, svc: MeshService, port: SvcPort, only: str | None = None
    ) -> Outcome:
        """The edge for every client that shares `client`'s relative key. Client-specific text
        is left as $CLIENT, $CLIENT_NS and $CLIENT_ID; the capture and outbound-path steps are
        not in the trace (`client_steps` makes them per client)."""
        trace: list[Step] = []
        captured, _ = self.capture(client, svc, port)
        base = app_wire(client, port)
        endpoints = self.reg.endpoints(svc, port)
        if only is not None:
            endpoints = tuple(e for e in endpoints if _is_pod(e, only))
        settings: Settings | None = None
        if captured:
            visible, mode, _ = self.outbound(client, svc, port)
            if not visible and mode == "REGISTRY_ONLY":
                results = tuple(
                    EndpointResult(
                        e.address, e.workload_key, e.server_cluster, "fail", "blackholed", e.source
                    )
                    for e in endpoints
                ) or (EndpointResult(None, None, None, "fail", "blackholed"),)
                return self._summarise(client, svc, port, results, trace, None)
            if not visible:
                why = "pass-through: the app's bytes as sent"
                per = _alike(
                    endpoints,
                    lambda e: self._endpoint(client, svc, port, e, base, why, "passthrough", None),
                )
                return self._summarise(client, svc, port, per, trace, None)
            settings, sstep = self.settings(client, svc, port)
            trace.append(sstep)
            s = settings

            def one(e: Endpoint) -> EndpointResult:
                wire, why, cause = self.endpoint_wire(s, e, port, base)
                return self._endpoint(client, svc, port, e, wire, why, cause, s)

            per = _alike(endpoints, one)
        else:
            why = "the app's own bytes"
            per = _alike(
                endpoints,
                lambda e: self._endpoint(client, svc, port, e, base, why, "no-client-sidecar", None),
            )
        return self._summarise(client, svc, port, per, trace, settings)

    def _summarise(
        self,
        client: Client,
        svc: MeshService,
        port: SvcPort,
        endpoints: tuple[EndpointResult, ...],
        trace: list[Step],
        settings: Settings | None,
    ) -> Outcome:
        if not endpoints:
            trace.append(
                Step(
                    "endpoints",
                    f"no endpoint of {svc.display}:{port.number} is in the inputs",
                    svc.refs,
                )
            )
            return Outcome(
                "unknown",
                "missing-input",
                (),
                tuple(trace),
                None,
                "Add the workloads behind this service to the inputs.",
            )
        verdicts = {e.verdict for e in endpoints}
        worst = max(endpoints, key=lambda e: SEVERITY[e.verdict])
        verdict: Verdict = worst.verdict if len(verdicts) == 1 else "mixed"
        cause = worst.cause
        http = port.protocol.port_class != "tcp"
        sym: Symptom | None = None
        if worst.verdict in ("fail", "denied"):
            sym = symptom(
                cause,
                client_sidecar=client.sidecar,
                http=http,
                presented=worst.presented,
                policy=worst.policy,
            )
        fix = suggest(client, svc, port, worst, settings)
        trace.extend(worst.steps)
        trace.append(Step("result", _result_text(verdict, cause, endpoints), ()))
        return Outcome(verdict, cause, endpoints, tuple(trace), sym, fix)


def _result_text(verdict: str, cause: str | None, endpoints: tuple[EndpointResult, ...]) -> str:
    if verdict == "mixed":
        parts = ", ".join(f"{e.address or e.workload}: {e.verdict}" for e in endpoints)
        return f"mixed: {parts}"
    return verdict if cause is None else f"{verdict} ({cause})"


def _alike(
    endpoints: tuple[Endpoint, ...], decide: Callable[[Endpoint], EndpointResult]
) -> tuple[EndpointResult, ...]:
    """Decide each endpoint; pods of one workload (same server, port, tlsMode, identity and
    source) are decided once and the result is repeated with each pod's address."""
    done: dict[tuple[object, ...], EndpointResult] = {}
    out: list[EndpointResult] = []
    for e in endpoints:
        key = (id(e.server), e.server_cluster, e.target_port, e.tls_mode, e.identity,
               e.source.key, e.namespace)  # fmt: skip
        first = done.get(key)
        if first is None:
            first = done[key] = decide(e)
            out.append(first)
            continue
        steps = first.steps
        if steps and first.address and e.address:
            head = steps[0]
            steps = (
                msgspec.structs.replace(head, decision=head.decision.replace(first.address, e.address, 1)),  # noqa: E501
                *steps[1:],
            )
        out.append(msgspec.structs.replace(first, address=e.address, steps=steps))
    return tuple(out)


def _is_pod(e: Endpoint, pod_or_address: str) -> bool:
    """Whether an endpoint is the pod (or address) a StatefulSet DNS name / pod IP names."""
    if pod_or_address in (e.address, e.source.name):
        return True
    pods = e.server.pods if e.server is not None else ()
    return any(p.name == pod_or_address and p.ip == e.address for p in pods)


def direct_service(
    address: str | None,
    workload_key: str,
    port: int,
    kind: str,
    refs: tuple[ResourceRef, ...],
    app_tls: bool = False,
) -> MeshService:
    """A stand-in service for a call straight to a workload (pod IP, probe)."""
    from mtls_doctor.semantics.protocol import Protocol

    cls = {"http": "HTTP", "tcp": "TCP"}.get(kind, "UNSUPPORTED")
    port_class = kind if kind in ("http", "tcp") else "auto"
    proto = Protocol("HTTPS" if app_tls else cls, port_class, f"{kind} port")  # type: ignore[arg-type]
    host = address or workload_key
    return MeshService(
        kind="Service",
        hostname=host,
        namespace=workload_key.split("/", 1)[0],
        display=host,
        refs=refs,
        ports=(SvcPort(port, None, proto, port),),
        mesh_external=False,
        resolution="direct",
        export_to=(),
        declared_sans=(),
        vips=(address,) if address else (),
        selector=None,
        home_cluster=refs[0].cluster if refs else "",
    )
