"""Where an object came from, and how other records point at it."""

from __future__ import annotations

from mtls_doctor.record import Record


class Origin(Record):
    """A position in an input: file (or `-` for stdin, or `archive!member`) and 1-based line."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file


class ResourceRef(Record):
    """`Kind/namespace/name`, optionally with the cluster and the input position."""

    kind: str
    namespace: str
    name: str
    cluster: str = "default"
    origin: Origin | None = None

    @property
    def key(self) -> str:
        """`Kind/namespace/name`, or `Kind/name` for cluster-scoped objects."""
        if not self.namespace:
            return f"{self.kind}/{self.name}"
        return f"{self.kind}/{self.namespace}/{self.name}"

    def __str__(self) -> str:
        return self.key
