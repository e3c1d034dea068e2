"""How this installation's core was built: compiled by mypyc (setup.py) or plain Python."""

from __future__ import annotations

import importlib.machinery


def core_compiled() -> bool:
    """Whether the core runs as mypyc-compiled extension modules."""
    import mtls_doctor.edges.evaluate as probe  # the edge evaluation, one of setup.py's modules

    origin = probe.__file__ or ""
    return origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def describe() -> str:
    return "compiled core (mypyc)" if core_compiled() else "pure-Python core"
