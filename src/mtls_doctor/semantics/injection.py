"""Does a workload run with an Istio sidecar? (istio-semantics.md §6)

Pods read from a cluster dump say it themselves (the injector's status annotation or an
`istio-proxy` container). For templates, the decision follows the injection webhook's selectors
(`mutatingwebhook.yaml`) and the injector's own checks (`injectRequired`).
"""

from __future__ import annotations

from typing import Final

from mtls_doctor.model.refs import ResourceRef
from mtls_doctor.model.workloads import Workload

INJECT_LABEL = "sidecar.istio.io/inject"
NS_INJECTION = "istio-injection"
REV_LABEL = "istio.io/rev"
IGNORED_NAMESPACES = frozenset(
    {"kube-system", "kube-public", "kube-node-lease", "local-path-storage"}
)


class Injection:
    """Whether a workload has a sidecar, why, and what decided it."""

    __slots__ = ("injected", "observed", "resources", "why")

    def __init__(
        self, injected: bool, why: str, resources: tuple[ResourceRef, ...], observed: bool
    ) -> None:
        self.injected: Final = injected
        self.why: Final = why
        self.resources: Final = resources
        self.observed: Final = observed  # read from pods rather than predicted

    def __repr__(self) -> str:
        return f"Injection({self.injected}, {self.why!r})"


def decide(w: Workload, ns_labels: dict[str, str] | None, ns_ref: ResourceRef | None) -> Injection:
    """Whether `w` has a sidecar, and why. `ns_labels` is None when the Namespace is unknown."""
    observed = w.observed_sidecar
    if observed is not None:
        why = (
            "the pod carries the injector's sidecar.istio.io/status annotation / istio-proxy"
            if observed
            else "the pod ran without an istio-proxy container"
        )
        return Injection(observed, why, (w.ref,), True)
    refs = (w.ref,) if ns_ref is None else (w.ref, ns_ref)
    if w.host_network:
        return Injection(False, "hostNetwork pods are never injected", refs, False)
    if w.namespace in IGNORED_NAMESPACES:
        return Injection(False, f"namespace {w.namespace} is never injected", refs, False)
    labels = ns_labels or {}
    pod_value = w.labels.get(INJECT_LABEL, w.annotations.get(INJECT_LABEL))
    if pod_value == "false":
        return Injection(False, f"the pod sets {INJECT_LABEL}=false", refs, False)
    ns_inj = labels.get(NS_INJECTION)
    unknown_ns = "" if ns_labels is not None else f" (Namespace {w.namespace} is not in the input)"
    if ns_inj == "enabled":
        return Injection(True, f"namespace {w.namespace} has {NS_INJECTION}=enabled", refs, False)
    if ns_inj is not None:
        return Injection(
            False,
            f"namespace {w.namespace} has {NS_INJECTION}={ns_inj}; it blocks injection",
            refs,
            False,
        )
    if REV_LABEL in labels:
        return Injection(
            True, f"namespace {w.namespace} has {REV_LABEL}={labels[REV_LABEL]}", refs, False
        )
    if REV_LABEL in w.labels:
        return Injection(True, f"the pod has {REV_LABEL}={w.labels[REV_LABEL]}", refs, False)
    if w.labels.get(INJECT_LABEL) == "true":
        return Injection(True, f"the pod sets {INJECT_LABEL}=true", refs, False)
    return Injection(
        False,
        f"namespace {w.namespace} has no {NS_INJECTION} or {REV_LABEL} label{unknown_ns}",
        refs,
        False,
    )
