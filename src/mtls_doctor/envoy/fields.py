"""Field access that reads both Envoy's snake_case and istioctl's lowerCamelCase JSON.

Envoy's `/config_dump` writes proto field names (`transport_socket_matches`); `istioctl
proxy-config ... -o json` re-marshals with proto-JSON names (`transportSocketMatches`). Only
field *names* differ: map keys that are data (metadata namespaces like
`envoy.transport_socket_match`, the `tlsMode` label, RBAC policy names) are never renamed, so
we look fields up by name instead of rewriting whole documents.
"""

from __future__ import annotations

from functools import cache
from typing import Any

JSON = dict[str, Any]


@cache
def camel(name: str) -> str:
    """`transport_socket_matches` -> `transportSocketMatches`."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def get(obj: object, name: str, default: Any = None) -> Any:
    """Field `name` (given in snake_case) of a JSON object in either naming style."""
    if not isinstance(obj, dict):
        return default
    if name in obj:
        return obj[name]
    alt = camel(name)
    if alt in obj:
        return obj[alt]
    return default


def obj(parent: object, name: str) -> JSON:
    """A sub-object, or an empty dict when absent or not an object."""
    value = get(parent, name)
    return value if isinstance(value, dict) else {}


def arr(parent: object, name: str) -> list[Any]:
    """A list field, or an empty list."""
    value = get(parent, name)
    return value if isinstance(value, list) else []


def text(parent: object, name: str) -> str | None:
    value = get(parent, name)
    if value is None:
        return None
    return str(value)


def path(parent: object, *names: str) -> Any:
    """Walk nested fields: path(c, "transport_socket", "typed_config")."""
    cur: Any = parent
    for name in names:
        cur = get(cur, name)
        if cur is None:
            return None
    return cur


def type_url(value: object) -> str:
    """The `@type` of a typed config, without the `type.googleapis.com/` prefix."""
    t = get(value, "@type")
    if not isinstance(t, str):
        return ""
    return t.rsplit("/", 1)[-1]


def typed_config(filter_or_socket: object) -> JSON:
    """The `typed_config` of a filter/transport socket; unwraps udpa/xds TypedStruct."""
    cfg = obj(filter_or_socket, "typed_config")
    if type_url(cfg).endswith("TypedStruct"):
        inner = obj(cfg, "value")
        return {"@type": get(cfg, "type_url") or "", **inner}
    return cfg
