"""From raw mappings (or raw JSON bytes) to typed objects, each with cluster and origin.

Two roads lead here. Small inputs and YAML go through `sources.documents` and are converted one
object at a time, so a wrong type costs only that object. A large `kubectl get -o json` List
whose kinds are all known is decoded in one pass straight into typed structs (the fast road);
if that fails for any reason the file takes the careful road.
"""

from __future__ import annotations

import re
from typing import Any, Generic, TypeVar

import msgspec

from mtls_doctor.model import istio, kube
from mtls_doctor.model.refs import Origin
from mtls_doctor.sources.documents import Buffer, RawObject
from mtls_doctor.sources.item_lines import ItemLines
from mtls_doctor.sources.problems import InputProblem

T = TypeVar("T")

KINDS: dict[str, type[msgspec.Struct]] = {
    str(cls.__struct_config__.tag): cls for cls in (*kube.KUBE_KINDS, *istio.ISTIO_KINDS)
}
KIND_OF: dict[type, str] = {cls: kind for kind, cls in KINDS.items()}

# Kinds that appear in dumps and manifests but decide nothing here: read silently.
IGNORED_KINDS = frozenset(
    {
        "Endpoints", "EndpointSlice", "Event", "Node", "PersistentVolume",
        "PersistentVolumeClaim", "StorageClass", "Role", "RoleBinding", "ClusterRole",
        "ClusterRoleBinding", "CustomResourceDefinition", "HorizontalPodAutoscaler",
        "PodDisruptionBudget", "NetworkPolicy", "Ingress", "IngressClass", "LimitRange",
        "ResourceQuota", "ControllerRevision", "Lease", "PriorityClass", "APIService",
        "VirtualService", "Gateway", "HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute",
        "GatewayClass", "ReferenceGrant", "RequestAuthentication", "EnvoyFilter", "Telemetry",
        "ProxyConfig", "WasmPlugin", "WorkloadGroup", "IstioOperator", "CSIDriver",
        "PodSecurityPolicy", "ServiceMonitor", "PodMonitor", "Certificate", "Issuer",
        "ClusterIssuer", "CertificateRequest", "Order", "Challenge", "BackendTLSPolicy",
    }
)  # fmt: skip

# Kinds whose objects have no namespace.
CLUSTER_SCOPED = frozenset(
    {"Namespace", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}
)

_STRING_MAP_KEYS = frozenset({"labels", "annotations", "matchLabels", "selector"})


class Loaded(msgspec.Struct, Generic[T], frozen=True):
    """A typed object with the cluster it belongs to and where it was read."""

    cluster: str
    origin: Origin
    obj: T

    @property
    def meta(self) -> kube.Meta:
        meta: kube.Meta = self.obj.metadata  # type: ignore[attr-defined]
        return meta

    @property
    def kind(self) -> str:
        kind = KIND_OF.get(type(self.obj))
        if kind is None:
            return str(type(self.obj).__struct_config__.tag)  # type: ignore[attr-defined]
        return kind

    @property
    def namespace(self) -> str:
        return self.meta.namespace

    @property
    def name(self) -> str:
        return self.meta.name


def _yaml11_str(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _sanitize(raw: RawObject, problems: list[InputProblem]) -> dict[str, Any]:
    """Coerce non-string label, annotation and selector values (an unquoted `false`, a bare
    number) to the strings Kubernetes needs, with a warning naming the object."""

    def fix(node: Any, path: str) -> Any:
        if isinstance(node, list):
            return [fix(v, f"{path}[{i}]") for i, v in enumerate(node)]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for k, v in node.items():
            key = str(k)
            if (
                key in _STRING_MAP_KEYS
                and isinstance(v, dict)
                and all(not isinstance(x, (dict, list)) for x in v.values())
            ):
                fixed: dict[str, Any] = {}
                for lk, lv in v.items():
                    if not isinstance(lv, str):
                        problems.append(
                            InputProblem(
                                raw.origin,
                                f"{raw.kind} {_display_name(raw)}: {path}.{key}[{lk!r}] is not a "
                                f"string ({lv!r}); Kubernetes would reject it; read as "
                                f"{_yaml11_str(lv)!r} (quote it in the manifest)",
                                "warning",
                            )
                        )
                    fixed[str(lk)] = lv if isinstance(lv, str) else _yaml11_str(lv)
                out[key] = fixed
            else:
                out[key] = fix(v, f"{path}.{key}")
        return out

    fixed_data: dict[str, Any] = fix(raw.data, "")
    return fixed_data


_PATH = re.compile(r" - at `(\$[^`]*)`")


def convert(raw: RawObject, problems: list[InputProblem]) -> Loaded[Any] | None:
    """The typed form of one raw object, or None (with a problem) when it cannot be used."""
    kind = raw.kind
    cls = KINDS.get(kind)
    if cls is None:
        return None
    data = _sanitize(raw, problems)
    try:
        obj = msgspec.convert(data, type=cls, strict=False)
    except msgspec.ValidationError as exc:
        text = str(exc)
        m = _PATH.search(text)
        where = f" at {m.group(1).replace('$', 'the object', 1)}" if m else ""
        problems.append(
            InputProblem(
                raw.origin,
                f"{kind} {_display_name(raw)}: {_PATH.sub('', text)}{where}; object skipped",
            )
        )
        return None
    loaded: Loaded[Any] = Loaded(raw.cluster, raw.origin, obj)
    if not loaded.name:
        problems.append(InputProblem(raw.origin, f"{kind} without metadata.name; skipped"))
        return None
    return loaded


def _display_name(raw: RawObject) -> str:
    ns = raw.namespace
    return f"{ns}/{raw.name}" if ns else raw.name or "(unnamed)"


class _FastList(msgspec.Struct):
    items: list[
        kube.Pod | kube.Deployment | kube.StatefulSet | kube.DaemonSet | kube.ReplicaSet
        | kube.Job | kube.CronJob | kube.Service | kube.Namespace | kube.ServiceAccount
        | kube.ConfigMap | kube.Secret | kube.MutatingWebhookConfiguration
        | kube.ValidatingWebhookConfiguration | istio.PeerAuthentication
        | istio.DestinationRule | istio.ServiceEntry | istio.WorkloadEntry | istio.Sidecar
        | istio.AuthorizationPolicy
    ]  # fmt: skip


_FAST_DECODER = msgspec.json.Decoder(_FastList)


def fast_decode(cluster: str, display: str, raw: Buffer) -> list[Loaded[Any]] | None:
    """Decode a JSON List of known kinds in one pass; None if it does not fit that shape."""
    with ItemLines(raw) as item_lines:  # found on the other core while this one decodes
        try:
            doc = _FAST_DECODER.decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None
        items = doc.items
        if not all(obj.metadata.name for obj in items):
            return None  # let the careful road report it
        lines = item_lines.get(len(items))
    if lines is None:
        return [Loaded(cluster, Origin(f"{display}#items[{i}]"), o) for i, o in enumerate(items)]
    return [Loaded(cluster, Origin(display, n), o) for n, o in zip(lines, items, strict=True)]
