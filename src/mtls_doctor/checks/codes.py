"""The Code record of the catalog. Each family module defines a tuple of these."""

from __future__ import annotations

from typing import Any

from mtls_doctor.checks.finding import Finding, Level, Subject
from mtls_doctor.checks.template import fill
from mtls_doctor.model.refs import Origin
from mtls_doctor.record import Record


class Code(Record):
    """A stable catalog entry. Codes are never reused; `fix` is one sentence ending with a period.

    `message` is a `str.format` template filled from the keyword arguments of `finding()`.
    """

    code: str
    name: str
    level: Level
    message: str
    fix: str

    def finding(
        self,
        subject: Subject,
        *,
        origin: Origin | None = None,
        cluster: str | None = None,
        level: Level | None = None,
        fix: str | None = None,
        **fields: Any,
    ) -> Finding:
        return Finding(
            code=self.code,
            level=level or self.level,
            subject=subject,
            message=fill(self.message, fields),
            fix=fix or self.fix,
            origin=origin,
            cluster=cluster,
        )
