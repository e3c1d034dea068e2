"""Every EV/LG code is produced by its declared fixture on its subject (and line)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from mtls_doctor.envoy.codes import CODES


def _local(name: str) -> ModuleType:
    """A helper module next to this file, loaded by path (tests/ is not a package)."""
    key = f"mtls_doctor_tests_envoy_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module


ENVOY_TRIGGERS = _local("triggers_envoy").ENVOY_TRIGGERS


def test_every_envoy_code_has_a_trigger() -> None:
    assert sorted(ENVOY_TRIGGERS) == sorted(c.code for c in CODES)


@pytest.mark.parametrize("code", sorted(ENVOY_TRIGGERS))
def test_trigger_produces_the_code(code: str) -> None:
    for t in ENVOY_TRIGGERS[code]:
        found = list(t.run(t.path))
        hits = [f for f in found if f.code == code and str(f.subject) == t.subject]
        assert hits, f"{code}: {t.fixture}: " + ", ".join(f"{f.code} {f.subject}" for f in found)
        if t.line is not None:
            assert t.line in {f.origin.line for f in hits if f.origin is not None}
