"""Which DestinationRule a client uses for a host, and its TLS block (istio-semantics.md §2).

Lookup: the client's namespace (selector rules matching the client first), then the service's
namespace (exported to the client), then the root namespace. Rules for the same host in one
bucket merge: the oldest top-level trafficPolicy wins, subsets are concatenated.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict

from mtls_doctor.model.istio import ClientTLS, DestinationRule, TrafficPolicy
from mtls_doctor.model.objects import Loaded
from mtls_doctor.model.refs import ResourceRef
from mtls_doctor.record import Record
from mtls_doctor.semantics.peerauthn import creation_order
from mtls_doctor.semantics.trace import selects


class DRChoice(Record):
    """The rule(s) in effect for a client and host: `rules[0]` decides the traffic policy."""

    rules: tuple[Loaded[DestinationRule], ...]
    why: str

    @property
    def resources(self) -> tuple[ResourceRef, ...]:
        return tuple(dr_ref(r) for r in self.rules)

    @property
    def traffic_policy(self) -> TrafficPolicy | None:
        return next(
            (r.obj.spec.traffic_policy for r in self.rules if r.obj.spec.traffic_policy), None
        )


class TLSChoice(Record):
    tls: ClientTLS | None
    why: str


def dr_ref(r: Loaded[DestinationRule]) -> ResourceRef:
    return ResourceRef("DestinationRule", r.namespace, r.name, r.cluster, r.origin)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def resolve_host(host: str, namespace: str, domain_suffix: str = "cluster.local") -> str:
    """`ResolveShortnameToFQDN`: a dot-less host is qualified with the rule's namespace."""
    if "." in host or host == "*" or _is_ip(host):
        return host
    return f"{host}.{namespace}.svc.{domain_suffix}"


def host_matches(pattern: str, hostname: str) -> bool:
    if pattern in (hostname, "*"):
        return True
    if pattern.startswith("*."):
        return hostname.endswith(pattern[1:])
    return False


def _specificity(pattern: str) -> tuple[int, int]:
    return (0 if pattern.startswith("*") else 1, len(pattern))


class DRIndex:
    """DestinationRules of one cluster, bucketed as `setDestinationRules` does."""

    def __init__(
        self,
        rules: list[Loaded[DestinationRule]],
        root_namespace: str,
        default_export_to: tuple[str, ...] = (),
    ) -> None:
        self.root = root_namespace
        self.default_export_to = default_export_to
        ordered = sorted(
            rules,
            key=lambda r: (0 if self._selector(r) else 1, *creation_order(r)),
        )
        self.by_namespace: dict[str, list[Loaded[DestinationRule]]] = defaultdict(list)
        for r in ordered:
            self.by_namespace[r.namespace].append(r)
        self.hosts = {id(r): resolve_host(r.obj.spec.host, r.namespace) for r in ordered}
        self.all = ordered
        self._exact: dict[str, list[Loaded[DestinationRule]]] = defaultdict(list)
        self._wild: list[Loaded[DestinationRule]] = []
        for r in ordered:
            h = self.hosts[id(r)]
            if h.startswith("*"):
                self._wild.append(r)
            else:
                self._exact[h].append(r)
        self._lookups: dict[tuple[object, ...], DRChoice | None] = {}

    def matching(self, hostname: str) -> list[Loaded[DestinationRule]]:
        """Every rule whose host matches `hostname` (any namespace), in sort order."""
        found = self._exact.get(hostname, [])
        wild = [r for r in self._wild if host_matches(self.hosts[id(r)], hostname)]
        return [*found, *wild] if wild else list(found)

    @staticmethod
    def _selector(r: Loaded[DestinationRule]) -> dict[str, str]:
        ws = r.obj.spec.workload_selector
        return ws.match_labels if ws else {}

    def _export_to(self, r: Loaded[DestinationRule]) -> tuple[str, ...]:
        if self._selector(r):
            return (".",)
        return tuple(r.obj.spec.export_to or ()) or self.default_export_to

    def _private(self, r: Loaded[DestinationRule]) -> bool:
        exp = self._export_to(r)
        return bool(exp) and all(e in (".", r.namespace) for e in exp)

    def _visible_to(self, r: Loaded[DestinationRule], client_ns: str) -> bool:
        exp = self._export_to(r)
        if not exp:
            return True
        return "*" in exp or client_ns in exp or ("." in exp and r.namespace == client_ns)

    def _best(
        self, candidates: list[Loaded[DestinationRule]], hostname: str
    ) -> list[Loaded[DestinationRule]]:
        matching = [r for r in candidates if host_matches(self.hosts[id(r)], hostname)]
        if not matching:
            return []
        best = max(_specificity(self.hosts[id(r)]) for r in matching)
        top = [r for r in matching if _specificity(self.hosts[id(r)]) == best]
        host = self.hosts[id(top[0])]
        return [r for r in top if self.hosts[id(r)] == host]

    def _merge_gate(
        self, rules: list[Loaded[DestinationRule]]
    ) -> tuple[Loaded[DestinationRule], ...]:
        """Rules for the same host in one bucket merge when their exportTo sets are equal."""
        first = rules[0]
        first_set = set(self._export_to(first))
        merged = [first]
        for r in rules[1:]:
            s = set(self._export_to(r))
            if s == first_set or (first_set and s > first_set):
                merged.append(r)
        return tuple(merged)

    def lookup(
        self, client_ns: str, client_labels: dict[str, str], hostname: str, service_ns: str
    ) -> DRChoice | None:
        """The DestinationRule a client in `client_ns` uses for `hostname`, or None."""
        candidates = self.matching(hostname)
        if not candidates:
            return None
        local_sel = any(r.namespace == client_ns and self._selector(r) for r in candidates)
        key = (
            client_ns,
            tuple(sorted(client_labels.items())) if local_sel else None,
            hostname,
            service_ns,
        )
        if key in self._lookups:
            return self._lookups[key]
        got = self._lookup(client_ns, client_labels, hostname, service_ns)
        self._lookups[key] = got
        return got

    def _lookup(
        self, client_ns: str, client_labels: dict[str, str], hostname: str, service_ns: str
    ) -> DRChoice | None:
        if client_ns != self.root:
            local = [
                r
                for r in self.by_namespace.get(client_ns, ())
                if self._visible_to(r, client_ns) or self._selector(r)
            ]
            with_sel = [
                r for r in local if self._selector(r) and selects(self._selector(r), client_labels)
            ]
            best_sel = self._best(with_sel, hostname)
            if best_sel:
                return DRChoice(
                    (best_sel[0],),
                    f"DestinationRule {best_sel[0].namespace}/{best_sel[0].name} selects this "
                    "client (workloadSelector) in its own namespace",
                )
            plain = [r for r in local if not self._selector(r)]
            best = self._best(plain, hostname)
            if best:
                return DRChoice(
                    self._merge_gate(best),
                    f"DestinationRule in the client's namespace {client_ns} matches {hostname}",
                )
        else:
            private = [
                r
                for r in self.by_namespace.get(self.root, ())
                if self._private(r) and not self._selector(r)
            ]
            best = self._best(private, hostname)
            if best:
                return DRChoice(
                    self._merge_gate(best),
                    f"a root-namespace-private DestinationRule matches {hostname}",
                )
        for ns, where in (
            (service_ns, "the service's namespace"),
            (self.root, "the root namespace"),
        ):
            if ns == client_ns and ns != self.root:
                continue
            exported = [
                r
                for r in self.by_namespace.get(ns, ())
                if not self._selector(r) and not self._private(r) and self._visible_to(r, client_ns)
            ]
            best = self._best(exported, hostname)
            if best:
                return DRChoice(
                    self._merge_gate(best),
                    f"DestinationRule exported from {where} ({ns}) matches {hostname}",
                )
        return None


def cluster_tls(choice: DRChoice | None, service_port: int) -> TLSChoice:
    """The TLS block the client's cluster is built with (cluster side of §2.3).

    A `portLevelSettings` entry for the service port replaces the whole top-level policy, so an
    entry without `tls` means no TLS setting at all (auto mTLS decides).
    """
    if choice is None:
        return TLSChoice(None, "no DestinationRule applies")
    tp = choice.traffic_policy
    name = f"{choice.rules[0].namespace}/{choice.rules[0].name}"
    if tp is None:
        return TLSChoice(None, f"DestinationRule {name} has no trafficPolicy")
    for pl in tp.port_level_settings:
        if pl.port is not None and pl.port.number == service_port:
            if pl.tls is None:
                return TLSChoice(
                    None,
                    f"DestinationRule {name} portLevelSettings[{service_port}] has no tls; it "
                    "replaces the top-level policy for this port",
                )
            return TLSChoice(
                pl.tls,
                f"DestinationRule {name} portLevelSettings[{service_port}] tls {pl.tls.mode}",
            )
    if tp.tls is None:
        return TLSChoice(None, f"DestinationRule {name} sets no tls")
    return TLSChoice(tp.tls, f"DestinationRule {name} tls mode {tp.tls.mode}")


def endpoint_tls_mode(choice: DRChoice | None, service_port: int) -> str | None:
    """`trafficPolicyTLSModeForPort` (EDS side of §2.3): top-level mode, overridden by a
    port-level entry only when that entry has `tls`."""
    if choice is None or choice.traffic_policy is None:
        return None
    tp = choice.traffic_policy
    mode = tp.tls.mode if tp.tls else None
    for pl in tp.port_level_settings:
        if pl.port is not None and pl.port.number == service_port and pl.tls is not None:
            mode = pl.tls.mode
    return mode
