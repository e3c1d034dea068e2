"""The record every decision carries: what was decided, and by which resources."""

from __future__ import annotations

from typing import Final

from mtls_doctor.model.refs import ResourceRef


class Step:
    """One hop of an edge's explanation. A plain class with value equality (every edge makes
    several, and compiled code reads its fields directly)."""

    __slots__ = ("decision", "resources", "step")

    def __init__(self, step: str, decision: str, resources: tuple[ResourceRef, ...] = ()) -> None:
        self.step: Final = step
        self.decision: Final = decision
        self.resources: Final = resources

    def __repr__(self) -> str:
        return f"Step({self.step!r}, {self.decision!r}, {self.resources!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Step) and (
            self.step == other.step
            and self.decision == other.decision
            and self.resources == other.resources
        )

    def __hash__(self) -> int:
        return hash((self.step, self.decision, self.resources))

    def with_decision(self, decision: str) -> Step:
        return Step(self.step, decision, self.resources)


def selects(selector: dict[str, str] | None, labels: dict[str, str]) -> bool:
    """A `matchLabels` selector matches when it is a subset of the labels (empty matches all)."""
    return not selector or selector.items() <= labels.items()
