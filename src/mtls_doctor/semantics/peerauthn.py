"""PeerAuthentication: the server's mTLS mode for a workload and port (istio-semantics.md §1).

Order: oldest first (creationTimestamp, then name, then namespace). Per namespace only the oldest
namespace-wide policy counts; selector policies in the root namespace are ignored; mesh ->
namespace -> workload, UNSET inherits; `portLevelMtls` (keyed by the container port) only from the
winning workload policy.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Final, Literal

from mtls_doctor.model.istio import PeerAuthentication
from mtls_doctor.model.objects import Loaded
from mtls_doctor.model.refs import ResourceRef
from mtls_doctor.semantics.trace import selects

Mode = Literal["STRICT", "PERMISSIVE", "DISABLE"]
_MODES = ("STRICT", "PERMISSIVE", "DISABLE")


class PAResult:
    """A workload port's PeerAuthentication mode, why, and the policies that decided it."""

    __slots__ = ("mode", "resources", "why")

    def __init__(self, mode: Mode, why: str, resources: tuple[ResourceRef, ...]) -> None:
        self.mode: Final = mode
        self.why: Final = why
        self.resources: Final = resources

    def __repr__(self) -> str:
        return f"PAResult({self.mode!r}, {self.why!r})"


def _ref(p: Loaded[PeerAuthentication]) -> ResourceRef:
    return ResourceRef("PeerAuthentication", p.namespace, p.name, p.cluster, p.origin)


def _mode(value: str | None) -> Mode | None:
    return value if value in _MODES else None  # type: ignore[return-value]


def admission_error(pa: PeerAuthentication) -> str | None:
    """Why the API server would reject this policy (CEL rules and `ValidatePeerAuthentication`);
    a rejected policy never reaches istiod."""
    spec = pa.spec
    has_selector = bool(spec.selector and spec.selector.match_labels)
    if spec.port_level_mtls and not has_selector:
        return (
            "portLevelMtls requires a selector (mesh/namespace policies cannot set port-level mTLS)"
        )
    bad = [p for p in spec.port_level_mtls if not 1 <= p <= 65535]
    if bad:
        return f"portLevelMtls port {bad[0]} is outside 1..65535"
    return None


def creation_order(obj: Loaded[Any]) -> tuple[str, str, str]:
    """Istio's `configCompareByCreationTime`: time, then name, then namespace."""
    return (obj.meta.creation_timestamp or "", obj.name, obj.namespace)


class PAIndex:
    """The PeerAuthentications of one cluster, indexed the way istiod indexes them."""

    def __init__(self, policies: list[Loaded[PeerAuthentication]], root_namespace: str) -> None:
        self.root = root_namespace
        ordered = sorted(policies, key=creation_order)
        self.namespace_wide: dict[str, Loaded[PeerAuthentication]] = {}
        self.shadowed: list[tuple[Loaded[PeerAuthentication], Loaded[PeerAuthentication]]] = []
        self.root_selector_ignored: list[Loaded[PeerAuthentication]] = []
        self.workload: dict[str, list[Loaded[PeerAuthentication]]] = defaultdict(list)
        self.rejected: list[tuple[Loaded[PeerAuthentication], str]] = []
        for p in ordered:
            sel = p.obj.spec.selector.match_labels if p.obj.spec.selector else {}
            reason = admission_error(p.obj)
            if reason is not None:
                self.rejected.append((p, reason))
                continue
            if not sel:
                kept = self.namespace_wide.get(p.namespace)
                if kept is None:
                    self.namespace_wide[p.namespace] = p
                else:
                    self.shadowed.append((p, kept))
            elif p.namespace == root_namespace:
                self.root_selector_ignored.append(p)
            else:
                self.workload[p.namespace].append(p)
        self.all = ordered
        self._ns_modes: dict[str, PAResult] = {}

    @property
    def mesh(self) -> Loaded[PeerAuthentication] | None:
        return self.namespace_wide.get(self.root)

    def namespace_mode(self, namespace: str) -> PAResult:
        """`GetNamespaceMutualTLSMode`: mesh/namespace level only (what auto mTLS consults)."""
        got = self._ns_modes.get(namespace)
        if got is None:
            got = self._ns_modes[namespace] = self._namespace_mode(namespace)
        return got

    def _namespace_mode(self, namespace: str) -> PAResult:
        mesh = self.mesh
        mesh_mode = _mode(mesh.obj.spec.mtls.mode if mesh and mesh.obj.spec.mtls else None)
        base: Mode = mesh_mode or "PERMISSIVE"
        refs: tuple[ResourceRef, ...] = (_ref(mesh),) if mesh else ()
        why = (
            f"mesh-wide PeerAuthentication {mesh.namespace}/{mesh.name} says {base}"
            if mesh
            else "no mesh-wide PeerAuthentication: PERMISSIVE"
        )
        ns_policy = self.namespace_wide.get(namespace) if namespace != self.root else None
        if ns_policy is not None:
            ns_mode = _mode(ns_policy.obj.spec.mtls.mode if ns_policy.obj.spec.mtls else None)
            refs = (*refs, _ref(ns_policy))
            if ns_mode is not None:
                return PAResult(
                    ns_mode,
                    f"namespace PeerAuthentication {ns_policy.namespace}/{ns_policy.name} "
                    f"says {ns_mode}",
                    refs,
                )
            why += f"; namespace policy {ns_policy.namespace}/{ns_policy.name} inherits it"
        return PAResult(base, why, refs)

    def workload_policy(
        self, namespace: str, labels: dict[str, str]
    ) -> Loaded[PeerAuthentication] | None:
        for p in self.workload.get(namespace, ()):
            sel = p.obj.spec.selector.match_labels if p.obj.spec.selector else {}
            if selects(sel, labels):
                return p
        return None

    def mode_for(self, namespace: str, labels: dict[str, str], port: int | None) -> PAResult:
        """`ComposePeerAuthentication` + `GetMutualTLSModeForPort` for one workload port."""
        result = self.namespace_mode(namespace)
        wl = self.workload_policy(namespace, labels)
        if wl is None:
            return result
        refs = (*result.resources, _ref(wl))
        spec = wl.obj.spec
        mode = _mode(spec.mtls.mode if spec.mtls else None)
        why = result.why
        current: Mode = result.mode
        if mode is not None:
            current = mode
            why = f"workload PeerAuthentication {wl.namespace}/{wl.name} says {mode}"
        if port is not None and port in spec.port_level_mtls:
            port_mode = _mode(spec.port_level_mtls[port].mode)
            if port_mode is not None:
                return PAResult(
                    port_mode,
                    f"workload PeerAuthentication {wl.namespace}/{wl.name} sets port {port} "
                    f"to {port_mode}",
                    refs,
                )
        return PAResult(current, why, refs)
