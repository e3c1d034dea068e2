"""Typed subsets of the Istio kinds mtls-doctor reads, any API version (v1alpha3/v1beta1/v1)."""

from __future__ import annotations

import msgspec

from mtls_doctor.model.kube import Meta


class _S(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True):
    pass


class WorkloadSelector(_S, frozen=True):
    match_labels: dict[str, str] = {}


class MTLS(_S, frozen=True):
    mode: str = "UNSET"


class PeerAuthenticationSpec(_S, frozen=True):
    selector: WorkloadSelector | None = None
    mtls: MTLS | None = None
    port_level_mtls: dict[int, MTLS] = {}


class PeerAuthentication(_S, frozen=True, tag="PeerAuthentication", tag_field="kind"):
    metadata: Meta = Meta()
    spec: PeerAuthenticationSpec = PeerAuthenticationSpec()


class ClientTLS(_S, frozen=True):
    mode: str = "DISABLE"
    sni: str | None = None
    subject_alt_names: list[str] | None = None
    credential_name: str | None = None
    ca_certificates: str | None = None
    client_certificate: str | None = None
    private_key: str | None = None
    insecure_skip_verify: bool | None = None


class PortSelector(_S, frozen=True):
    number: int = 0


class PortTrafficPolicy(_S, frozen=True):
    port: PortSelector | None = None
    tls: ClientTLS | None = None


class TrafficPolicy(_S, frozen=True):
    tls: ClientTLS | None = None
    port_level_settings: list[PortTrafficPolicy] = []


class Subset(_S, frozen=True):
    name: str = ""
    labels: dict[str, str] = {}
    traffic_policy: TrafficPolicy | None = None


class DestinationRuleSpec(_S, frozen=True):
    host: str = ""
    traffic_policy: TrafficPolicy | None = None
    subsets: list[Subset] = []
    export_to: list[str] | None = None
    workload_selector: WorkloadSelector | None = None


class DestinationRule(_S, frozen=True, tag="DestinationRule", tag_field="kind"):
    metadata: Meta = Meta()
    spec: DestinationRuleSpec = DestinationRuleSpec()


class WorkloadEntrySpec(_S, frozen=True):
    address: str = ""
    ports: dict[str, int] = {}
    labels: dict[str, str] = {}
    network: str | None = None
    service_account: str | None = None


class WorkloadEntry(_S, frozen=True, tag="WorkloadEntry", tag_field="kind"):
    metadata: Meta = Meta()
    spec: WorkloadEntrySpec = WorkloadEntrySpec()


class SEPort(_S, frozen=True):
    number: int = 0
    protocol: str | None = None
    name: str | None = None
    target_port: int | None = None


class SEWorkloadSelector(_S, frozen=True):
    labels: dict[str, str] = {}


class ServiceEntrySpec(_S, frozen=True):
    hosts: list[str] = []
    addresses: list[str] = []
    ports: list[SEPort] = []
    location: str = "MESH_EXTERNAL"
    resolution: str = "NONE"
    endpoints: list[WorkloadEntrySpec] = []
    workload_selector: SEWorkloadSelector | None = None
    export_to: list[str] | None = None
    subject_alt_names: list[str] = []


class ServiceEntry(_S, frozen=True, tag="ServiceEntry", tag_field="kind"):
    metadata: Meta = Meta()
    spec: ServiceEntrySpec = ServiceEntrySpec()


class IstioEgressListener(_S, frozen=True):
    hosts: list[str] = []
    port: PortSelector | None = None


class OutboundTrafficPolicy(_S, frozen=True):
    mode: str = "ALLOW_ANY"


class SidecarSpec(_S, frozen=True):
    workload_selector: SEWorkloadSelector | None = None
    egress: list[IstioEgressListener] = []
    outbound_traffic_policy: OutboundTrafficPolicy | None = None


class Sidecar(_S, frozen=True, tag="Sidecar", tag_field="kind"):
    metadata: Meta = Meta()
    spec: SidecarSpec = SidecarSpec()


class Source(_S, frozen=True):
    principals: list[str] = []
    not_principals: list[str] = []
    request_principals: list[str] = []
    not_request_principals: list[str] = []
    namespaces: list[str] = []
    not_namespaces: list[str] = []
    service_accounts: list[str] = []
    not_service_accounts: list[str] = []
    ip_blocks: list[str] = []
    not_ip_blocks: list[str] = []
    remote_ip_blocks: list[str] = []
    not_remote_ip_blocks: list[str] = []


class Operation(_S, frozen=True):
    hosts: list[str] = []
    not_hosts: list[str] = []
    ports: list[str] = []
    not_ports: list[str] = []
    methods: list[str] = []
    not_methods: list[str] = []
    paths: list[str] = []
    not_paths: list[str] = []


class RuleFrom(_S, frozen=True):
    source: Source = Source()


class RuleTo(_S, frozen=True):
    operation: Operation = Operation()


class Condition(_S, frozen=True):
    key: str = ""
    values: list[str] = []
    not_values: list[str] = []


class Rule(_S, frozen=True):
    from_: list[RuleFrom] = msgspec.field(default_factory=list, name="from")
    to: list[RuleTo] = []
    when: list[Condition] = []


class TargetRef(_S, frozen=True):
    kind: str = ""
    group: str = ""
    name: str = ""
    namespace: str = ""


class Provider(_S, frozen=True):
    name: str = ""


class AuthorizationPolicySpec(_S, frozen=True):
    selector: WorkloadSelector | None = None
    target_ref: TargetRef | None = None
    target_refs: list[TargetRef] = []
    action: str = "ALLOW"
    provider: Provider | None = None
    rules: list[Rule] | None = None


class AuthorizationPolicy(_S, frozen=True, tag="AuthorizationPolicy", tag_field="kind"):
    metadata: Meta = Meta()
    spec: AuthorizationPolicySpec = AuthorizationPolicySpec()


ISTIO_KINDS: tuple[type[msgspec.Struct], ...] = (
    PeerAuthentication,
    DestinationRule,
    ServiceEntry,
    WorkloadEntry,
    Sidecar,
    AuthorizationPolicy,
)
