"""One replay, interpreted: the case, what Envoy did, the classification, and the agreement."""

from __future__ import annotations

from pathlib import Path

from mtls_doctor.lab.case import LabCase
from mtls_doctor.lab.observe import Observation, Outcome, classify, observe
from mtls_doctor.lab.runner import LabRun, replay
from mtls_doctor.record import Record


class LabResult(Record):
    case: LabCase
    observation: Observation
    outcome: Outcome
    agrees: bool
    envoy_version: str
    seconds: float
    exit_codes: dict[str, int]
    kept: str | None = None


def interpret(run: LabRun) -> LabResult:
    obs = observe(run)
    outcome = classify(run, obs)
    return LabResult(
        case=run.case,
        observation=obs,
        outcome=outcome,
        agrees=outcome.agrees_with(run.case.predicted),
        envoy_version=run.envoy_version,
        seconds=run.seconds,
        exit_codes=run.exit_codes,
        kept=run.kept,
    )


def run_case(case: LabCase, *, keep: Path | None = None) -> LabResult:
    """Replay `case` through real Envoy and compare with its prediction."""
    return interpret(replay(case, keep=keep))
