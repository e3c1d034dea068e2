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


Pieces = tuple[tuple[str, int], ...]  # (literal, position of the field after it, or -1)


def pieces(template: str, names: tuple[str, ...]) -> Pieces:
    """The template with each field as its position in `names`, for `fill_in`: a check that
    fills one template per destination of a big mesh passes its values in order, no mapping.
    A field not in `names` is a ValueError, raised when the check module is imported."""
    out: list[tuple[str, int]] = []
    for literal, name in _parse(template):
        if name is not None and name not in names:
            raise ValueError(f"{template!r}: {{{name}}} is not one of {names}")
        out.append((literal, names.index(name) if name is not None else -1))
    return tuple(out)


def fill_in(parts: Pieces, values: tuple[str, ...]) -> str:
    """`fill` with the values in the order `pieces` was given their names."""
    out: list[str] = []
    for literal, at in parts:
        out.append(literal)
        if at >= 0:
            out.append(values[at])
    return "".join(out)
