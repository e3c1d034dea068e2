"""SARIF 2.1.0 for GitHub code scanning and other CI viewers.

One run; the driver's rules are the catalog (id = code); each finding becomes a result with its
file and line when the finding has an origin, and its subject (`Kind/namespace/name`) as a
logical location. Suppressed findings may be included with a `suppressions` entry, so viewers
show them as suppressed instead of open.

Renders only: the findings, their levels and texts are decided elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from mtls_doctor.checks.codes import Code
from mtls_doctor.checks.filtering import Suppressed
from mtls_doctor.checks.finding import Finding

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
TOOL_NAME = "mtls-doctor"
SRCROOT = "SRCROOT"
FINGERPRINT_KEY = "mtlsDoctorFinding/v1"

SARIF_LEVEL: dict[str, str] = {"error": "error", "warning": "warning", "info": "note"}

PageLookup = Callable[[str], str | None]
JSON = dict[str, Any]


def render_sarif(
    findings: Iterable[Finding],
    catalog: Iterable[Code],
    tool_version: str,
    base_dir: str | os.PathLike[str] | None = None,
    *,
    suppressed: Iterable[Suppressed] = (),
    pages: PageLookup | None = None,
    fallback_file: str | None = None,
) -> str:
    """The SARIF log as JSON text (sorted, stable across runs for the same input).

    `base_dir`: file locations under it are written relative to it (with uriBaseId
    `SRCROOT`); give the repository root so GitHub can place findings on manifests.
    `pages`: code -> markdown page (default: the pages bundled with the package).
    `fallback_file`: where to anchor findings that have no file of their own (read from stdin,
    or about something no manifest holds, like a whole edge). GitHub code scanning rejects a
    whole upload when one result has no file URI, so give one (e.g. the first input file) when
    the output is meant for it; without it such results carry only their logical location.
    """
    page_of = pages if pages is not None else _bundled_page
    rules, index = _rules(catalog, page_of)
    base = str(_absolute(base_dir)) if base_dir is not None else None

    entries: list[tuple[Finding, Suppressed | None]] = [(f, None) for f in findings]
    entries.extend((s.finding, s) for s in suppressed)
    entries.sort(key=lambda e: _sort_key(e[0]))

    results: list[JSON] = []
    for finding, why in entries:
        if finding.code not in index:  # not in the catalog: still show it, with a bare rule
            index[finding.code] = len(rules)
            rules.append({"id": finding.code, "shortDescription": {"text": finding.code}})
        results.append(_result(finding, index[finding.code], base, why, fallback_file))

    run: JSON = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": tool_version,
                "semanticVersion": tool_version,
                "rules": rules,
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    if base is not None:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": _dir_uri(base)}}
    log: JSON = {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


# --- rules ---------------------------------------------------------------------------------


def rule_name(name: str) -> str:
    """A problem name as a SARIF rule name: PascalCase, e.g. `plaintext into STRICT` ->
    `PlaintextIntoSTRICT` (words keep their own capitals; separators are dropped)."""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", name) if w]
    return "".join(w[:1].upper() + w[1:] for w in words)


def _rules(catalog: Iterable[Code], page_of: PageLookup) -> tuple[list[JSON], dict[str, int]]:
    rules: list[JSON] = []
    index: dict[str, int] = {}
    for code in catalog:
        if code.code in index:
            continue
        index[code.code] = len(rules)
        rules.append(_rule(code, page_of(code.code)))
    return rules, index


def _rule(code: Code, page: str | None) -> JSON:
    short = _sentence_case(code.name)
    meaning = _section(page, "What it means") if page else None
    body = f"\n\n{page.strip()}" if page else ""
    return {
        "id": code.code,
        "name": rule_name(code.name),
        "shortDescription": {"text": short},
        "fullDescription": {"text": meaning or f"{short}. {code.fix}"},
        "help": {"text": f"Fix: {code.fix}{body}", "markdown": f"**Fix:** {code.fix}{body}"},
        "defaultConfiguration": {"level": SARIF_LEVEL[code.level]},
        "properties": {"tags": ["istio", "mtls", code.code[:2]], "messageTemplate": code.message},
    }


def _sentence_case(name: str) -> str:
    text = re.sub(r"[-_]+", " ", name).strip()
    return text[:1].upper() + text[1:]


def _section(page: str, title: str) -> str | None:
    """The first paragraph of `## title` in a markdown page (outside code fences)."""
    lines = page.splitlines()
    inside = False
    fence = False
    para: list[str] = []
    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
            if inside and para:
                break
            continue
        if not fence and line.startswith("#"):
            if inside:
                break
            inside = line.lstrip("#").strip().lower() == title.lower()
            continue
        if inside and not fence:
            if line.strip():
                para.append(line.strip())
            elif para:
                break
    return " ".join(para) or None


def _bundled_page(code: str) -> str | None:
    from mtls_doctor.checks.catalog import page

    return page(code)


# --- results -------------------------------------------------------------------------------


def _sort_key(f: Finding) -> tuple[str, str, str, str, int, str]:
    origin_file = f.origin.file if f.origin else ""
    line = f.origin.line if f.origin and f.origin.line is not None else 0
    return (f.code, f.cluster or "", str(f.subject), origin_file, line, f.message)


def fingerprint(f: Finding) -> str:
    """Stable across runs: code, cluster, subject and message — not the file or line, which
    move when a manifest is edited or the inputs are given in another order."""
    key = "\x1f".join((f.code, f.cluster or "", str(f.subject), f.message))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _result(
    f: Finding, rule_index: int, base: str | None, why: Suppressed | None, fallback: str | None
) -> JSON:
    message = f.message.rstrip()
    if f.fix and f.fix not in message:
        message = f"{message}{'' if message.endswith('.') else '.'} Fix: {f.fix}"
    location: JSON = {
        "logicalLocations": [
            {
                "name": f.subject.name,
                "fullyQualifiedName": str(f.subject),
                "kind": "resource",
            }
        ]
    }
    physical = _physical(f, base)
    if physical is None and fallback is not None:
        physical = {"artifactLocation": _artifact(fallback, base)}
    if physical is not None:
        location["physicalLocation"] = physical
    result: JSON = {
        "ruleId": f.code,
        "ruleIndex": rule_index,
        "level": SARIF_LEVEL[f.level],
        "message": {"text": message},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(f)},
        "properties": {
            "subject": {
                "kind": f.subject.kind,
                "namespace": f.subject.namespace,
                "name": f.subject.name,
            },
            "fix": f.fix,
        },
    }
    if f.cluster is not None:
        result["properties"]["cluster"] = f.cluster
    if why is not None:
        kind = "inSource" if why.by == "annotation" else "external"
        result["suppressions"] = [{"kind": kind, "justification": why.rule}]
    return result


def _physical(f: Finding, base: str | None) -> JSON | None:
    if f.origin is None:
        return None
    file, _, member = f.origin.file.partition("!")  # `archive!member`: point at the archive
    if not file or file == "-" or (file.startswith("<") and file.endswith(">")):
        return None  # stdin has no file to point at
    artifact = _artifact(file, base)
    physical: JSON = {"artifactLocation": artifact}
    if member:
        physical["properties"] = {"archiveMember": member}
        if f.origin.line is not None:
            physical["properties"]["memberLine"] = f.origin.line
    elif f.origin.line is not None and f.origin.line >= 1:
        physical["region"] = {"startLine": f.origin.line}
    return physical


def _artifact(file: str, base: str | None) -> JSON:
    if base is not None:
        absolute = _absolute(file)
        try:
            rel = os.path.relpath(absolute, base)
        except ValueError:  # another drive on Windows
            rel = None
        if rel is not None and rel != os.pardir and not rel.startswith(os.pardir + os.sep):
            return {"uri": _rel_uri(rel), "uriBaseId": SRCROOT}
        return {"uri": absolute.as_uri()}
    if Path(file).is_absolute():
        return {"uri": _absolute(file).as_uri()}
    return {"uri": _rel_uri(file)}


def _absolute(path: str | os.PathLike[str]) -> Path:
    """Absolute and normalised, without touching the file system (no symlinks resolved)."""
    return Path(os.path.normpath(Path(path).absolute()))


def _rel_uri(path: str) -> str:
    parts: Sequence[str] = PurePosixPath(path.replace(os.sep, "/")).parts
    return "/".join(quote(p, safe="") for p in parts if p != ".")


def _dir_uri(path: str) -> str:
    uri = Path(path).as_uri()
    return uri if uri.endswith("/") else uri + "/"
