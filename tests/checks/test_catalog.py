"""Meta-tests over the finding catalog, and the commands that show it (`codes`, `code CODE`).

Every code: unique code and name, the code format, one-sentence fix, plain message fields, a
bundled page with the required sections, and a fixture that triggers it (tests/checks/triggers.py).
"""

from __future__ import annotations

import importlib.util
import inspect
import io
import json
import re
import sys
from collections import Counter
from importlib.resources import files
from pathlib import Path
from string import Formatter
from types import ModuleType

import click
import pytest
from click.testing import CliRunner
from rich.console import Console

from mtls_doctor.checks.catalog import BY_CODE, CATALOG, page
from mtls_doctor.checks.codes import Code
from mtls_doctor.cli.cmd_codes import (
    close_matches,
    is_code_argument,
    register,
    show_code_page,
)
from mtls_doctor.report.sarif import rule_name

CODE_FORMAT = re.compile(r"^[A-Z]{2}\d{3}$")
SECTIONS = ("## What it means", "## What you see", "## How to fix", "## Example")
CODE_IDS = [c.code for c in CATALOG]
# `Code.finding(subject, *, origin, cluster, level, fix, **fields)`: a message field with one of
# these names could never be filled.
RESERVED_FIELDS = frozenset(inspect.signature(Code.finding).parameters) - {"fields"}


def _load_triggers() -> ModuleType:
    """tests/checks/triggers.py, loaded by path (tests/ is not a package)."""
    path = Path(__file__).with_name("triggers.py")
    spec = importlib.util.spec_from_file_location("mtls_doctor_tests_triggers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


triggers = _load_triggers()


def headings(markdown: str) -> list[tuple[int, str]]:
    """(line number, heading) for ATX headings outside fenced code blocks."""
    out: list[tuple[int, str]] = []
    fence: str | None = None
    for n, line in enumerate(markdown.splitlines(), 1):
        stripped = line.lstrip()
        if stripped.startswith(("```", "~~~")) and len(line) - len(stripped) < 4:
            mark = stripped[:3]
            if fence is None:
                fence = mark
            elif mark == fence:
                fence = None
            continue
        if fence is None and re.match(r"^#{1,6} ", line):
            out.append((n, line.rstrip()))
    return out


def sections(markdown: str) -> dict[str, str]:
    """heading -> the text under it (up to the next heading)."""
    lines = markdown.splitlines()
    marks = headings(markdown)
    out: dict[str, str] = {}
    for i, (n, title) in enumerate(marks):
        end = marks[i + 1][0] - 1 if i + 1 < len(marks) else len(lines)
        out[title] = "\n".join(lines[n:end]).strip()
    return out


# --- the registry --------------------------------------------------------------------------


def test_catalog_is_not_empty() -> None:
    assert CATALOG, "no family module contributed codes: the meta-tests below would be vacuous"


def test_codes_are_unique() -> None:
    dups = [c for c, n in Counter(CODE_IDS).items() if n > 1]
    assert dups == []
    assert set(BY_CODE) == set(CODE_IDS)


def test_names_are_unique() -> None:
    names = Counter(c.name for c in CATALOG)
    assert [n for n, k in names.items() if k > 1] == []
    # SARIF rule names too (they drop separators, so `a-b` and `a b` would collide)
    rules = Counter(rule_name(c.name).lower() for c in CATALOG)
    assert [n for n, k in rules.items() if k > 1] == []


@pytest.mark.parametrize("code", CODE_IDS)
def test_code_record(code: str) -> None:
    c = BY_CODE[code]
    assert CODE_FORMAT.match(c.code), f"{code}: codes are two capitals and three digits"
    assert c.level in ("error", "warning", "info")
    assert c.name and c.name == c.name.strip() and "\n" not in c.name
    assert c.message.strip(), f"{code}: empty message template"


def fix_problems(fix: str) -> list[str]:
    """What is wrong with a fix text: it must be one sentence, on one line, ending with a period."""
    problems = []
    if not fix.endswith("."):
        problems.append("does not end with a period")
    if "\n" in fix:
        problems.append("is not one line")
    if fix[:1] and not (fix[0].isupper() or fix[0] == "`"):
        problems.append("does not start like a sentence")
    prose = re.sub(r"`[^`]*`", "CODE", fix)  # periods inside code spans are not sentence ends
    prose = re.sub(r"\b(e\.g|i\.e|etc|vs)\.", "ABBR", prose)
    if re.search(r"[.!?][\"')\]]*\s+\S", prose[:-1]):
        problems.append("is more than one sentence")
    return problems


def field_problems(template: str) -> list[str]:
    """Message template fields must be plain `{name}`s that `Code.finding(**fields)` can fill."""
    problems = []
    for _, name, spec, conversion in Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier():
            problems.append(f"{{{name}}} is not a plain {{name}} field")
        elif spec or conversion is not None:
            problems.append(f"{{{name}}} has a format spec or conversion (!r, :>5)")
        elif name in RESERVED_FIELDS:
            problems.append(
                f"{{{name}}} clashes with the keyword argument {name}= of Code.finding()"
            )
    return problems


def page_problems(code: str, name: str, text: str) -> list[str]:
    """A page has exactly the headings `# CODE name` and SECTIONS, in order, none empty."""
    marks = [h for _, h in headings(text)]
    expected = [f"# {code} {name}", *SECTIONS]
    problems = []
    if marks != expected:
        problems.append(f"headings are {marks}, expected {expected}")
    if not text.lstrip().startswith(f"# {code} {name}\n"):
        problems.append(f"does not start with its title '# {code} {name}'")
    body = sections(text)
    problems.extend(f"section {t!r} is empty" for t in SECTIONS if t in body and not body[t])
    return problems


@pytest.mark.parametrize("code", CODE_IDS)
def test_fix_is_one_sentence_ending_with_a_period(code: str) -> None:
    fix = BY_CODE[code].fix
    assert fix_problems(fix) == [], f"{code}: fix {fix!r}"


@pytest.mark.parametrize("code", CODE_IDS)
def test_message_fields_are_plain_names(code: str) -> None:
    assert field_problems(BY_CODE[code].message) == [], f"{code}: {BY_CODE[code].message!r}"


@pytest.mark.parametrize("code", CODE_IDS)
def test_every_code_has_a_page_with_the_required_sections(code: str) -> None:
    text = page(code)
    assert text is not None, f"no page src/mtls_doctor/docs/codes/{code}.md"
    assert page_problems(code, BY_CODE[code].name, text) == [], f"{code}.md"


# the checkers above can fail: known good and bad inputs


def test_fix_checker() -> None:
    assert fix_problems("Set the mode to STRICT (e.g. with `kubectl apply -f pa.yaml`).") == []
    assert fix_problems("Upgrade to Istio 1.8. Then retry.") == ["is more than one sentence"]
    assert fix_problems("Set STRICT") == ["does not end with a period"]
    assert fix_problems("set STRICT.") == ["does not start like a sentence"]


def test_field_checker() -> None:
    assert field_problems("{client} calls {host}:{port} ({{literal}})") == []
    assert field_problems("{spiffe_id!r}") == [
        "{spiffe_id} has a format spec or conversion (!r, :>5)"
    ]
    assert field_problems("{port:>5}") == ["{port} has a format spec or conversion (!r, :>5)"]
    assert field_problems("{edge.host}") == ["{edge.host} is not a plain {name} field"]
    assert field_problems("{0}") == ["{0} is not a plain {name} field"]
    assert field_problems("{cluster}") == [
        "{cluster} clashes with the keyword argument cluster= of Code.finding()"
    ]


def test_page_checker() -> None:
    good = (
        "# ZZ101 plaintext-into-strict\n\n## What it means\n\nText.\n\n## What you see\n\n"
        "```yaml\n# a YAML comment, not a heading\nkind: Pod\n```\n\n## How to fix\n\nFix.\n\n"
        "## Example\n\nExample.\n"
    )
    assert page_problems("ZZ101", "plaintext-into-strict", good) == []
    assert page_problems("ZZ101", "other-name", good) != []
    missing = good.replace("## What you see", "## What happens")
    assert page_problems("ZZ101", "plaintext-into-strict", missing) != []
    empty = good.replace("\nFix.\n", "\n")
    assert page_problems("ZZ101", "plaintext-into-strict", empty) == [
        "section '## How to fix' is empty"
    ]
    extra = good + "\n## See also\n\nMore.\n"
    assert page_problems("ZZ101", "plaintext-into-strict", extra) != []


def test_every_page_belongs_to_a_code() -> None:
    folder = files("mtls_doctor").joinpath("docs", "codes")
    pages = sorted(p.name for p in folder.iterdir() if p.name.endswith(".md"))
    orphans = [p for p in pages if p.removesuffix(".md") not in BY_CODE]
    assert orphans == [], "pages of codes the catalog does not have (typo, or a removed code)"


# --- every code triggered by a fixture -----------------------------------------------------


@pytest.mark.parametrize("code", CODE_IDS)
def test_every_code_is_triggered_by_a_fixture(code: str) -> None:
    declared = triggers.TRIGGERS.get(code, ())
    assert declared, (
        f"{code}: no fixture declared to trigger it; add an entry to tests/checks/triggers.py"
    )
    for t in declared:
        assert t.path.exists(), f"{code}: fixture {t.fixture} does not exist"
        found = list(t.run(t.path))
        hits = [f for f in found if f.code == code and str(f.subject) == t.subject]
        assert hits, f"{code}: {t.fixture} did not produce {code} on {t.subject}; it produced " + (
            ", ".join(sorted(f"{f.code} {f.subject}" for f in found)) or "nothing"
        )
        if t.line is not None:
            lines = {f.origin.line for f in hits if f.origin is not None}
            assert t.line in lines, f"{code}: expected at line {t.line}, got {sorted(lines)}"


def test_triggers_name_only_catalog_codes() -> None:
    assert sorted(set(triggers.TRIGGERS) - set(BY_CODE)) == []


# --- `mtls-doctor codes` and the page of one code ------------------------------------------

TEST_CODES = (
    Code("ZZ101", "plaintext-into-strict", "error", "{client} sends plaintext", "Inject it."),
    Code("ZZ102", "permissive-left-on", "warning", "{name} is PERMISSIVE", "Set STRICT."),
    Code("YY201", "auto-mtls-off", "info", "auto mTLS is off", "Turn it on."),
)
TEST_PAGE = (
    "# ZZ101 plaintext-into-strict\n\n## What it means\n\nA **plaintext** client.\n\n"
    "## What you see\n\n```\nconnection reset by peer\n```\n\n## How to fix\n\nInject it.\n\n"
    "## Example\n\n```yaml\nkind: PeerAuthentication\n```\n"
)


def run_cli(*args: str) -> tuple[int, str, str]:
    """Run our commands in a group of their own: other command modules cannot break these."""
    group = click.Group("mtls-doctor")
    register(group)
    result = CliRunner().invoke(group, list(args), standalone_mode=False, catch_exceptions=False)
    return int(result.return_value or 0), result.stdout, result.stderr


def test_register_adds_codes_and_a_hidden_code_command() -> None:
    group = click.Group("mtls-doctor")
    register(group)
    assert set(group.commands) == {"codes", "code"}
    assert not group.commands["codes"].hidden
    assert group.commands["code"].hidden


def test_codes_json_lists_the_catalog() -> None:
    rc, out, _ = run_cli("codes", "-o", "json")
    assert rc == 0
    rows = json.loads(out)["codes"]
    assert [r["code"] for r in rows] == CODE_IDS
    for r in rows:
        c = BY_CODE[r["code"]]
        assert (r["name"], r["level"], r["fix"], r["message"]) == (
            c.name,
            c.level,
            c.fix,
            c.message,
        )


def test_codes_table_and_select() -> None:
    rc, out, _ = run_cli("codes")
    assert rc == 0
    for c in CATALOG:
        assert c.code in out and c.name in out
    if not CATALOG:
        pytest.skip("empty catalog")
    family = CATALOG[0].code[:2]
    rc, out, _ = run_cli("codes", "-o", "json", "--select", family.lower())
    assert rc == 0
    assert {r["code"] for r in json.loads(out)["codes"]} == {
        c.code for c in CATALOG if c.code.startswith(family)
    }


def test_codes_select_matching_nothing_is_a_usage_error() -> None:
    unused = next(
        f"{a}{b}" for a in "QXZ" for b in "QXZ" if f"{a}{b}" not in {c.code[:2] for c in CATALOG}
    )
    rc, out, err = run_cli("codes", "--select", unused)
    assert rc == 2
    assert out == ""
    assert f"no code starts with {unused}" in err


def test_code_page_is_printed_raw_when_not_a_terminal() -> None:
    buf = io.StringIO()
    rc = show_code_page(
        " zz101 ",
        codes=TEST_CODES,
        pages={"ZZ101": TEST_PAGE}.get,
        console=Console(file=buf, force_terminal=False),
    )
    assert rc == 0
    assert buf.getvalue() == TEST_PAGE


def test_code_page_is_rendered_on_a_terminal() -> None:
    buf = io.StringIO()
    rc = show_code_page(
        "ZZ101",
        codes=TEST_CODES,
        pages={"ZZ101": TEST_PAGE}.get,
        console=Console(file=buf, force_terminal=True, width=80),
    )
    assert rc == 0
    shown = buf.getvalue()
    assert "\x1b[" in shown  # styled
    assert "## What it means" not in shown  # markdown rendered, not echoed
    assert "What it means" in shown and "connection reset by peer" in shown


def test_unknown_code_names_close_matches() -> None:
    out, err = io.StringIO(), io.StringIO()
    rc = show_code_page(
        "ZZ10",
        codes=TEST_CODES,
        pages=lambda c: None,
        console=Console(file=out),
        err=Console(file=err, width=200),
    )
    assert rc == 2
    assert out.getvalue() == ""
    assert "unknown finding code 'ZZ10'" in err.getvalue()
    assert "ZZ101, ZZ102" in err.getvalue()
    assert close_matches("YY210", [c.code for c in TEST_CODES]) == ["YY201"]
    assert close_matches("AB999", [c.code for c in TEST_CODES]) == []


def test_code_without_page_still_shows_its_fix() -> None:
    buf = io.StringIO()
    rc = show_code_page("YY201", codes=TEST_CODES, pages=lambda c: None, console=Console(file=buf))
    assert rc == 0
    assert "Turn it on." in buf.getvalue()
    assert "no page is bundled" in buf.getvalue()


def test_hidden_code_command_prints_the_bundled_page() -> None:
    documented = [c for c in CODE_IDS if page(c) is not None]
    if not documented:
        pytest.skip("no code has a bundled page yet (see the page test above)")
    for code in documented[:3]:
        rc, out, _ = run_cli("code", code.lower())
        text = page(code) or ""
        assert rc == 0
        assert out == (text if text.endswith("\n") else text + "\n")


def test_hidden_code_command_unknown_code() -> None:
    rc, out, err = run_cli("code", "QQ000")
    assert rc == 2
    assert out == ""
    assert "unknown finding code 'QQ000'" in err


def test_explain_argument_is_a_code_or_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert is_code_argument("PA101")
    assert is_code_argument(" pa101 ")
    assert not is_code_argument("PA1011")
    assert not is_code_argument("mesh.yaml")
    (tmp_path / "DR201").mkdir()  # a directory named like a code is a path
    assert not is_code_argument("DR201")
