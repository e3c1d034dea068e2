"""One edge, decided the way Istio decides it (istio-semantics.md §0 and §11).

client capture → outbound path → cluster TLS (DestinationRule or auto mTLS) → per-endpoint
tlsMode → what the server sidecar does with those bytes on the target port → the peer
identity checks → authorization. Every step is recorded with the resources that decided it.
"""

from __future__ import annotations

from collections.abc import Callable

from mtls_doctor.edges.authz import AuthzSeam, allow_all
from mtls_doctor.edges.client_tls import (
    Client,
    Settings,
    app_wire,
    capture,
    captured,
    cluster_settings,
    endpoint_wire,
    outbound,
    outbound_answer,
)
from mtls_doctor.edges.fixes import suggest
from mtls_doctor.edges.records import SEVERITY, EndpointResult, Outcome, Symptom, Verdict
from mtls_doctor.edges.registry import Endpoint, MeshService, Registry, SvcPort, alike_leads
from mtls_doctor.edges.server import ServerFacts, ServerSides
from mtls_doctor.edges.symptoms import symptom
from mtls_doctor.edges.trust import TrustCheck
from mtls_doctor.model.refs import ResourceRef
from mtls_doctor.semantics.authz import AuthzCondition
from mtls_doctor.semantics.identity import server_accepts_client
from mtls_doctor.semantics.inbound import Wire, inbound
from mtls_doctor.semantics.scope import CompiledScope, outbound_policy
from mtls_doctor.semantics.trace import Step


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
        self._scopes: dict[int, tuple[object, CompiledScope]] = {}

    # -- client side --------------------------------------------------------------------------

    capture = staticmethod(capture)
    captured = staticmethod(captured)

    def outbound(self, client: Client, svc: MeshService, port: SvcPort) -> tuple[bool, str, Step]:
        return outbound(self.mesh, client, svc, port, self.compiled_scope(client))

    def outbound_answer(self, client: Client, svc: MeshService, port: SvcPort) -> tuple[bool, str]:
        """(visible, outbound policy) alone, as a shared outcome needs them."""
        return outbound_answer(self.mesh, client, svc, port, self.compiled_scope(client))

    def compiled_scope(self, client: Client) -> CompiledScope:
        """The client's Sidecar scope, compiled once per Sidecar object (kept here with it,
        so its id stays its own)."""
        side = client.sidecar_resource
        got = self._scopes.get(id(side))
        if got is None:
            got = self._scopes[id(side)] = (side, CompiledScope(side, self.mesh))
        return got[1]

    def settings(self, client: Client, svc: MeshService, port: SvcPort) -> tuple[Settings, Step]:
        return cluster_settings(self.reg, client, svc, port)

    def endpoint_wire(
        self, s: Settings, ep: Endpoint, port: SvcPort, base: Wire
    ) -> tuple[Wire, str, str | None]:
        return endpoint_wire(self.reg, s, ep, port, base)

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
        inner_tls = client.sends_tls or port.protocol.app_tls
        return self._at_server(client, facts, ep, wire, plain_cause, s, steps, inner_tls)

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
        arrived: str | None = None,
        authz: tuple[AuthzCondition, ...] = (),
    ) -> EndpointResult:
        return EndpointResult(
            ep.address, ep.workload_key, ep.server_cluster, verdict, cause, ep.source,
            tuple(steps), plain_cause, presented, expected, policy, arrived, authz,
        )  # fmt: skip

    def _at_server(
        self,
        client: Client,
        f: ServerFacts,
        ep: Endpoint,
        wire: Wire,
        plain_cause: str | None,
        s: Settings | None,
        steps: list[Step],
        inner_tls: bool = False,
    ) -> EndpointResult:
        """What the server side does with `wire`; `inner_tls`: the client app itself speaks
        TLS inside whatever the sidecars add."""
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
            if f.app_tls:
                return self._tls_app_gets_plaintext(ep, steps)
            return self._ep(ep, "plaintext", plain_cause or "no-server-sidecar", steps)
        steps.append(f.mode_step)
        result = inbound(f.pa.mode, f.port_kind, wire)
        if result == "no-filter-chain":
            if wire.startswith("plaintext"):
                cause = "plaintext-rejected"
            elif s is not None and s.mode in ("simple", "mutual"):
                cause = "dr-tls-on-http-port"  # the sidecar's own TLS, not the app's
            else:
                cause = "app-tls-on-http-port"
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
            cause = (
                "untrusted-root" if s is not None and s.mode == "mutual" else "client-cert-missing"
            )
            steps.append(
                Step(
                    "server sidecar",
                    "STRICT requires an Istio client certificate; the client sends TLS without one",
                    (),
                )
            )
            return self._ep(ep, "fail", cause, steps)
        if result == "protocol-error":
            sidecar_tls = wire == "istio-mtls" or (s is not None and s.mode in ("simple", "mutual"))
            cause = "tls-to-plaintext-server" if sidecar_tls else "app-tls-on-http-port"
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
            if f.app_tls:
                return self._tls_app_gets_plaintext(ep, steps)
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
        presented = f.identity
        if self.trust is not None:  # a secret dump shows what the pod really presents
            presented = (
                self.trust.presented(
                    f.cluster, w.namespace, tuple(p.name for p in w.pods), f.identity
                )
                or f.identity
            )
        if expected and presented not in expected:
            steps.append(
                Step(
                    "peer identity",
                    f"the client expects one of {list(expected)} but {w.key} presents "
                    f"{presented}: SAN mismatch",
                    (ep.source,) if ep.source.kind in ("ServiceEntry", "WorkloadEntry") else (),
                )
            )
            return self._ep(
                ep, "fail", "san-mismatch", steps, presented=presented, expected=expected
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
            f"presented {presented} is expected"
            if expected
            else "no SAN list: any mesh identity is accepted"
        )
        steps.append(Step("peer identity", f"{check}; the server accepts $CLIENT_ID", ()))
        if f.app_tls and not inner_tls:
            return self._tls_app_gets_plaintext(ep, steps)
        return self._authorize(client, f, ep, "mtls", None, steps, client.identity)

    def _tls_app_gets_plaintext(self, ep: Endpoint, steps: list[Step]) -> EndpointResult:
        steps.append(
            Step(
                "server app",
                f"port {ep.target_port} of {ep.workload_key} serves TLS (its container port is "
                "named https/tls) but the request reaches it in plaintext: the port is declared "
                "as plaintext to the mesh",
                (),
            )
        )
        return self._ep(ep, "fail", "plaintext-to-tls-app", steps)

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
            if denial.verdict in ("denied", "unknown"):
                v: Verdict = "denied" if denial.verdict == "denied" else "unknown"
                c = "authz-denied" if v == "denied" else "authz-undecidable"
                return self._ep(ep, v, c, steps, policy=denial.policy, arrived=verdict)
        return self._ep(
            ep,
            verdict,
            cause,
            steps,
            plain_cause=cause if verdict == "plaintext" else None,
            arrived=verdict,
            authz=denial.conditions if denial is not None and denial.conditions else (),
        )

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
        if self.captured(client, svc, port):
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
        captured = self.captured(client, svc, port)
        base = app_wire(client, port)
        endpoints = self.reg.endpoints(svc, port)
        leads: tuple[int, ...] | None = self.reg.endpoint_leads(svc, port)
        if only is not None:
            endpoints, leads = tuple(e for e in endpoints if _is_pod(e, only)), None
        settings: Settings | None = None
        if captured:
            visible, mode = self.outbound_answer(client, svc, port)
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
                    leads,
                )
                return self._summarise(client, svc, port, per, trace, None)
            settings, sstep = self.settings(client, svc, port)
            trace.append(sstep)
            s = settings

            def one(e: Endpoint) -> EndpointResult:
                wire, why, cause = self.endpoint_wire(s, e, port, base)
                return self._endpoint(client, svc, port, e, wire, why, cause, s)

            kept, dropped = self._network_filter(client, s, endpoints, port, base)
            if len(kept) != len(endpoints):
                endpoints, leads = kept, None
            trace.extend(dropped)
            if dropped and not endpoints:
                unreachable = EndpointResult(None, None, None, "fail", "network-unreachable")
                return self._summarise(client, svc, port, (unreachable,), trace, settings)
            per = _alike(endpoints, one, leads)
        else:
            why = "the app's own bytes"
            per = _alike(
                endpoints,
                lambda e: self._endpoint(
                    client, svc, port, e, base, why, "no-client-sidecar", None
                ),
                leads,
            )
        return self._summarise(client, svc, port, per, trace, settings)

    def _network_filter(
        self,
        client: Client,
        s: Settings,
        endpoints: tuple[Endpoint, ...],
        port: SvcPort,
        base: Wire,
    ) -> tuple[tuple[Endpoint, ...], list[Step]]:
        """`EndpointsByNetworkFilter`: an endpoint on another network stays only if the client
        reaches it with mTLS (through that network's east-west gateway); the others are left
        out of the client's endpoints (istio-semantics.md §9.2)."""
        if client.network is None:
            return endpoints, []
        kept: list[Endpoint] = []
        steps: list[Step] = []
        for e in endpoints:
            if e.network is None or e.network == client.network:
                kept.append(e)
                continue
            wire, _, _ = self.endpoint_wire(s, e, port, base)
            if wire == "istio-mtls":
                kept.append(e)
                steps.append(
                    Step(
                        "network",
                        f"{e.address or e.workload_key} is on network {e.network} (the client on "
                        f"{client.network}): reached with mTLS through that network's gateway",
                        (e.source,),
                    )
                )
            else:
                steps.append(
                    Step(
                        "network",
                        f"{e.address or e.workload_key} is on network {e.network} (the client on "
                        f"{client.network}) and would get plaintext: istiod leaves it out of the "
                        "client's endpoints",
                        (e.source,),
                    )
                )
        return tuple(kept), steps

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
        worst = endpoints[0]
        alike = True
        for e in endpoints:
            if e.verdict != worst.verdict:
                alike = False
                if SEVERITY[e.verdict] > SEVERITY[worst.verdict]:
                    worst = e  # the first of the worst
        verdict: Verdict = worst.verdict if alike else "mixed"
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
                caller=client.name,
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
    endpoints: tuple[Endpoint, ...],
    decide: Callable[[Endpoint], EndpointResult],
    leads: tuple[int, ...] | None = None,
) -> tuple[EndpointResult, ...]:
    """Decide each endpoint; endpoints alike (`alike_leads`) are decided once and the result
    is repeated with each pod's address."""
    if leads is None:
        leads = alike_leads(endpoints)
    out: list[EndpointResult] = []
    for i, e in enumerate(endpoints):
        lead = leads[i]
        out.append(decide(e) if lead == i else out[lead].at(e.address))
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
