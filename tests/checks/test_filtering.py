"""--select/--ignore (ruff semantics), --suppress, the ignore annotation, and --fail-on."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtls_doctor.checks.filtering import (
    ALL,
    IGNORE_ANNOTATION,
    FilterOptions,
    annotation_index,
    apply_filters,
    is_selected,
    parse_annotation,
    parse_options,
    parse_prefix,
    parse_prefixes,
    parse_suppression,
    reaches_fail_on,
    unknown_prefixes,
)
from mtls_doctor.checks.finding import Finding, Level, Subject


def finding(code: str, subject: str, level: Level = "error") -> Finding:
    kind, namespace, name = subject.split("/")
    return Finding(code, level, Subject(kind, namespace, name), f"{code} on {subject}", "Fix it.")


PA_PROD = finding("PA101", "PeerAuthentication/prod/default")
PA_SHOP = finding("PA102", "PeerAuthentication/shop/legacy", "warning")
DR_SHOP = finding("DR201", "DestinationRule/shop/payments")
DR_PROD = finding("DR101", "DestinationRule/prod/api", "info")
ED_PROD = finding("ED101", "Deployment/prod/api", "warning")
ALL_FINDINGS = (PA_PROD, PA_SHOP, DR_SHOP, DR_PROD, ED_PROD)


def kept_codes(options: FilterOptions, annotations: dict[str, set[str]] | None = None) -> set[str]:
    return {f.code for f in apply_filters(ALL_FINDINGS, options, annotations).kept}


# --- parsing -------------------------------------------------------------------------------


def test_prefixes_are_normalised() -> None:
    assert parse_prefix(" pa1 ") == "PA1"
    assert parse_prefix("ALL") == ALL
    assert parse_prefix("*") == ALL
    assert parse_prefixes(["PA,dr101", "PA", " ", "ED"]) == ("PA", "DR101", "ED")


@pytest.mark.parametrize("bad", ["P1", "PA1011", "PAX", "1", "P-", "PA 1", "ÄB"])
def test_bad_prefixes_are_rejected_with_a_message(bad: str) -> None:
    with pytest.raises(ValueError, match="not a code or code prefix"):
        parse_prefix(bad)


def test_suppression_parsing() -> None:
    s = parse_suppression("pa101,DR=PeerAuthentication/prod/*")
    assert s.prefixes == ("PA101", "DR")
    assert s.glob == "PeerAuthentication/prod/*"
    assert parse_suppression("*=Deployment/legacy/*").prefixes == (ALL,)
    for bad in ["PA101", "=Deployment/a/b", "PA101=", "PA101=Deployment/a", "XYZ=Pod/a/b"]:
        with pytest.raises(ValueError, match="--suppress"):
            parse_suppression(bad)


def test_parse_options() -> None:
    options = parse_options(select=["PA,DR"], ignore=["DR2"], suppress=[], fail_on="warning")
    assert options == FilterOptions(select=("PA", "DR"), ignore=("DR2",), fail_on="warning")
    assert parse_options().select == (ALL,)
    with pytest.raises(ValueError, match="--fail-on"):
        parse_options(fail_on="critical")


def test_unknown_prefixes_are_reported() -> None:
    options = parse_options(
        select=["PA", "ZZ"], ignore=["DR9"], suppress=["QQ1=Pod/*/*", "ALL=Pod/a/*"]
    )
    assert unknown_prefixes(options, [f.code for f in ALL_FINDINGS]) == ["ZZ", "DR9", "QQ1"]


def test_annotation_value() -> None:
    assert IGNORE_ANNOTATION == "mtls-doctor.io/ignore"
    assert parse_annotation("PA101, dr") == {"PA101", "DR"}
    assert parse_annotation("") == frozenset()
    with pytest.raises(ValueError, match=IGNORE_ANNOTATION):
        parse_annotation("PA101;DR")


# --- --select / --ignore -------------------------------------------------------------------


def test_default_keeps_everything() -> None:
    result = apply_filters(ALL_FINDINGS, FilterOptions())
    assert result.kept == ALL_FINDINGS
    assert result.suppressed == ()


def test_select_and_ignore_most_specific_prefix_wins() -> None:
    assert kept_codes(parse_options(select=["PA"])) == {"PA101", "PA102"}
    assert kept_codes(parse_options(ignore=["DR"])) == {"PA101", "PA102", "ED101"}
    # a more specific select re-enables one code inside an ignored family
    assert kept_codes(parse_options(ignore=["DR"], select=["DR201", "PA"])) == {
        "DR201",
        "PA101",
        "PA102",
    }
    # a more specific ignore removes one code inside a selected family
    assert kept_codes(parse_options(select=["PA"], ignore=["PA102"])) == {"PA101"}
    # ignore ALL, select one family
    assert kept_codes(parse_options(ignore=["ALL"], select=["ED"])) == {"ED101"}
    # the same prefix in both: ignore wins (as in ruff)
    assert kept_codes(parse_options(select=["DR"], ignore=["DR"])) == set()


_PREFIXES = st.one_of(
    st.just(ALL),
    st.from_regex(r"[A-C]{1,2}", fullmatch=True),
    st.from_regex(r"AB[0-9]{0,3}", fullmatch=True),
)


@given(
    code=st.from_regex(r"A[A-C][0-9]{3}", fullmatch=True),
    select=st.lists(_PREFIXES, max_size=4),
    ignore=st.lists(_PREFIXES, max_size=4),
)
def test_selection_matches_ruff_rule(code: str, select: list[str], ignore: list[str]) -> None:
    """Written independently: walk from the full code down to the empty prefix; the first
    prefix named decides, ignore before select at the same length."""
    chosen = select or [ALL]
    expected = False
    for n in range(len(code), -1, -1):
        head = code[:n]
        if head in ignore:
            expected = False
            break
        if head in chosen:
            expected = True
            break
    assert is_selected(code, chosen, ignore) is expected


def test_deselected_findings_are_returned_with_the_rule() -> None:
    result = apply_filters(ALL_FINDINGS, parse_options(select=["PA"], ignore=["PA102"]))
    assert result.kept == (PA_PROD,)
    reasons = {s.finding.code: (s.by, s.rule) for s in result.suppressed}
    assert reasons == {
        "PA102": ("ignore", "--ignore PA102"),
        "DR201": ("ignore", "not in --select"),
        "DR101": ("ignore", "not in --select"),
        "ED101": ("ignore", "not in --select"),
    }


# --- --suppress ----------------------------------------------------------------------------


def test_suppress_by_code_and_subject_glob() -> None:
    options = parse_options(suppress=["PA=PeerAuthentication/shop/*"])
    result = apply_filters(ALL_FINDINGS, options)
    assert [s.finding for s in result.suppressed] == [PA_SHOP]
    assert result.suppressed[0].by == "suppress"
    assert result.suppressed[0].rule == "--suppress PA=PeerAuthentication/shop/*"


def test_suppress_star_code_and_cross_kind_glob() -> None:
    # every code on anything in namespace prod; Kind matched without regard to case
    assert kept_codes(parse_options(suppress=["*=*/prod/*"])) == {"PA102", "DR201"}
    assert kept_codes(parse_options(suppress=["ALL=deployment/prod/api"])) == {
        "PA101",
        "PA102",
        "DR201",
        "DR101",
    }
    # a code that does not match the finding leaves it alone
    assert "PA101" in kept_codes(parse_options(suppress=["PA102=PeerAuthentication/*/*"]))


def test_suppress_glob_must_match_the_whole_subject() -> None:
    kept = kept_codes(parse_options(suppress=["DR=DestinationRule/sh*"]))
    assert kept == {"PA101", "PA102", "DR101", "ED101"}  # * crosses '/' like fnmatch does
    kept = kept_codes(parse_options(suppress=["DR=DestinationRule/shop/pay"]))
    assert "DR201" in kept  # 'pay' is not 'payments'


# --- the annotation ------------------------------------------------------------------------


def test_annotation_suppresses_only_on_that_resource() -> None:
    notes = {"DestinationRule/shop/payments": parse_annotation("DR2,PA")}
    result = apply_filters(ALL_FINDINGS, FilterOptions(), notes)
    assert [s.finding for s in result.suppressed] == [DR_SHOP]
    assert result.suppressed[0].by == "annotation"
    assert result.suppressed[0].rule == ("mtls-doctor.io/ignore on DestinationRule/shop/payments")
    # PA is in the annotation, but the PA findings are about other resources
    assert {PA_PROD, PA_SHOP} <= set(result.kept)


def test_annotation_index_from_resources() -> None:
    index, bad = annotation_index(
        [
            ("DestinationRule/shop/payments", {IGNORE_ANNOTATION: "DR2, pa"}),
            ("Deployment/prod/api", {"other": "x"}),
            ("Service/prod/api", {IGNORE_ANNOTATION: "PA101;DR"}),
            ("Pod/prod/api-1", {IGNORE_ANNOTATION: 7}),
            ("Service/prod/db", {IGNORE_ANNOTATION: ""}),
        ]
    )
    assert index == {"DestinationRule/shop/payments": frozenset({"DR2", "PA"})}
    assert [key for key, _ in bad] == ["Service/prod/api", "Pod/prod/api-1"]
    assert "'PA101;DR' is not a code or code prefix" in bad[0][1]
    result = apply_filters(ALL_FINDINGS, FilterOptions(), index)
    assert [s.finding for s in result.suppressed] == [DR_SHOP]


def test_annotation_all() -> None:
    notes = {"Deployment/prod/api": parse_annotation("ALL")}
    assert kept_codes(FilterOptions(), notes) == {"PA101", "PA102", "DR201", "DR101"}


def test_counts_by_mechanism() -> None:
    options = parse_options(ignore=["ED"], suppress=["PA101=*"])
    notes = {"DestinationRule/prod/api": {"DR"}}
    result = apply_filters(ALL_FINDINGS, options, notes)
    assert result.kept == (PA_SHOP, DR_SHOP)
    assert result.suppressed_counts() == {"ignore": 1, "suppress": 1, "annotation": 1}


# --- --fail-on -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("levels", "fail_on", "fails"),
    [
        (["error"], "error", True),
        (["warning", "info"], "error", False),
        (["warning"], "warning", True),
        (["info"], "warning", False),
        (["info"], "info", True),
        (["error", "warning", "info"], "never", False),
        ([], "info", False),
    ],
)
def test_fail_on(levels: list[Level], fail_on: str, fails: bool) -> None:
    findings = [finding("PA101", f"Pod/a/p{i}", lvl) for i, lvl in enumerate(levels)]
    options = parse_options(fail_on=fail_on)
    assert reaches_fail_on(findings, options.fail_on) is fails


def test_suppressed_findings_do_not_fail_the_run() -> None:
    options = parse_options(ignore=["PA1", "DR"], fail_on="error")
    result = apply_filters(ALL_FINDINGS, options)
    assert not reaches_fail_on(result.kept, options.fail_on)
    assert reaches_fail_on(ALL_FINDINGS, options.fail_on)
