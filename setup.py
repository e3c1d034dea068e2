"""Compiles the pure core (model → semantics → edges → checks) to C with mypyc.

The same modules run unchanged as Python: set MTLS_DOCTOR_PURE=1 to install without compiling
(no C compiler, or while editing the core). Everything else is configured in pyproject.toml.
"""

import os
from pathlib import Path

from setuptools import setup

# The modules the whole-mesh analysis spends its time in. Left as Python:
# - the msgspec decoding schemas (model/kube.py, istio.py, meshconfig.py, objects.py), which mypyc
#   cannot compile (renamed fields, generic structs) and which gain nothing from it;
# - model/load.py and edges/diff.py, whose tests replace module functions and constants, which
#   compiled callers would not see (they reach them directly);
# - checks/codes.py, the catalog, whose tests read its signatures.
PYTHON_ONLY = {
    "model/kube.py",
    "model/istio.py",
    "model/meshconfig.py",
    "model/objects.py",
    "model/load.py",
    "edges/diff.py",
    "checks/codes.py",
}
PACKAGES = ("checks", "edges", "semantics", "model")


def compiled_modules(root: Path = Path("src/mtls_doctor")) -> list[str]:
    found = [root / "analysis.py"]
    for package in PACKAGES:
        found += sorted((root / package).glob("*.py"))
    return [str(p) for p in found if p.relative_to(root).as_posix() not in PYTHON_ONLY]


def _extensions() -> list[object]:
    if os.environ.get("MTLS_DOCTOR_PURE", "") not in ("", "0"):
        return []
    from mypyc.build import mypycify

    return list(mypycify(compiled_modules(), opt_level="3", debug_level="0"))


if __name__ == "__main__":  # setuptools runs this file as __main__; tests read the list
    setup(ext_modules=_extensions())
