"""SARIF output: valid against the official OASIS 2.1.0 schema, and placed where GitHub needs it."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from pathlib import Path
from string import Formatter
from typing import Any

import jsonschema
import pytest

from mtls_doctor.checks.catalog import BY_CODE, CATALOG, page
from mtls_doctor.checks.codes import Code
from mtls_doctor.checks.filtering import apply_filters, parse_options
from mtls_doctor.checks.finding import Finding, Subject
from mtls_doctor.model.refs import Origin
from mtls_doctor.report.sarif import FINGERPRINT_KEY, render_sarif, rule_name
from mtls_doctor.sources.documents import read_file
from mtls_doctor.sources.paths import InputFile

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sarif"
SCHEMA_FILE = FIXTURES / "sarif-schema-2.1.0.json"
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"

# A catalog of our own, so these tests do not depend on which families exist yet.
CODES = (
    Code(
        code="ZZ101",
        name="plaintext into STRICT",
        level="error",
        message="{client} sends plaintext to {host}:{port}, which requires mTLS",
        fix="Inject a sidecar into the client or set the port to PERMISSIVE.",
    ),
    Code(
        code="ZZ102",
        name="permissive-left-on",
        level="warning",
        message="{name} is PERMISSIVE",
        fix="Set the mode to STRICT once every client has a sidecar.",
    ),
    Code(
        code="ZZ201",
        name="auto mTLS off",
        level="info",
        message="auto mTLS is off in mesh {mesh}",
        fix="Set enableAutoMtls: true in the mesh config.",
    ),
)
PAGES = {
    "ZZ101": (
        "# ZZ101 plaintext into STRICT\n\n## What it means\n\nA client without a sidecar\n"
        "calls a STRICT port.\n\nMore text.\n\n## What you see\n\n```\n# not a heading\n"
        "connection reset by peer\n```\n\n## How to fix\n\nInject.\n\n## Example\n\n`x`\n"
    ),
}

MANIFESTS = """\
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: prod
spec:
  mtls:
    mode: STRICT
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: legacy
  namespace: shop
spec:
  mtls:
    mode: PERMISSIVE
"""


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def errors(validator: jsonschema.protocols.Validator, doc: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]


def findings_from_real_manifests(repo: Path) -> list[Finding]:
    """Findings whose origins come from reading a real manifest with our reader."""
    manifests = repo / "deploy" / "mesh policies.yaml"  # a space, to test URI escaping
    manifests.parent.mkdir(parents=True)
    manifests.write_text(MANIFESTS, encoding="utf-8")
    read = read_file(InputFile("default", str(manifests), str(manifests)))
    assert not read.problems
    by_name = {o.name: o for o in read.objects}
    strict, legacy = by_name["default"], by_name["legacy"]
    return [
        CODES[0].finding(
            Subject("PeerAuthentication", "prod", "default"),
            origin=strict.origin,
            client="legacy/batch",
            host="api.prod.svc.cluster.local",
            port=8080,
        ),
        CODES[1].finding(
            Subject("PeerAuthentication", "shop", "legacy"), origin=legacy.origin, name="legacy"
        ),
        CODES[2].finding(
            Subject("ConfigMap", "istio-system", "istio"), cluster="east", mesh="east"
        ),
    ]


# RFC 3986 URI-reference characters; `%` only as a %XX escape. GitHub's upload checks this.
_URI_REF = re.compile(r"^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?#\[\]]|%[0-9A-Fa-f]{2})+$")


def github_problems(doc: dict[str, Any]) -> list[str]:
    """What GitHub code scanning rejects beyond the schema (its ingestion rules, e.g. GH1001:
    every result location needs physicalLocation.artifactLocation.uri)."""
    problems = []
    run = doc["runs"][0]
    rule_ids = {r["id"] for r in run["tool"]["driver"]["rules"]}
    for i, r in enumerate(run["results"]):
        if r.get("ruleId") not in rule_ids:
            problems.append(f"result {i}: ruleId {r.get('ruleId')} is not a rule")
        locations = r.get("locations") or []
        if not 1 <= len(locations) <= 10:
            problems.append(f"result {i}: {len(locations)} locations")
        for loc in locations:
            uri = loc.get("physicalLocation", {}).get("artifactLocation", {}).get("uri")
            if not uri:
                problems.append(f"result {i}: no artifact location")
            elif not _URI_REF.match(uri):
                problems.append(f"result {i}: {uri!r} is not a URI reference")
        if not r.get("partialFingerprints"):
            problems.append(f"result {i}: no partialFingerprints")
    return problems


def render(findings: list[Finding], base: Path | None, **kw: Any) -> dict[str, Any]:
    text = render_sarif(findings, CODES, "9.8.7", base, pages=PAGES.get, **kw)
    doc: dict[str, Any] = json.loads(text)
    return doc


def test_schema_file_is_the_official_one(schema: dict[str, Any]) -> None:
    assert hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest() == SCHEMA_SHA256
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")


def test_output_is_valid_sarif(
    tmp_path: Path, validator: jsonschema.protocols.Validator, schema: dict[str, Any]
) -> None:
    findings = findings_from_real_manifests(tmp_path)
    doc = render(findings, tmp_path)
    assert errors(validator, doc) == []
    assert doc["version"] == "2.1.0"
    assert doc["$schema"] == schema["id"]
    assert len(doc["runs"]) == 1


def test_broken_documents_fail_validation(
    tmp_path: Path, validator: jsonschema.protocols.Validator
) -> None:
    good = render(findings_from_real_manifests(tmp_path), tmp_path)
    result0 = ["runs", 0, "results", 0]

    def broken(path: list[Any], value: Any) -> dict[str, Any]:
        doc = copy.deepcopy(good)
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        if value is KeyError:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return doc

    cases = {
        "no version": broken(["version"], KeyError),
        "wrong version": broken(["version"], "2.0.0"),
        "level fatal": broken([*result0, "level"], "fatal"),
        "line 0": broken([*result0, "locations", 0, "physicalLocation", "region", "startLine"], 0),
        "message without text": broken([*result0, "message"], {"markdown": 3}),
        "unknown property": broken(["runs", 0, "tool", "driver", "colour"], "red"),
        "rule level": broken(
            ["runs", 0, "tool", "driver", "rules", 0, "defaultConfiguration", "level"], "info"
        ),
    }
    for name, doc in cases.items():
        assert errors(validator, doc), f"the schema accepted a document with {name}"


def test_rules_come_from_the_catalog() -> None:
    doc = render([], None)
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["ZZ101", "ZZ102", "ZZ201"]
    first, second, third = rules
    assert first["name"] == "PlaintextIntoSTRICT"
    assert second["name"] == "PermissiveLeftOn"
    assert third["name"] == "AutoMTLSOff"
    assert [r["defaultConfiguration"]["level"] for r in rules] == ["error", "warning", "note"]
    assert first["shortDescription"]["text"] == "Plaintext into STRICT"
    # fullDescription: the first paragraph of "What it means"
    assert first["fullDescription"]["text"] == "A client without a sidecar calls a STRICT port."
    assert CODES[0].fix in first["help"]["text"]
    assert first["help"]["markdown"].startswith(f"**Fix:** {CODES[0].fix}")
    assert PAGES["ZZ101"].strip() in first["help"]["markdown"]
    # no page: the fix still explains it
    assert second["help"]["text"] == f"Fix: {CODES[1].fix}"
    assert CODES[1].fix in second["fullDescription"]["text"]
    driver = doc["runs"][0]["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("mtls-doctor", "9.8.7")


def test_rule_name_is_pascal_case() -> None:
    assert rule_name("plaintext-rejected by strict") == "PlaintextRejectedByStrict"
    assert rule_name("SAN mismatch") == "SANMismatch"
    assert rule_name("cert_expired") == "CertExpired"


def test_results_point_at_file_line_and_subject(tmp_path: Path) -> None:
    findings = findings_from_real_manifests(tmp_path)
    doc = render(findings, tmp_path)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    by_code = {r["ruleId"]: r for r in run["results"]}
    assert set(by_code) == {"ZZ101", "ZZ102", "ZZ201"}
    for r in run["results"]:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]

    strict = by_code["ZZ101"]
    assert strict["level"] == "error"
    assert strict["message"]["text"] == (
        "legacy/batch sends plaintext to api.prod.svc.cluster.local:8080, which requires mTLS. "
        "Fix: Inject a sidecar into the client or set the port to PERMISSIVE."
    )
    loc = strict["locations"][0]
    assert loc["physicalLocation"]["artifactLocation"] == {
        "uri": "deploy/mesh%20policies.yaml",
        "uriBaseId": "SRCROOT",
    }
    assert loc["physicalLocation"]["region"] == {"startLine": 1}
    assert loc["logicalLocations"][0]["fullyQualifiedName"] == "PeerAuthentication/prod/default"

    legacy = by_code["ZZ102"]["locations"][0]
    assert legacy["physicalLocation"]["region"] == {"startLine": 10}  # the second document
    assert by_code["ZZ102"]["level"] == "warning"

    # no origin: only the logical location
    config = by_code["ZZ201"]
    assert config["level"] == "note"
    assert "physicalLocation" not in config["locations"][0]
    assert config["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == (
        "ConfigMap/istio-system/istio"
    )
    assert config["properties"]["cluster"] == "east"
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == tmp_path.as_uri() + "/"


def test_locations_without_base_dir_and_outside_it(tmp_path: Path) -> None:
    subject = Subject("Service", "prod", "api")
    outside = tmp_path / "elsewhere" / "svc.yaml"
    findings = [
        CODES[1].finding(subject, origin=Origin("manifests/./svc.yaml", 3), name="a"),
        CODES[1].finding(subject, origin=Origin(str(outside), 4), name="b"),
        CODES[1].finding(subject, origin=Origin("<stdin>", 7), name="c"),
        CODES[1].finding(subject, origin=Origin("dump.tar.gz!pods/x.yaml", 9), name="d"),
    ]
    doc = render(findings, None)
    locs = {
        r["message"]["text"].split(" ")[0]: r["locations"][0] for r in doc["runs"][0]["results"]
    }
    assert locs["a"]["physicalLocation"]["artifactLocation"] == {"uri": "manifests/svc.yaml"}
    assert locs["b"]["physicalLocation"]["artifactLocation"] == {"uri": outside.as_uri()}
    assert "physicalLocation" not in locs["c"]  # stdin: nothing to point at
    archive = locs["d"]["physicalLocation"]
    assert archive["artifactLocation"] == {"uri": "dump.tar.gz"}
    assert archive["properties"] == {"archiveMember": "pods/x.yaml", "memberLine": 9}

    based = render(findings, tmp_path / "repo")
    outside_loc = next(
        r["locations"][0] for r in based["runs"][0]["results"] if r["message"]["text"][0] == "b"
    )
    assert outside_loc["physicalLocation"]["artifactLocation"] == {"uri": outside.as_uri()}


def test_relative_paths_are_made_relative_to_base_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    (repo / "k8s").mkdir(parents=True)
    monkeypatch.chdir(repo / "k8s")  # the user ran the tool from a sub-folder
    f = CODES[1].finding(Subject("Service", "a", "b"), origin=Origin("svc.yaml", 2), name="x")
    doc = render([f], repo)
    loc = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "k8s/svc.yaml", "uriBaseId": "SRCROOT"}


def test_fingerprints_are_stable_and_distinct(tmp_path: Path) -> None:
    findings = findings_from_real_manifests(tmp_path)
    once = render_sarif(findings, CODES, "1", tmp_path, pages=PAGES.get)
    again = render_sarif(list(reversed(findings)), CODES, "1", tmp_path, pages=PAGES.get)
    assert once == again  # same input, any order: the same document

    prints = [
        r["partialFingerprints"][FINGERPRINT_KEY] for r in json.loads(once)["runs"][0]["results"]
    ]
    assert len(set(prints)) == len(findings)

    # the manifest gained lines above the object: the finding keeps its fingerprint
    moved = [
        Finding(
            code=f.code,
            level=f.level,
            subject=f.subject,
            message=f.message,
            fix=f.fix,
            origin=Origin(f.origin.file, (f.origin.line or 0) + 5) if f.origin else None,
            cluster=f.cluster,
        )
        for f in findings
    ]
    moved_prints = [
        r["partialFingerprints"][FINGERPRINT_KEY]
        for r in json.loads(render_sarif(moved, CODES, "1", tmp_path, pages=PAGES.get))["runs"][0][
            "results"
        ]
    ]
    assert moved_prints == prints


def test_suppressed_findings_are_marked(
    tmp_path: Path, validator: jsonschema.protocols.Validator
) -> None:
    findings = findings_from_real_manifests(tmp_path)
    options = parse_options(suppress=["ZZ1=PeerAuthentication/shop/*"])
    filtered = apply_filters(
        findings, options, annotations={"ConfigMap/istio-system/istio": {"ZZ"}}
    )
    doc = render(list(filtered.kept), tmp_path, suppressed=filtered.suppressed)
    assert errors(validator, doc) == []
    marks = {r["ruleId"]: r.get("suppressions") for r in doc["runs"][0]["results"]}
    assert marks == {
        "ZZ101": None,
        "ZZ102": [
            {"kind": "external", "justification": "--suppress ZZ1=PeerAuthentication/shop/*"}
        ],
        "ZZ201": [
            {
                "kind": "inSource",
                "justification": "mtls-doctor.io/ignore on ConfigMap/istio-system/istio",
            }
        ],
    }


def test_code_missing_from_catalog_still_renders(
    validator: jsonschema.protocols.Validator,
) -> None:
    stray = Finding("QQ999", "warning", Subject("Pod", "a", "b"), "odd", "Do it.")
    doc = render([stray], None)
    assert errors(validator, doc) == []
    run = doc["runs"][0]
    result = run["results"][0]
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "QQ999"


def test_the_real_catalog_renders_valid_sarif(
    tmp_path: Path, validator: jsonschema.protocols.Validator
) -> None:
    """Every code of the real catalog, with its bundled page, as rules; one finding each."""
    findings = []
    for code in CATALOG:
        fields = {name: "x" for _, name, _, _ in Formatter().parse(code.message) if name}
        findings.append(
            Finding(
                code=code.code,
                level=code.level,
                subject=Subject("Service", "prod", "api"),
                message=code.message.format(**fields),
                fix=code.fix,
                origin=Origin(os.fspath(tmp_path / "m.yaml"), 1),
            )
        )
    doc = json.loads(render_sarif(findings, CATALOG, "0", tmp_path))
    assert errors(validator, doc) == []
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [c.code for c in CATALOG]
    for r in rules:
        text = page(r["id"])
        if text is not None:
            assert text.strip() in r["help"]["markdown"]
    assert {r["ruleId"] for r in doc["runs"][0]["results"]} == set(BY_CODE)


def test_github_ingestion_rules(tmp_path: Path) -> None:
    findings = findings_from_real_manifests(tmp_path)  # ZZ201 has no file of its own
    fallback = str(tmp_path / "deploy" / "mesh policies.yaml")
    doc = render(findings, tmp_path, fallback_file=fallback)
    assert github_problems(doc) == []
    anchored = next(r for r in doc["runs"][0]["results"] if r["ruleId"] == "ZZ201")
    assert anchored["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "deploy/mesh%20policies.yaml", "uriBaseId": "SRCROOT"}
    }
    # without a fallback, GitHub would reject the upload: the checker sees it
    assert github_problems(render(findings, tmp_path)) == ["result 2: no artifact location"]
    assert _URI_REF.match("a b.yaml") is None


GOLDEN = FIXTURES / "golden.sarif"
UPDATE_GOLDEN = os.environ.get("MTLS_DOCTOR_UPDATE_GOLDEN", "") not in ("", "0")


def test_golden_document(validator: jsonschema.protocols.Validator) -> None:
    """The whole document for a fixed input; refresh with MTLS_DOCTOR_UPDATE_GOLDEN=1."""
    strict = CODES[0].finding(
        Subject("PeerAuthentication", "prod", "default"),
        origin=Origin("k8s/prod/peer-authentication.yaml", 3),
        client="legacy/batch",
        host="api.prod.svc.cluster.local",
        port=8080,
    )
    permissive = CODES[1].finding(
        Subject("PeerAuthentication", "shop", "legacy"),
        origin=Origin("k8s/shop/pa.yaml", 14),
        name="legacy",
    )
    mesh = CODES[2].finding(
        Subject("ConfigMap", "istio-system", "istio"), cluster="east", mesh="east"
    )
    filtered = apply_filters(
        [strict, permissive, mesh],
        parse_options(suppress=["ZZ102=PeerAuthentication/shop/*"]),
    )
    text = render_sarif(
        filtered.kept,
        CODES,
        "0.1.0",
        None,
        suppressed=filtered.suppressed,
        pages=PAGES.get,
        fallback_file="k8s/prod/peer-authentication.yaml",
    )
    assert errors(validator, json.loads(text)) == []
    assert github_problems(json.loads(text)) == []
    if UPDATE_GOLDEN:
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8"), (
        "SARIF output changed; if intended, refresh with MTLS_DOCTOR_UPDATE_GOLDEN=1"
    )
