"""`template.fill` gives what `str.format` gives, for every message of the catalog."""

from __future__ import annotations

from string import Formatter

import pytest

from mtls_doctor.checks.catalog import CATALOG
from mtls_doctor.checks.template import fill, fill_in, pieces


@pytest.mark.parametrize("code", CATALOG, ids=lambda c: c.code)
def test_every_catalog_message_fills_as_str_format_does(code: object) -> None:
    template: str = code.message  # type: ignore[attr-defined]
    names = [n for _, n, _, _ in Formatter().parse(template) if n is not None]
    # strings, numbers and None, as the checks pass them
    values: dict[str, object] = {}
    for i, n in enumerate(names):
        values[n] = (f"value of {n} → {i}", 8080 + i, None)[i % 3]
    assert fill(template, values) == template.format(**values)


def test_literal_braces_unicode_and_repeated_fields() -> None:
    template = "{{not a field}} {a} → {b}: {a} ({c})"
    values = {"a": "x", "b": 443, "c": None}
    assert fill(template, values) == "{not a field} x → 443: x (None)"
    assert fill(template, values) == template.format(**values)
    assert fill("no fields at all", {}) == "no fields at all"


def test_a_missing_field_is_a_key_error_as_with_format() -> None:
    with pytest.raises(KeyError):
        fill("{present} {absent}", {"present": 1})


@pytest.mark.parametrize("template", ["{a!r}", "{a:>5}", "{0}", "{a.b}"])
def test_anything_but_plain_fields_is_refused(template: str) -> None:
    with pytest.raises(ValueError, match="plain"):
        fill(template, {"a": 1})


@pytest.mark.parametrize("code", CATALOG, ids=lambda c: c.code)
def test_pieces_filled_in_order_give_what_fill_gives(code: object) -> None:
    template: str = code.message  # type: ignore[attr-defined]
    names = tuple(dict.fromkeys(n for _, n, _, _ in Formatter().parse(template) if n))
    values = tuple(f"value of {n} → {i}" for i, n in enumerate(names))
    expected = fill(template, dict(zip(names, values, strict=True)))
    assert fill_in(pieces(template, names), values) == expected
    # the names may come in any order: each field takes its own value
    backwards = tuple(reversed(names))
    assert fill_in(pieces(template, backwards), tuple(reversed(values))) == expected


def test_pieces_keep_literal_braces_and_repeated_fields() -> None:
    parts = pieces("{{x}} {a} → {b}: {a}", ("b", "a"))
    assert fill_in(parts, ("B", "A")) == "{x} A → B: A"


def test_pieces_refuse_a_field_that_is_not_named() -> None:
    with pytest.raises(ValueError, match="not one of"):
        pieces("{clients} → {to}", ("clients",))
