"""The finding record every check, reader and comparison produces."""

from __future__ import annotations

from typing import Literal

from mtls_doctor.model.refs import Origin
from mtls_doctor.record import Record

Level = Literal["error", "warning", "info"]

LEVEL_RANK: dict[str, int] = {"info": 0, "warning": 1, "error": 2}


class Subject(Record):
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return subject_text(self)


def subject_text(s: Subject) -> str:
    """`Kind/namespace/name`, or `Kind/name` for cluster-scoped objects (a function, so that
    compiled callers such as the findings' sort reach it without a method lookup)."""
    if not s.namespace:
        return f"{s.kind}/{s.name}"
    return f"{s.kind}/{s.namespace}/{s.name}"


class Finding(Record):
    """A coded problem about one subject. `code` is from the catalog; `fix` ends with a period."""

    code: str
    level: Level
    subject: Subject
    message: str
    fix: str
    origin: Origin | None = None
    cluster: str | None = None
    # A YAML merge patch (kubectl patch --type merge) of the object to change, attached only
    # after re-analysing the mesh with it applied showed that it fixes the edge.
    patch: str | None = None
