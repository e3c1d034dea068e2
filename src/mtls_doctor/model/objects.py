"""From raw mappings (or raw JSON bytes) to typed objects, each with cluster and origin.

Two roads lead here. Small inputs and YAML go through `sources.documents` and are converted one
object at a time, so a wrong type costs only that object. A large `kubectl get -o json` List is
decoded straight into typed structs (the fast road): in one pass when every kind in it is read
or ignored, else item by item with the kinds nobody knows counted as the careful road counts
them. If that fails for any reason the file takes the careful road.
"""

from __future__ import annotations

import re
from typing import Any, Generic, TypeVar, Union

import msgspec

from mtls_doctor.model import istio, kube
from mtls_doctor.model.refs import Origin
from mtls_doctor.record import Record
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
    """A typed object with the cluster it belongs to and where it was read. Its kind and
    metadata are fields, filled by `loaded()`: the analysis reads them hundreds of thousands
    of times on a big mesh, and a field costs a compiled caller far less than a property."""

    cluster: str
    origin: Origin
    obj: T
    kind: str
    meta: kube.Meta
    namespace: str
    name: str


def loaded(cluster: str, origin: Origin, obj: T, kind: str | None = None) -> Loaded[T]:
    """`obj` (a typed object of one of `KINDS`) read from `origin` in `cluster`."""
    meta: kube.Meta = obj.metadata  # type: ignore[attr-defined]
    if kind is None:
        kind = KIND_OF.get(type(obj)) or str(type(obj).__struct_config__.tag)  # type: ignore[attr-defined]
    return Loaded(cluster, origin, obj, kind, meta, meta.namespace, meta.name)


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
    got: Loaded[Any] = loaded(raw.cluster, raw.origin, obj, kind)
    if not got.name:
        problems.append(InputProblem(raw.origin, f"{kind} without metadata.name; skipped"))
        return None
    return got


def _display_name(raw: RawObject) -> str:
    ns = raw.namespace
    return f"{ns}/{raw.name}" if ns else raw.name or "(unnamed)"


class FastRead(Record):
    """What the fast road made of one file: the objects of the kinds read, and for each kind
    neither read nor ignored, how many objects it had and where the first one was."""

    objects: list[Loaded[Any]]
    unknown: dict[str, tuple[int, Origin]]


def _skipped(kind: str) -> Any:
    """A struct with no fields for an ignored kind: the decoder skips its body in C."""
    return msgspec.defstruct(f"_Skipped{kind}", [], tag=kind, tag_field="kind", frozen=True)


# Every kind read, and every kind ignored (decoded to nothing): one tagged union over both.
_ITEM: Any = Union[(*KINDS.values(), *(_skipped(k) for k in sorted(IGNORED_KINDS)))]
_FAST_DECODER: msgspec.json.Decoder[Any] = msgspec.json.Decoder(
    msgspec.defstruct("_FastList", [("items", list[_ITEM])])
)
_ITEM_DECODER: msgspec.json.Decoder[Any] = msgspec.json.Decoder(_ITEM)


class _RawList(msgspec.Struct):
    items: list[msgspec.Raw]


class _Kind(msgspec.Struct):
    kind: str = ""


_RAW_DECODER = msgspec.json.Decoder(_RawList)
_KIND_DECODER = msgspec.json.Decoder(_Kind)
_NOT_JSON = (msgspec.ValidationError, msgspec.DecodeError)


def fast_decode(cluster: str, display: str, raw: Buffer) -> FastRead | None:
    """Decode a big JSON List straight into typed objects: in one pass when every kind in it
    is read or ignored, else item by item. None when it does not fit that shape: a known kind
    with a wrong type, an object without name or kind, broken JSON (the careful road says)."""
    with ItemLines(raw) as item_lines:  # found on the other core while this one decodes
        entries = _decode_at_once(raw)
        if entries is None:
            entries = _decode_each(raw)
        if entries is None:
            return None
        lines = item_lines.get(len(entries))
    return _assemble(cluster, display, entries, lines)


def _decode_at_once(raw: Buffer) -> list[Any] | None:
    """Every item typed in one pass, or None if one of them is of a kind nobody knows."""
    try:
        items: list[Any] = _FAST_DECODER.decode(raw).items
    except _NOT_JSON:
        return None
    return items


def _decode_each(raw: Buffer) -> list[Any] | None:
    """Every item typed on its own; an item of a kind neither read nor ignored is its kind."""
    try:
        items = _RAW_DECODER.decode(raw).items  # views into `raw`: gone when this returns
    except _NOT_JSON:
        return None
    entries: list[Any] = []
    for item in items:
        entry = _decode_item(item)
        if entry is None:
            return None
        entries.append(entry)
    return entries


def _decode_item(item: msgspec.Raw) -> Any:
    try:
        return _ITEM_DECODER.decode(item)
    except _NOT_JSON:
        pass
    try:
        kind = _KIND_DECODER.decode(item).kind
    except _NOT_JSON:
        return None  # not an object, or a kind that is not a string
    if not kind or kind == "List" or kind in KINDS:
        return None  # no kind, a nested List, or a known kind that does not fit its type
    return kind


def _assemble(
    cluster: str, display: str, entries: list[Any], lines: list[int] | None
) -> FastRead | None:
    """Objects of the kinds read with their origins; the kinds nobody knows counted. None when
    an object has no name (the careful road says which)."""
    if lines is None:
        origins = [Origin(f"{display}#items[{i}]") for i in range(len(entries))]
    else:
        origins = [Origin(display, n) for n in lines]
    objects: list[Loaded[Any]] = []
    unknown: dict[str, tuple[int, Origin]] = {}
    kind_of = KIND_OF
    for origin, entry in zip(origins, entries, strict=True):
        kind = kind_of.get(type(entry))
        if kind is not None:
            meta = entry.metadata
            if not meta.name:
                return None
            objects.append(Loaded(cluster, origin, entry, kind, meta, meta.namespace, meta.name))
        elif isinstance(entry, str):
            count, first = unknown.get(entry, (0, origin))
            unknown[entry] = (count + 1, first)
    return FastRead(objects, unknown)
