"""The record every decision carries: what was decided, and by which resources."""

from __future__ import annotations

from mtls_doctor.model.refs import ResourceRef
from mtls_doctor.record import Record


class Step(Record):
    """One hop of an edge's explanation."""

    step: str
    decision: str
    resources: tuple[ResourceRef, ...] = ()


def selects(selector: dict[str, str] | None, labels: dict[str, str]) -> bool:
    """A `matchLabels` selector matches when it is a subset of the labels (empty matches all)."""
    return not selector or selector.items() <= labels.items()
