"""The lab: replay one edge through real Envoy sidecars on 127.0.0.1 and compare with the model.

`run_case(LabCase)` → `LabResult`. See README.md in this folder for what the lab reproduces of a
real Istio sidecar and what it does not.
"""

from mtls_doctor.lab.case import LabCase, Prediction
from mtls_doctor.lab.envoyproc import LabError, LabUnavailable, find_envoy
from mtls_doctor.lab.result import LabResult, run_case

__all__ = [
    "LabCase",
    "LabError",
    "LabResult",
    "LabUnavailable",
    "Prediction",
    "find_envoy",
    "run_case",
]
