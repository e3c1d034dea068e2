"""istioctl analyze and Kiali test inputs through `mtls-doctor analyze`: for every IST/KIA code
whose problem one of our checks also covers, our finding on the same resource; for their
"must produce no message" cases, none of ours (src/mtls_doctor/docs/analyzer-mapping.md).

The expectations are the upstream ones (tests/fixtures/analyzer/*/expected_*.json, derived from
the upstream Go tests); only the mapping below and the documented disagreements are ours."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli.run import ROOT, mtls_doctor

HERE = ROOT / "tests" / "fixtures" / "analyzer"
MESH_AUTOMTLS_OFF = HERE / "kiali-validations" / "mesh-automtls-off.yaml"

# upstream code -> the codes of ours that report the same problem
MAPPING: dict[str, tuple[str, ...]] = {
    "IST0101": ("AZ104",),  # ReferencedResourceNotFound (AuthorizationPolicy namespaces)
    "IST0115": ("DR102",),  # DestinationRuleUsesMTLSForWorkloadWithoutSidecar (1.5)
    "IST0118": ("PR103",),  # PortNameIsNotUnderNamingConvention
    "IST0127": ("AZ107",),  # NoMatchingWorkloadsFound (AuthorizationPolicy)
    "IST0128": ("DR103", "DR106"),  # NoServerCertificateVerificationDestinationLevel
    "IST0129": ("DR103", "DR106"),  # NoServerCertificateVerificationPortLevel
    "KIA0105": ("AZ101",),  # authorizationpolicy.mtls.needstobeenabled
    "KIA0208": ("DR101",),  # destinationrules.mtls.meshpolicymtlsenabled
    "KIA0505": ("PA108",),  # peerauthentications.mtls.disabledestinationrulemissing
    "KIA0506": ("PA108",),  # peerauthentications.mtls.disablemeshdestinationrulemissing
}
# upstream analyzer/checker -> our codes that must stay silent on its "no message" cases
SILENT: dict[str, tuple[str, ...]] = {
    "authz.AuthorizationPoliciesAnalyzer": ("AZ104", "AZ107"),
    "destinationrule.CaCertificateAnalyzer": ("DR103", "DR106"),
    "service.PortNameAnalyzer": ("PR103",),
    "auth.MTLSAnalyzer": ("DR102",),
    "authorization.MtlsEnabledChecker": ("AZ101",),
    "peerauthentications.DisabledNamespaceWideChecker": ("PA108",),
    "peerauthentications.DisabledMeshWideChecker": ("PA108",),
    "destinationrules.DisabledMeshWideMTLSChecker": ("DR101",),
}
# Kiali cases where our semantics say otherwise, and why (the test asserts our answer):
# upstream reports KIA0105, we do not
DISAGREE: dict[tuple[str, bool], str] = {
    ("authorization/mtls_enabled_checker_6.yaml", False): "ISTIO_MUTUAL clients into a "
    "PERMISSIVE (default) server are mTLS even with auto mTLS off: the principals can match",
    ("authorization/mtls_enabled_checker_12.yaml", False): "a mesh-wide ISTIO_MUTUAL rule makes "
    "the traffic mTLS into the PERMISSIVE (default) servers",
}
# upstream reports nothing, we report PA108
DISAGREE_FIRING: dict[tuple[str, bool], str] = {
    ("peerauthentications/disabled_namespacewide_checker_1.yaml", False): "the host rule "
    "`details` (ISTIO_MUTUAL) still sends Istio mTLS into the DISABLE namespace",
    ("peerauthentications/disabled_namespacewide_checker_3.yaml", False): "the host rule "
    "`details` (ISTIO_MUTUAL) still sends Istio mTLS into the DISABLE namespace",
}


@dataclass(frozen=True)
class Case:
    id: str
    files: tuple[Path, ...]
    mesh_config: Path | None
    checker: str
    expected: tuple[tuple[str, str], ...]  # (upstream code, Kind/namespace/name)


def _istio_origin(origin: str, legacy: bool) -> str:
    kind, _, ref = origin.partition(" ")
    if legacy:  # 1.5 wrote `name.namespace`
        name, _, ns = ref.partition(".")
    else:
        ns, sep, name = ref.rpartition("/")
        ns = ns if sep else "default"
    return f"{kind}/{ns or 'default'}/{name}"


def _istio_cases(folder: str, legacy: bool) -> list[Case]:
    rows = json.loads((HERE / folder / "expected_messages.json").read_text())
    out: list[Case] = []
    for row in rows:
        files = tuple(HERE / folder / Path(f).name for f in row["inputFiles"])
        if not all(f.exists() for f in files) or row["analyzer"] not in SILENT:
            continue
        expected = tuple(
            (m["code"], _istio_origin(m["origin"], legacy))
            for m in row["expected"]
            if m["code"] in MAPPING
            and not (m["code"] == "IST0101" and "Authorization" not in m["origin"])
        )
        if row["expected"] and not expected:
            continue
        out.append(Case(f"{row['name']}:{files[0].name}", files, None, row["analyzer"], expected))
    return out


def _first(path: Path, kind: str) -> str:
    for doc in yaml.safe_load_all(path.read_text()):
        if doc and doc.get("kind") == kind:
            meta = doc["metadata"]
            return f"{kind}/{meta.get('namespace') or 'default'}/{meta['name']}"
    raise AssertionError(f"no {kind} in {path}")


def _kiali_cases() -> list[Case]:
    rows = json.loads((HERE / "kiali-validations" / "expected_validations.json").read_text())
    out: list[Case] = []
    for row in rows:
        path = HERE / "kiali-validations" / row["file"]
        if not path.exists() or row["checker"] not in SILENT:
            continue
        auto = row["autoMtls"] is not False
        expected: tuple[tuple[str, str], ...] = ()
        if row["expected"] != "none":
            code, _, where = row["expected"].partition(" ")
            target = where.split(" @ ", 1)[1]
            if target.startswith("AuthorizationPolicy "):
                subject = "AuthorizationPolicy/" + target.split(" ")[1]
            elif "PeerAuthentication" in target:
                subject = _first(path, "PeerAuthentication")
            else:
                subject = _first(path, "DestinationRule")
            expected = ((code, subject),)
        key = f"{row['file']}:autoMtls={'on' if auto else 'off'}"
        out.append(
            Case(key, (path,), None if auto else MESH_AUTOMTLS_OFF, row["checker"], expected)
        )
    return out


CASES = (
    _istio_cases("istio-analyze", legacy=False)
    + _istio_cases("istio-analyze-1.5-legacy-mtls", legacy=True)
    + _kiali_cases()
)


def _findings(case: Case) -> list[dict[str, Any]]:
    args = [str(f.relative_to(ROOT)) for f in case.files]
    if case.mesh_config is not None:
        args += ["--mesh-config", str(case.mesh_config.relative_to(ROOT))]
    r = mtls_doctor("analyze", *args, "-o", "json", "--fail-on", "never")
    # 3: an input object could not be used (Kiali's fixtures have a Service without a name);
    # the rest is analysed all the same
    assert r.returncode in (0, 3), r.stderr
    found: list[dict[str, Any]] = json.loads(r.stdout)["findings"]
    return found


def _subject(f: dict[str, Any]) -> str:
    s = f["subject"]
    return f"{s['kind']}/{s['namespace']}/{s['name']}"


def _key(case: Case) -> tuple[str, bool]:
    name, _, auto = case.id.partition(":autoMtls=")
    return name, auto != "off"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_upstream_case(case: Case) -> None:
    found = _findings(case)
    ours = SILENT[case.checker]
    got = sorted(f"{f['code']} {_subject(f)}" for f in found if f["code"] in ours)
    if _key(case) in DISAGREE:  # upstream reports it; our semantics say the edge is mTLS
        assert case.expected, f"{case.id}: listed as a disagreement but upstream is silent"
        assert got == [], f"documented disagreement no longer holds: {case.id}: {got}"
        return
    for code, subject in case.expected:
        hits = [f for f in found if f["code"] in MAPPING[code] and _subject(f) == subject]
        assert hits, f"{code} on {subject}: expected one of {MAPPING[code]} there; got {got}"
    if case.expected:
        return
    if _key(case) in DISAGREE_FIRING:  # upstream is silent; we see a real conflict
        assert got, f"documented disagreement no longer holds: {case.id}"
        return
    assert got == [], f"{case.id}: upstream reports nothing; we report {got}"


def test_cases_were_found() -> None:
    codes = {code for c in CASES for code, _ in c.expected}
    assert codes == set(MAPPING), f"upstream codes without a case here: {set(MAPPING) - codes}"
    assert len([c for c in CASES if not c.expected]) >= 10


def test_mapping_is_published() -> None:
    page = (ROOT / "src" / "mtls_doctor" / "docs" / "analyzer-mapping.md").read_text()
    for upstream, ours in MAPPING.items():
        assert upstream in page
        for code in ours:
            assert code in page


def _needs_mtls_rows() -> list[tuple[str, bool]]:
    rows = json.loads((HERE / "kiali-validations" / "expected_validations.json").read_text())
    out = []
    for row in rows:
        if row["checker"].startswith("authorization.needsMtls("):
            name = row["checker"].split("(", 1)[1].split(" ", 1)[0]
            out.append((name, row["expected"].startswith("needs mTLS")))
    return out


@pytest.mark.parametrize(("policy", "needs"), _needs_mtls_rows())
def test_which_policy_fields_need_mtls(policy: str, needs: bool) -> None:
    """Kiali's `needsMtls` cases: the fields AZ101 treats as needing a peer identity."""
    from mtls_doctor.checks.authz import identity_fields
    from mtls_doctor.model.load import load_mesh

    path = HERE / "kiali-validations" / "authorization" / "authz_policy_requires_mtls.yaml"
    mesh = load_mesh([str(path)]).mesh
    (p,) = [p for p in mesh.clusters["default"].authorization_policies if p.name == policy]
    assert bool(identity_fields(p)) is needs, identity_fields(p)
