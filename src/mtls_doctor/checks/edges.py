"""Findings read off the edges: failing, plaintext and undecided edges, grouped by destination
and cause, and ServiceEntry SAN lists that no endpoint can satisfy."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_doctor.checks.codes_core import (
    FAILING_EDGE,
    PLAINTEXT_EDGE,
    SE_SAN_MISMATCH,
    UNDECIDED_EDGE,
)
from mtls_doctor.checks.context import CheckContext
from mtls_doctor.checks.finding import Finding, Subject
from mtls_doctor.checks.template import fill_in, pieces
from mtls_doctor.edges.classes import OutcomeClass
from mtls_doctor.edges.engine import fill_client
from mtls_doctor.model.refs import ResourceRef


def _subject(ref: ResourceRef) -> Subject:
    return Subject(ref.kind, ref.namespace, ref.name)


def _clients(clients: list[str], total: int, limit: int = 3) -> str:
    head = ", ".join(clients[:limit])
    return head if total <= limit else f"{head} and {total - limit} more"


def _detail(cls: OutcomeClass) -> str:
    """The deciding step in a few words: the last step before the result."""
    o = cls.outcome
    last = next((s.decision for s in reversed(o.trace) if s.step != "result"), "")
    return last if len(last) <= 160 else last[:157] + "..."


_CODES = {"fail": FAILING_EDGE, "denied": FAILING_EDGE, "mixed": FAILING_EDGE,
          "plaintext": PLAINTEXT_EDGE, "unknown": UNDECIDED_EDGE}  # fmt: skip
# the edge codes' message templates, parsed once: values are passed in this order
_FIELDS = ("clients", "to", "verdict", "cause", "detail")
_PIECES = {c.code: pieces(c.message, _FIELDS) for c in set(_CODES.values())}


def edge_findings(ctx: CheckContext) -> Iterator[Finding]:
    """One finding per destination and (verdict, cause), naming the clients it affects."""
    for r in ctx.results:
        grouped: dict[tuple[str, str | None], list[OutcomeClass]] = {}
        for cls in r.classes:
            o = cls.outcome
            code = _CODES.get(o.verdict)
            if code is None:
                continue
            if code is PLAINTEXT_EDGE and not cls.any_sidecar:
                continue  # clients outside the mesh sending plaintext is not news
            grouped.setdefault((o.verdict, o.cause), []).append(cls)
        for (verdict, cause), classes in grouped.items():
            first = classes[0]
            o = first.outcome
            code = _CODES[verdict]
            if verdict == "mixed" and not any(e.verdict in ("fail", "denied") for e in o.endpoints):
                code = PLAINTEXT_EDGE
            fix = o.fix
            if fix:
                fix = fill_client(fix, first.first)
            names: list[str] = []
            total = 0
            for cls in classes:
                some, n = cls.names(4)
                names.extend(some)
                total += n
            # `code.finding(...)` made here: a big mesh has one for each failing destination
            values = (_clients(names, total), r.to, verdict, str(cause), _detail(first))
            message = fill_in(_PIECES[code.code], values)
            ref = r.service.ref
            yield Finding(
                code.code,
                code.level,
                _subject(ref),
                message,
                fix or code.fix,
                ref.origin,
                r.cluster,
            )


def pseudo_edge_findings(ctx: CheckContext) -> Iterator[Finding]:
    """ED101 for failing kube-apiserver and kubelet edges, on the object that lists the
    endpoint (the probed workload, the webhook's service)."""
    for e in ctx.pseudo:
        o = e.outcome
        if o.verdict not in ("fail", "denied"):
            continue
        src = next((ep.source for ep in o.endpoints if ep.source is not None), None)
        yield FAILING_EDGE.finding(
            _subject(src) if src else Subject("", "", e.to),
            origin=src.origin if src else None,
            cluster=e.from_cluster,
            fix=o.fix,
            clients=e.from_,
            to=e.to,
            verdict=o.verdict,
            cause=o.cause,
            detail=o.symptom.message if o.symptom else "",
        )


def serviceentry_san(ctx: CheckContext) -> Iterator[Finding]:
    seen: set[tuple[str, str]] = set()
    for r in ctx.results:
        if r.service.kind != "ServiceEntry":
            continue
        for cls in r.classes:
            bad = [e for e in cls.outcome.endpoints if e.cause == "san-mismatch"]
            if not bad:
                continue
            key = (r.service.ref.key, r.cluster)
            if key in seen:
                continue
            seen.add(key)
            expected = sorted({x for e in bad for x in e.expected})
            presented = sorted({e.presented for e in bad if e.presented})
            yield SE_SAN_MISMATCH.finding(
                _subject(r.service.ref),
                origin=r.service.ref.origin,
                cluster=r.cluster,
                fix=f"Add {', '.join(presented)} to spec.subjectAltNames of ServiceEntry "
                f"{r.service.namespace}/{r.service.ref.name}.",
                host=r.service.display,
                expected=", ".join(expected) or "(none)",
                presented=", ".join(presented),
            )
