"""One JSON shape for a finding, whichever command reports it."""

from __future__ import annotations

from typing import Any

from mtls_doctor.checks.finding import Finding


def finding_json(f: Finding) -> dict[str, Any]:
    """`{code, level, subject: {kind, namespace, name}, message, fix}` (DESIGN.md), plus
    `location: {file, line}`, `cluster` and `patch` when known."""
    d: dict[str, Any] = {
        "code": f.code,
        "level": f.level,
        "subject": {
            "kind": f.subject.kind,
            "namespace": f.subject.namespace,
            "name": f.subject.name,
        },
        "message": f.message,
        "fix": f.fix,
    }
    if f.origin is not None:
        d["location"] = {"file": f.origin.file, "line": f.origin.line}
    if f.cluster is not None:
        d["cluster"] = f.cluster
    if f.patch is not None:
        d["patch"] = f.patch
    return d
