"""Problems met while reading input: named by file and line, never fatal to the rest."""

from __future__ import annotations

from typing import Literal

from mtls_doctor.model.refs import Origin
from mtls_doctor.record import Record

ProblemLevel = Literal["error", "warning"]


class InputProblem(Record):
    """One thing wrong with the input. `error` means something was skipped."""

    origin: Origin
    message: str
    level: ProblemLevel = "error"

    def __str__(self) -> str:
        return f"{self.origin}: {self.level}: {self.message}"
