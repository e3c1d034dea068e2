"""Istio MeshConfig: the few fields that change mTLS, with Istio's defaults."""

from __future__ import annotations

import msgspec


class _S(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True):
    pass


class OutboundPolicy(_S, frozen=True):
    mode: str = "ALLOW_ANY"


class ExtensionProvider(_S, frozen=True):
    name: str = ""


class MeshMTLS(_S, frozen=True):
    min_protocol_version: str | None = None


class MeshConfig(_S, frozen=True):
    """Defaults are `DefaultMeshConfig()` of istio/istio `pkg/config/mesh/mesh.go`."""

    trust_domain: str = "cluster.local"
    trust_domain_aliases: list[str] = []
    root_namespace: str = "istio-system"
    enable_auto_mtls: bool = True
    outbound_traffic_policy: OutboundPolicy = OutboundPolicy()
    default_service_export_to: list[str] = []
    default_destination_rule_export_to: list[str] = []
    extension_providers: list[ExtensionProvider] = []
    mesh_mtls: MeshMTLS | None = msgspec.field(default=None, name="meshMTLS")

    @property
    def trust_domains(self) -> tuple[str, ...]:
        """The trust domain and its aliases, de-duplicated, in order."""
        return tuple(dict.fromkeys([self.trust_domain, *self.trust_domain_aliases]))


DEFAULT_MESH_CONFIG = MeshConfig()
