"""`template.fill` gives what `str.format` gives, for every message of the catalog."""

from __future__ import annotations

from string import Formatter

import pytest

from mtls_doctor.checks.catalog import CATALOG
from mtls_doctor.checks.template import fill


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
