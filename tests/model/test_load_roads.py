"""Big JSON dumps are mapped, not read, and decoded in one pass: every road gives the same
objects, origins, workloads and problems as the careful object-by-object one."""

from __future__ import annotations

import importlib.util
import json
import mmap
import os
from pathlib import Path
from typing import Any

import pytest

from mtls_doctor.model import load
from mtls_doctor.sources import item_lines
from mtls_doctor.sources.documents import json_item_lines
from mtls_doctor.sources.item_lines import ItemLines
from mtls_doctor.sources.paths import InputFile
from tests.model.snapshots import snapshot

ROOT = Path(__file__).resolve().parent.parent.parent


def _generate(pods: int, path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench", ROOT / "scripts" / "bench.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.generate(pods, path)


def _reference_lines(text: str, indent: int) -> list[int]:
    """The careful answer, line by line: where a line is `{` alone at the items' indentation."""
    return [
        n for n, line in enumerate(text.splitlines(), 1) if line.rstrip("\r") == " " * indent + "{"
    ]


def _mapped_lines(path: Path, count: int) -> list[int] | None:
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        return json_item_lines(mm, count)


ITEMS: list[dict[str, Any]] = [
    {"kind": "Namespace", "metadata": {"name": "a"}},
    {"kind": "Pod", "metadata": {"name": "p", "labels": {"x": "y"}}, "spec": {"containers": [{}]}},
    {"kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}, {}]}},
]


@pytest.mark.parametrize(("indent", "newline"), [(4, "\n"), (2, "\n"), (4, "\r\n"), (3, "\r\n")])
def test_item_lines_bytes_and_mapping_agree_with_a_line_scan(
    tmp_path: Path, indent: int, newline: str
) -> None:
    text = json.dumps({"apiVersion": "v1", "items": ITEMS, "kind": "List"}, indent=indent)
    text = "\n\n" + text.replace("\n", newline) + newline
    path = tmp_path / "list.json"
    path.write_bytes(text.encode())
    want = _reference_lines(text, 2 * indent)
    assert len(want) == len(ITEMS)
    assert json_item_lines(text.encode(), len(ITEMS)) == want
    assert _mapped_lines(path, len(ITEMS)) == want
    assert json_item_lines(text.encode(), len(ITEMS) + 1) is None  # a count that does not fit


def test_item_lines_of_other_layouts_are_unknown(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text(json.dumps({"items": ITEMS}))  # one line: no layout to find items by
    assert json_item_lines(path.read_bytes(), len(ITEMS)) is None
    assert _mapped_lines(path, len(ITEMS)) is None


def _three_roads(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[tuple[object, ...], tuple[object, ...], tuple[object, ...]]:
    mapped = snapshot(load.load_mesh([str(path)]))
    shown = InputFile("default", str(path), str(path))
    in_memory = snapshot(load.load_mesh([], extra=[(shown, path.read_bytes())]))
    with monkeypatch.context() as m:
        m.setattr(load, "FAST_PATH_MIN_BYTES", 1 << 40)
        careful = snapshot(load.load_mesh([str(path)]))
    return mapped, in_memory, careful


def test_mapped_in_memory_and_careful_roads_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "mesh.json"
    _generate(300, path)
    assert path.stat().st_size >= load.FAST_PATH_MIN_BYTES
    decoded: list[int] = []
    real = load.fast_decode

    def spy(*args: Any) -> Any:
        got = real(*args)
        decoded.append(-1 if got is None else len(got.objects))
        return got

    monkeypatch.setattr(load, "fast_decode", spy)
    mapped, in_memory, careful = _three_roads(path, monkeypatch)
    assert decoded[0] > 500 and decoded == decoded[:1] * 2  # both fast roads were taken
    assert mapped == in_memory == careful
    objects, workloads, problems, _ = mapped
    assert not problems and len(workloads) > 10
    assert all(":" in origin for _, _, origin, _ in objects)  # every item has its line


def test_a_big_dump_the_fast_road_refuses_is_read_carefully(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "mesh.json"
    _generate(300, path)
    doc = json.loads(path.read_text())
    doc["items"][5:5] = [
        {"apiVersion": "v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "x"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "x"},
         "spec": {"ports": [{"port": "eighty"}]}},
    ]  # fmt: skip
    path.write_text(json.dumps(doc, indent=4))
    mapped, in_memory, careful = _three_roads(path, monkeypatch)
    assert mapped == in_memory == careful
    problems = mapped[2]
    assert isinstance(problems, list)
    assert {
        (origin, message.split()[0] + " " + message.split()[1]) for origin, message, _ in problems
    } == {
        (f"{path}:{_reference_lines(path.read_text(), 8)[5]}", "kind Widget"),
        (f"{path}:{_reference_lines(path.read_text(), 8)[6]}", "Service x/s:"),
    }


def _kubectl_list(tmp_path: Path) -> bytes:
    text = json.dumps({"apiVersion": "v1", "items": ITEMS * 50, "kind": "List"}, indent=4)
    return text.encode()


def test_a_forked_child_finds_the_same_item_lines(tmp_path: Path) -> None:
    raw = _kubectl_list(tmp_path)
    want = json_item_lines(raw, len(ITEMS) * 50)
    assert want is not None
    with ItemLines(raw) as lines:
        assert lines.get(len(ITEMS) * 50) == want
    with ItemLines(raw) as lines:
        assert lines.get(len(ITEMS) * 50 - 1) is None


def test_without_fork_or_with_a_failing_child_the_lines_are_found_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = _kubectl_list(tmp_path)
    want = json_item_lines(raw, len(ITEMS) * 50)
    parent = os.getpid()
    real = item_lines.json_list_lines

    def fails_in_child(buf: Any) -> Any:
        if os.getpid() != parent:
            raise RuntimeError("child")
        return real(buf)

    with monkeypatch.context() as m:
        m.setattr(item_lines, "json_list_lines", fails_in_child)
        with ItemLines(raw) as lines:
            assert lines.get(len(ITEMS) * 50) == want
    with monkeypatch.context() as m:
        m.delattr(os, "fork")
        with ItemLines(raw) as lines:
            assert lines.get(len(ITEMS) * 50) == want


def test_an_unwanted_child_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pids: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        pids.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    with ItemLines(_kubectl_list(tmp_path)):
        pass  # the fast road refused the file: nobody asks for the lines
    assert len(pids) == 1 and pids[0] > 0
    with pytest.raises(ChildProcessError):
        os.waitpid(pids[0], os.WNOHANG)  # gone and reaped
