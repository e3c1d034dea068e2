"""Which findings the user sees, and whether they fail the run.

Four mechanisms, all by code prefix (`PA` is a family, `PA1` a group, `PA101` one code):

- `--select` / `--ignore` with ruff's semantics: for each code the most specific (longest)
  matching prefix decides; at equal length `--ignore` wins; the default selects everything
  (`ALL`).
- `--suppress CODE=Kind/namespace/name-glob`: drop the codes under CODE (a prefix, `ALL` or `*`,
  or several joined by commas) on the subjects the glob matches (`fnmatch`, case-insensitive).
- the annotation `mtls-doctor.io/ignore: "PA101,DR"` on a resource: drop those codes on that
  resource. The caller reads the annotations and passes `{"Kind/namespace/name": prefixes}`.
- `--fail-on error|warning|info|never`: whether a kept finding makes the exit code 1.

Pure: no I/O, no state. Parsing errors are `ValueError`s whose text is meant for the user.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Literal

from mtls_doctor.checks.finding import LEVEL_RANK, Finding
from mtls_doctor.record import Record

IGNORE_ANNOTATION = "mtls-doctor.io/ignore"

FailOn = Literal["error", "warning", "info", "never"]
FAIL_ON_CHOICES: tuple[FailOn, ...] = ("error", "warning", "info", "never")

SuppressedBy = Literal["ignore", "suppress", "annotation"]

ALL = ""  # the prefix every code starts with
_PREFIX = re.compile(r"^[A-Z]{1,2}(?:(?<=[A-Z]{2})\d{0,3})?$")


class Suppression(Record):
    """One `--suppress CODE=GLOB`: `prefixes` of codes, on subjects matching `glob`."""

    prefixes: tuple[str, ...]
    glob: str
    text: str  # as the user wrote it, for messages

    def matches(self, finding: Finding) -> bool:
        return _under_any(finding.code, self.prefixes) and fnmatchcase(
            str(finding.subject).lower(), self.glob.lower()
        )


class FilterOptions(Record):
    """Everything the user said about which findings to keep. Build with `parse_options`."""

    select: tuple[str, ...] = (ALL,)
    ignore: tuple[str, ...] = ()
    suppress: tuple[Suppression, ...] = ()
    fail_on: FailOn = "error"


class Suppressed(Record):
    """A finding the user asked not to see, and which of their rules dropped it."""

    finding: Finding
    by: SuppressedBy
    rule: str  # e.g. "--ignore DR", "--suppress PA101=PeerAuthentication/prod/*"


class FilterResult(Record):
    kept: tuple[Finding, ...]
    suppressed: tuple[Suppressed, ...]

    def suppressed_counts(self) -> dict[SuppressedBy, int]:
        counts: dict[SuppressedBy, int] = {}
        for s in self.suppressed:
            counts[s.by] = counts.get(s.by, 0) + 1
        return counts


# --- parsing what the user wrote -----------------------------------------------------------


def parse_prefix(text: str) -> str:
    """`pa1` -> `PA1`; `ALL` or `*` -> the prefix of every code. ValueError if it cannot be one."""
    t = text.strip().upper()
    if t in ("ALL", "*"):
        return ALL
    if not _PREFIX.match(t):
        raise ValueError(
            f"{text.strip()!r} is not a code or code prefix "
            "(two letters and up to three digits, e.g. PA, PA1, PA101; or ALL)"
        )
    return t


def parse_prefixes(values: Iterable[str]) -> tuple[str, ...]:
    """Prefixes from repeated and/or comma-separated values, in order, without duplicates."""
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            if not part.strip():
                continue
            p = parse_prefix(part)
            if p not in out:
                out.append(p)
    return tuple(out)


def parse_suppression(text: str) -> Suppression:
    """`PA101=PeerAuthentication/prod/*` (CODE may be a prefix, `ALL`/`*`, or a comma list)."""
    codes, sep, glob = text.partition("=")
    if not sep or not codes.strip() or not glob.strip():
        raise ValueError(
            f"--suppress {text!r}: expected CODE=Kind/namespace/name (a glob), "
            "e.g. PA101=PeerAuthentication/prod/*"
        )
    glob = glob.strip()
    if glob.count("/") < 2 and "*" not in glob:
        raise ValueError(
            f"--suppress {text!r}: the subject must be Kind/namespace/name (a glob such as "
            "Deployment/shop/*)"
        )
    try:
        prefixes = parse_prefixes([codes])
    except ValueError as exc:
        raise ValueError(f"--suppress {text!r}: {exc}") from None
    return Suppression(prefixes=prefixes, glob=glob, text=text.strip())


def parse_annotation(value: str) -> frozenset[str]:
    """The prefixes in an `mtls-doctor.io/ignore` value, e.g. `"PA101, DR"`. ValueError if bad."""
    try:
        return frozenset(parse_prefixes([value]))
    except ValueError as exc:
        raise ValueError(f"annotation {IGNORE_ANNOTATION}: {exc}") from None


def annotation_index(
    resources: Iterable[tuple[str, Mapping[str, object]]],
) -> tuple[dict[str, frozenset[str]], list[tuple[str, str]]]:
    """`{"Kind/namespace/name": prefixes}` from (subject key, metadata.annotations) pairs.

    Returns the index and the (subject key, message) of every unreadable annotation value, so
    the caller can report it with the resource's file and line; a bad value suppresses nothing.
    """
    index: dict[str, frozenset[str]] = {}
    bad: list[tuple[str, str]] = []
    for key, notes in resources:
        value = notes.get(IGNORE_ANNOTATION)
        if value is None:
            continue
        if not isinstance(value, str):
            bad.append((key, f"annotation {IGNORE_ANNOTATION} must be a string of codes"))
            continue
        try:
            prefixes = parse_annotation(value)
        except ValueError as exc:
            bad.append((key, str(exc)))
            continue
        if prefixes:
            index[key] = index.get(key, frozenset()) | prefixes
    return index, bad


def parse_options(
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    suppress: Iterable[str] = (),
    fail_on: str = "error",
) -> FilterOptions:
    """FilterOptions from command-line values; ValueError (a usage error) if one is malformed."""
    if fail_on not in FAIL_ON_CHOICES:
        raise ValueError(f"--fail-on {fail_on!r}: expected one of {', '.join(FAIL_ON_CHOICES)}")
    chosen = parse_prefixes(select) or (ALL,)
    level: FailOn = fail_on  # narrowed by the check above
    return FilterOptions(
        select=chosen,
        ignore=parse_prefixes(ignore),
        suppress=tuple(parse_suppression(s) for s in suppress),
        fail_on=level,
    )


def unknown_prefixes(options: FilterOptions, codes: Iterable[str]) -> list[str]:
    """The prefixes the user gave that name no code of the catalog (ruff rejects those too)."""
    known = tuple(codes)
    given = [*options.select, *options.ignore]
    for s in options.suppress:
        given.extend(s.prefixes)
    out: list[str] = []
    for p in given:
        if p != ALL and not any(c.startswith(p) for c in known) and p not in out:
            out.append(p)
    return out


# --- deciding ------------------------------------------------------------------------------


def is_selected(code: str, select: Collection[str], ignore: Collection[str] = ()) -> bool:
    """ruff's rule: the longest matching prefix decides; on a tie `ignore` wins."""
    best_select = max((len(p) for p in select if code.startswith(p)), default=-1)
    best_ignore = max((len(p) for p in ignore if code.startswith(p)), default=-1)
    return best_select > best_ignore


def apply_filters(
    findings: Iterable[Finding],
    options: FilterOptions,
    annotations: Mapping[str, Collection[str]] | None = None,
) -> FilterResult:
    """Split findings into kept and suppressed, keeping their order.

    `annotations` maps `Kind/namespace/name` to the prefixes its `mtls-doctor.io/ignore`
    annotation names (see `parse_annotation`).
    """
    notes = annotations or {}
    kept: list[Finding] = []
    dropped: list[Suppressed] = []
    for f in findings:
        why = _why_suppressed(f, options, notes)
        if why is None:
            kept.append(f)
        else:
            dropped.append(Suppressed(finding=f, by=why[0], rule=why[1]))
    return FilterResult(kept=tuple(kept), suppressed=tuple(dropped))


def reaches_fail_on(findings: Iterable[Finding], fail_on: FailOn) -> bool:
    """True when some finding is at or above the `--fail-on` level (exit code 1)."""
    if fail_on == "never":
        return False
    threshold = LEVEL_RANK[fail_on]
    return any(LEVEL_RANK[f.level] >= threshold for f in findings)


def _why_suppressed(
    f: Finding, options: FilterOptions, notes: Mapping[str, Collection[str]]
) -> tuple[SuppressedBy, str] | None:
    if not is_selected(f.code, options.select, options.ignore):
        rule = max((p for p in options.ignore if f.code.startswith(p)), key=len, default=None)
        if rule is None:
            return "ignore", "not in --select"
        return "ignore", f"--ignore {rule or 'ALL'}"
    for s in options.suppress:
        if s.matches(f):
            return "suppress", f"--suppress {s.text}"
    subject = str(f.subject)
    prefixes = notes.get(subject, ())
    if _under_any(f.code, prefixes):
        return "annotation", f"{IGNORE_ANNOTATION} on {subject}"
    return None


def _under_any(code: str, prefixes: Iterable[str]) -> bool:
    return any(code.startswith(p) for p in prefixes)
