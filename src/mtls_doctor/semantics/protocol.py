"""Port protocol selection (istio-semantics.md §7): the listener class and whether the app
itself speaks TLS on the port."""

from __future__ import annotations

from typing import Final, Literal

PortClass = Literal["http", "tcp", "auto", "udp"]

_HTTP = {"http", "http2", "grpc", "grpc-web", "http_proxy"}
_TCP = {"tcp", "https", "tls", "mongo", "redis", "mysql"}
_WELL_KNOWN_TCP = {25, 53, 3306, 27017}


class Protocol:
    """A port's protocol (a plain class: the edge evaluation reads it on every edge)."""

    __slots__ = ("name", "port_class", "why")

    def __init__(self, name: str, port_class: PortClass, why: str) -> None:
        self.name: Final = name  # the Istio protocol, upper case (HTTP, TCP, ...) or UNSUPPORTED
        self.port_class: Final = port_class
        self.why: Final = why

    def __repr__(self) -> str:
        return f"Protocol({self.name!r}, {self.port_class!r}, {self.why!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Protocol) and (self.name, self.port_class, self.why) == (
            other.name,
            other.port_class,
            other.why,
        )

    def __hash__(self) -> int:
        return hash((self.name, self.port_class, self.why))

    @property
    def app_tls(self) -> bool:
        """The application speaks TLS itself on this port (HTTPS / TLS)."""
        return self.name in ("HTTPS", "TLS")


def _parse(value: str) -> str | None:
    v = value.lower()
    if v.startswith("grpc-web"):
        return "grpc-web"
    prefix = v.split("-", 1)[0]
    if prefix in _HTTP or prefix in _TCP or prefix == "udp":
        return prefix
    return None


def _classify(proto: str | None, why: str) -> Protocol:
    if proto is None:
        return Protocol("UNSUPPORTED", "auto", why + " → protocol sniffing (auto)")
    if proto == "udp":
        return Protocol("UDP", "udp", why)
    cls: PortClass = "http" if proto in _HTTP else "tcp"
    return Protocol(proto.upper().replace("_", "-"), cls, why)


_KUBE_PORTS: dict[tuple[str | None, str | None, str, int], Protocol] = {}


def kube_port(name: str | None, app_protocol: str | None, protocol: str, port: int) -> Protocol:
    """`ConvertProtocol` for a Kubernetes Service port (a mesh repeats a few port names, so
    each combination is worked out once)."""
    key = (name, app_protocol, protocol, port)
    got = _KUBE_PORTS.get(key)
    if got is None:
        got = _KUBE_PORTS[key] = _kube_port(name, app_protocol, protocol, port)
    return got


def _kube_port(name: str | None, app_protocol: str | None, protocol: str, port: int) -> Protocol:
    if protocol.upper() == "UDP":
        return Protocol("UDP", "udp", "protocol: UDP")
    if app_protocol:
        special = {"kubernetes.io/h2c": "http2", "kubernetes.io/ws": "http",
                   "kubernetes.io/wss": "https"}  # fmt: skip
        proto = special.get(app_protocol) or _parse(app_protocol)
        if proto is not None:
            return _classify(proto, f"appProtocol {app_protocol}")
    if name:
        proto = _parse(name)
        if proto is not None:
            return _classify(proto, f"port name {name!r}")
    if port in _WELL_KNOWN_TCP:
        return Protocol("TCP", "tcp", f"unnamed well-known port {port} defaults to TCP")
    return _classify(None, f"port name {name!r} names no protocol" if name else "unnamed port")


def service_entry_port(protocol: str | None) -> Protocol:
    """ServiceEntry ports use only the `protocol` field; the name is ignored."""
    if not protocol:
        return _classify(None, "ServiceEntry port without protocol")
    return _classify(_parse(protocol), f"ServiceEntry protocol {protocol}")
