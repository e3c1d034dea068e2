"""The lab: replay one edge through real Envoy sidecars on 127.0.0.1 and compare with the model.

`run_case(LabCase)` → `LabResult`. See README.md in this folder for what the lab reproduces of a
real Istio sidecar and what it does not. Names are imported lazily, so that importing
`mtls_doctor.lab.case` (the plain records the edge engine fills) costs nothing else.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mtls_doctor.lab.case import LabCase, Prediction
    from mtls_doctor.lab.envoyproc import LabError, LabUnavailable, find_envoy
    from mtls_doctor.lab.result import LabResult, run_case

_WHERE = {
    "LabCase": "mtls_doctor.lab.case",
    "Prediction": "mtls_doctor.lab.case",
    "LabError": "mtls_doctor.lab.envoyproc",
    "LabUnavailable": "mtls_doctor.lab.envoyproc",
    "find_envoy": "mtls_doctor.lab.envoyproc",
    "LabResult": "mtls_doctor.lab.result",
    "run_case": "mtls_doctor.lab.result",
}

__all__ = [
    "LabCase",
    "LabError",
    "LabResult",
    "LabUnavailable",
    "Prediction",
    "find_envoy",
    "run_case",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'mtls_doctor.lab' has no attribute {name!r}")
