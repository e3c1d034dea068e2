"""Finding messages: a catalog template parsed once, then filled by joining its pieces.

`str.format` parses the template on every call; a big mesh fills the same few templates tens of
thousands of times. The catalog's templates hold plain `{name}` fields only (its tests say so),
so a fill is the literal pieces and the fields' `str()` in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from string import Formatter

_PARSED: dict[str, tuple[tuple[str, str | None], ...]] = {}


def _parse(template: str) -> tuple[tuple[str, str | None], ...]:
    parts: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in Formatter().parse(template):
        if name is not None and (spec or conversion is not None or not name.isidentifier()):
            raise ValueError(f"{template!r}: {{{name}}} is not a plain {{name}} field")
        parts.append((literal, name))
    return tuple(parts)


def fill(template: str, values: Mapping[str, object]) -> str:
    """`template.format(**values)` for a template of plain `{name}` fields."""
    parts = _PARSED.get(template)
    if parts is None:
        parts = _PARSED[template] = _parse(template)
    out: list[str] = []
    for literal, name in parts:
        if literal:
            out.append(literal)
        if name is not None:
            out.append(str(values[name]))
    return "".join(out)
