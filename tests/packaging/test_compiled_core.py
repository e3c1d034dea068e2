"""The core that setup.py compiles with mypyc: what it may contain, and that it is what runs."""

from __future__ import annotations

import ast
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from mtls_doctor.build import core_compiled
from mtls_doctor.model.refs import ResourceRef
from mtls_doctor.record import Record

ROOT = Path(__file__).resolve().parents[2]
SETUP = runpy.run_path(str(ROOT / "setup.py"), run_name="not-main")  # the module list only
COMPILED = [Path(p) for p in SETUP["compiled_modules"](ROOT / "src" / "mtls_doctor")]
PURE = os.environ.get("MTLS_DOCTOR_PURE", "") not in ("", "0")


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT / "src").with_suffix("").parts)


def test_the_compiled_set_is_the_analysis_core() -> None:
    names = {_module_name(p) for p in COMPILED}
    for core in (
        "mtls_doctor.edges.evaluate",
        "mtls_doctor.edges.classes",
        "mtls_doctor.semantics.peerauthn",
        "mtls_doctor.checks.registry",
    ):
        assert core in names
    # the decoding schemas stay Python (mypyc cannot compile renamed msgspec fields)
    assert "mtls_doctor.model.kube" not in names


@pytest.mark.parametrize("path", COMPILED, ids=_module_name)
def test_no_class_keywords_in_compiled_modules(path: Path) -> None:
    """mypyc drops class keywords: `class X(msgspec.Struct, frozen=True)` compiles into a
    mutable, unhashable class. Compiled modules take `frozen` from `Record` instead."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    with_keywords = [
        f"{path.name}:{node.lineno} class {node.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and node.keywords
    ]
    assert not with_keywords, "use mtls_doctor.record.Record as the base: " + ", ".join(
        with_keywords
    )


@pytest.mark.parametrize("path", COMPILED, ids=_module_name)
def test_compiled_records_name_only_classes_defined_before_them(path: Path) -> None:
    """A compiled msgspec class builds its annotations when the module runs: a field typed with
    a class of the same module defined further down crashes the import (a NULL read in the
    mypyc-generated code, seen with edges/classes.py's Member naming SuperGroup)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    defined_at = {n.name: n.lineno for n in tree.body if isinstance(n, ast.ClassDef)}
    ahead = []
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef) and n.bases):
        for field in (f for f in cls.body if isinstance(f, ast.AnnAssign)):
            for name in (n.id for n in ast.walk(field.annotation) if isinstance(n, ast.Name)):
                if defined_at.get(name, 0) > cls.lineno:
                    ahead.append(f"{path.name}:{field.lineno} {cls.name} names {name}")
    assert not ahead, "define these classes first: " + ", ".join(ahead)


def test_records_of_the_compiled_core_are_frozen_where_they_run() -> None:
    """The same, seen at run time on whatever build is installed: every `Record` defined in a
    compiled module is frozen."""
    import importlib

    checked: set[str] = set()
    for path in COMPILED:
        module = importlib.import_module(_module_name(path))
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Record)
                and value.__module__ == module.__name__
            ):
                assert value.__struct_config__.frozen, f"{value.__module__}.{value.__name__}"
                checked.add(value.__name__)
    # the walk finds them: the findings, resource references and symptoms are among them
    assert {"ResourceRef", "Finding", "Symptom", "Edge"} <= checked


def test_the_edge_records_are_plain_classes_with_value_equality() -> None:
    """The records every evaluation makes by the hundred thousand (`Step`, `EndpointResult`,
    `Outcome`) are plain classes, read directly by compiled code, yet compare by value like
    the records they were: an endpoint decided alike for another pod equals one decided for
    that pod, steps and all."""
    from mtls_doctor.edges.records import EndpointResult, Outcome
    from mtls_doctor.semantics.trace import Step

    ref = ResourceRef("Deployment", "ns", "web", "default", None)
    steps = (Step("endpoint", "10.0.0.1: tlsMode istio", (ref,)), Step("server mode", "STRICT"))
    lead = EndpointResult("10.0.0.1", "ns/web", "default", "mtls", None, ref, steps)
    copy = lead.at("10.0.0.2")
    own = EndpointResult(
        "10.0.0.2", "ns/web", "default", "mtls", None, ref,
        (Step("endpoint", "10.0.0.2: tlsMode istio", (ref,)), steps[1]),
    )  # fmt: skip
    assert copy == own and hash(copy) == hash(own)
    assert copy.steps[0].decision == "10.0.0.2: tlsMode istio"
    assert copy.at("10.0.0.3").steps[0].decision == "10.0.0.3: tlsMode istio"
    assert lead != copy and lead.steps == steps
    o = Outcome("mtls", None, (lead, copy), steps, None, None)
    assert o == Outcome("mtls", None, (lead, own), steps, None, None)
    assert o != o.with_text(steps[:1], None)
    for record in (steps[0], lead, o):  # slotted (compiled or not), not msgspec structs
        assert not isinstance(record, Record) and not hasattr(record, "__dict__"), record


@pytest.mark.parametrize("path", COMPILED, ids=_module_name)
def test_plain_records_of_the_compiled_core_are_final(path: Path) -> None:
    """The hot records that are plain public classes (`__slots__`, read directly when
    compiled) stay immutable the way mypy sees it: `__init__` declares every field `Final`, so
    `mypy --strict` refuses any later assignment, and no other method assigns to `self`.
    (Private helpers with slots, such as a mutable accumulator, are not records.)"""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        if cls.name.startswith("_"):
            continue
        slots = next(
            (
                s
                for s in cls.body
                if isinstance(s, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__slots__" for t in s.targets)
            ),
            None,
        )
        if slots is None:
            continue
        names = set(ast.literal_eval(slots.value))
        init = next(f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == "__init__")
        final: set[str] = set()
        for node in ast.walk(init):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Attribute):
                assert ast.unparse(node.annotation) == "Final", f"{cls.name}.{node.target.attr}"
                final.add(node.target.attr)
            elif isinstance(node, ast.Assign):
                attrs = [t for t in node.targets if isinstance(t, ast.Attribute)]
                assert not attrs, f"{cls.name}: {ast.unparse(node)} is not declared Final"
        assert final == names, f"{cls.name}: __slots__ {sorted(names)} vs Final {sorted(final)}"
        for method in (f for f in cls.body if isinstance(f, ast.FunctionDef) and f is not init):
            for node in ast.walk(method):
                targets = (
                    node.targets if isinstance(node, ast.Assign)
                    else [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign))
                    else []
                )  # fmt: skip
                for t in targets:
                    assert not (
                        isinstance(t, ast.Attribute)
                        and isinstance(t.value, ast.Name)
                        and t.value.id == "self"
                    ), f"{cls.name}.{method.name} assigns {ast.unparse(t)}"


@pytest.mark.skipif(PURE, reason="MTLS_DOCTOR_PURE is set: this installation is plain Python")
def test_the_installed_core_is_the_compiled_one() -> None:
    assert core_compiled(), (
        "the core runs as Python: rebuild it (./dev setup), or set MTLS_DOCTOR_PURE=1"
    )
    out = subprocess.run(
        [sys.executable, "-m", "mtls_doctor", "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "compiled core (mypyc)" in out
