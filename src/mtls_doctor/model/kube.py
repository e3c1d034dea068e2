"""Typed subsets of the Kubernetes kinds mtls-doctor reads (only the fields it uses).

Field names follow the Kubernetes JSON (camelCase); unknown fields are ignored and missing ones
take Kubernetes' defaults. Decoded straight from JSON by msgspec for large dumps.
"""

from __future__ import annotations

import msgspec


class _S(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True):
    pass


class OwnerRef(_S, frozen=True):
    kind: str = ""
    name: str = ""
    controller: bool | None = None


class Meta(_S, frozen=True):
    name: str = ""
    namespace: str = ""
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    owner_references: list[OwnerRef] = []
    creation_timestamp: str | None = None


class LabelSelector(_S, frozen=True):
    match_labels: dict[str, str] = {}


class ContainerPort(_S, frozen=True):
    container_port: int = 0
    name: str | None = None
    protocol: str = "TCP"


class HTTPGetAction(_S, frozen=True):
    port: int | str = 0
    path: str = "/"
    scheme: str = "HTTP"


class PortAction(_S, frozen=True):
    port: int | str = 0


class Probe(_S, frozen=True):
    http_get: HTTPGetAction | None = None
    tcp_socket: PortAction | None = None
    grpc: PortAction | None = None


class Container(_S, frozen=True):
    name: str = ""
    args: list[str] = []
    ports: list[ContainerPort] = []
    readiness_probe: Probe | None = None
    liveness_probe: Probe | None = None
    startup_probe: Probe | None = None


class PodSpec(_S, frozen=True):
    service_account_name: str | None = None
    service_account: str | None = None
    host_network: bool = False
    containers: list[Container] = []
    init_containers: list[Container] = []


class PodIP(_S, frozen=True):
    ip: str = ""


class PodStatus(_S, frozen=True):
    phase: str | None = None
    pod_ip: str | None = msgspec.field(default=None, name="podIP")
    pod_ips: list[PodIP] = msgspec.field(default_factory=list, name="podIPs")


class PodTemplate(_S, frozen=True):
    metadata: Meta = Meta()
    spec: PodSpec = PodSpec()


class Pod(_S, frozen=True, tag="Pod", tag_field="kind"):
    metadata: Meta = Meta()
    spec: PodSpec = PodSpec()
    status: PodStatus | None = None


class ControllerSpec(_S, frozen=True):
    selector: LabelSelector | None = None
    template: PodTemplate = PodTemplate()


class Deployment(_S, frozen=True, tag="Deployment", tag_field="kind"):
    metadata: Meta = Meta()
    spec: ControllerSpec = ControllerSpec()


class StatefulSet(_S, frozen=True, tag="StatefulSet", tag_field="kind"):
    metadata: Meta = Meta()
    spec: ControllerSpec = ControllerSpec()


class DaemonSet(_S, frozen=True, tag="DaemonSet", tag_field="kind"):
    metadata: Meta = Meta()
    spec: ControllerSpec = ControllerSpec()


class ReplicaSet(_S, frozen=True, tag="ReplicaSet", tag_field="kind"):
    metadata: Meta = Meta()
    spec: ControllerSpec = ControllerSpec()


class Job(_S, frozen=True, tag="Job", tag_field="kind"):
    metadata: Meta = Meta()
    spec: ControllerSpec = ControllerSpec()


class JobTemplate(_S, frozen=True):
    spec: ControllerSpec = ControllerSpec()


class CronJobSpec(_S, frozen=True):
    job_template: JobTemplate = JobTemplate()


class CronJob(_S, frozen=True, tag="CronJob", tag_field="kind"):
    metadata: Meta = Meta()
    spec: CronJobSpec = CronJobSpec()


class ServicePort(_S, frozen=True):
    port: int = 0
    name: str | None = None
    target_port: int | str | None = None
    protocol: str = "TCP"
    app_protocol: str | None = None


class ServiceSpec(_S, frozen=True):
    type: str = "ClusterIP"
    cluster_ip: str | None = msgspec.field(default=None, name="clusterIP")
    selector: dict[str, str] | None = None
    ports: list[ServicePort] = []
    external_name: str | None = None


class Service(_S, frozen=True, tag="Service", tag_field="kind"):
    metadata: Meta = Meta()
    spec: ServiceSpec = ServiceSpec()


class Namespace(_S, frozen=True, tag="Namespace", tag_field="kind"):
    metadata: Meta = Meta()


class ServiceAccount(_S, frozen=True, tag="ServiceAccount", tag_field="kind"):
    metadata: Meta = Meta()


class ConfigMap(_S, frozen=True, tag="ConfigMap", tag_field="kind"):
    metadata: Meta = Meta()
    data: dict[str, str] = {}


class Secret(_S, frozen=True, tag="Secret", tag_field="kind"):
    """Only the metadata and the data keys matter here (remote secrets); values stay opaque."""

    metadata: Meta = Meta()
    type: str = ""
    data: dict[str, str] = {}


class WebhookService(_S, frozen=True):
    name: str = ""
    namespace: str = ""
    port: int = 443
    path: str | None = None


class WebhookClientConfig(_S, frozen=True):
    service: WebhookService | None = None
    url: str | None = None


class Webhook(_S, frozen=True):
    name: str = ""
    client_config: WebhookClientConfig = WebhookClientConfig()


class MutatingWebhookConfiguration(
    _S, frozen=True, tag="MutatingWebhookConfiguration", tag_field="kind"
):
    metadata: Meta = Meta()
    webhooks: list[Webhook] = []


class ValidatingWebhookConfiguration(
    _S, frozen=True, tag="ValidatingWebhookConfiguration", tag_field="kind"
):
    metadata: Meta = Meta()
    webhooks: list[Webhook] = []


KUBE_KINDS: tuple[type[msgspec.Struct], ...] = (
    Pod,
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    Job,
    CronJob,
    Service,
    Namespace,
    ServiceAccount,
    ConfigMap,
    Secret,
    MutatingWebhookConfiguration,
    ValidatingWebhookConfiguration,
)
