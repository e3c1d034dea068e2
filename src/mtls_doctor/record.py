"""The base of every frozen record.

Subclasses inherit `frozen=True` (hashable, immutable) from here instead of passing it as a class
keyword: mypyc, which compiles the core (setup.py), drops the class keywords of the msgspec
classes it compiles, so this module stays Python.
"""

from __future__ import annotations

from typing import dataclass_transform

import msgspec


# the decorator tells type checkers what msgspec's metaclass does at run time: subclasses are
# frozen too (without it mypy takes a subclass with no `frozen=True` of its own as mutable)
@dataclass_transform(frozen_default=True, field_specifiers=(msgspec.field,))
class Record(msgspec.Struct, frozen=True):
    """A frozen msgspec record: typed fields, value equality, hashable, encodes to JSON."""
