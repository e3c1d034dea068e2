"""A big dump that also holds kinds mtls-doctor does not read (Endpoints, Events, routes,
custom resources) still takes the fast road, and gives what the careful road gives: the same
objects, origins and problems, down to the warning that counts each unknown kind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mtls_doctor.model import load, objects
from mtls_doctor.model.refs import Origin
from tests.generated import generate_mesh
from tests.model.snapshots import snapshot


def _meta(name: str, ns: str = "team-0001") -> dict[str, Any]:
    return {"name": name, "namespace": ns} if name else {"namespace": ns}


ENDPOINTS = {
    "apiVersion": "v1",
    "kind": "Endpoints",
    "metadata": _meta("svc-01"),
    "subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 8080}]}],
}
EVENT = {
    "apiVersion": "v1",
    "kind": "Event",
    "metadata": _meta("svc-01-abc.1789"),
    "involvedObject": {"kind": "Pod", "name": "svc-01-abc"},
    "reason": "Started",
    "count": 3,
}
VIRTUAL_SERVICE = {
    "apiVersion": "networking.istio.io/v1",
    "kind": "VirtualService",
    "metadata": _meta("svc-01"),
    "spec": {"hosts": ["svc-01"], "http": [{"route": [{"destination": {"host": "svc-01"}}]}]},
}


def _widget(name: str) -> dict[str, Any]:
    """A custom resource of a made-up kind: read by nobody, ignored by nobody."""
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": _meta(name),
        "spec": {"ports": "not a list", "labels": {"n": 1}},
    }


def _dump(tmp_path: Path, extra: list[tuple[int, dict[str, Any]]]) -> tuple[Path, int]:
    """The bench's mesh of 300 pods with each of `extra` put in at its index (in the final
    list), written in kubectl's layout; and how many objects of the kinds read it holds."""
    path = tmp_path / "mesh.json"
    shape = generate_mesh(300, path)
    doc = json.loads(path.read_text())
    for index, item in sorted(extra, key=lambda x: x[0]):
        doc["items"].insert(index, item)
    path.write_text(json.dumps(doc, indent=4) + "\n")
    assert path.stat().st_size >= load.FAST_PATH_MIN_BYTES
    return path, shape["objects"]


def _item_lines(path: Path) -> list[int]:
    """Where each item starts, found the slow way: `{` alone at the items' indentation."""
    lines = path.read_text().splitlines()
    return [n for n, line in enumerate(lines, 1) if line == " " * 8 + "{"]


class _Roads:
    """Loads a file by the fast road and by the careful one, noting what the fast road did."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.fast: list[int | None] = []  # objects the fast road read, None where it refused
        self.item_by_item = 0  # how often the one-pass decode refused and items were decoded
        real_fast, real_each = load.fast_decode, objects._decode_each

        def fast_spy(*args: Any) -> objects.FastRead | None:
            got = real_fast(*args)
            self.fast.append(None if got is None else len(got.objects))
            return got

        def each_spy(raw: Any) -> list[Any] | None:
            self.item_by_item += 1
            return real_each(raw)

        monkeypatch.setattr(load, "fast_decode", fast_spy)
        monkeypatch.setattr(objects, "_decode_each", each_spy)

    def load(self, path: Path) -> tuple[tuple[object, ...], tuple[object, ...]]:
        fast = snapshot(load.load_mesh([str(path)]))
        with self.monkeypatch.context() as m:
            m.setattr(load, "FAST_PATH_MIN_BYTES", 1 << 40)
            careful = snapshot(load.load_mesh([str(path)]))
        return fast, careful


def test_ignored_kinds_are_skipped_in_the_one_pass_decode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, read = _dump(tmp_path, [(3, ENDPOINTS), (40, EVENT), (41, EVENT), (200, VIRTUAL_SERVICE)])
    roads = _Roads(monkeypatch)
    fast, careful = roads.load(path)
    assert fast == careful
    assert roads.fast == [read] and roads.item_by_item == 0
    assert fast[2] == []  # ignored kinds are read silently


def test_unknown_kinds_are_counted_item_by_item(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = [(3, ENDPOINTS), (7, _widget("a")), (40, EVENT), (200, VIRTUAL_SERVICE)]
    extra += [(250, _widget("")), (300, {**_widget("c"), "kind": "Gadget"})]
    path, read = _dump(tmp_path, extra)
    roads = _Roads(monkeypatch)
    fast, careful = roads.load(path)
    assert fast == careful
    assert roads.fast == [read] and roads.item_by_item == 1
    lines = _item_lines(path)
    assert fast[2] == [
        (f"{path}:{lines[300]}", "kind Gadget is not one mtls-doctor reads (1 object); ignored",
         "warning"),
        (f"{path}:{lines[7]}", "kind Widget is not one mtls-doctor reads (2 objects); ignored",
         "warning"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            {"apiVersion": "v1", "kind": "Service", "metadata": _meta("s"),
             "spec": {"ports": [{"port": "eighty"}]}},
            "Service team-0001/s: Expected `int`, got `str` at the object.spec.ports[0].port; "
            "object skipped",
        ),
        ({"apiVersion": "v1", "metadata": _meta("k")}, "object without `kind`; skipped"),
        ({"kind": 5, "metadata": _meta("k")}, "object without `kind`; skipped"),
        ({"apiVersion": "v1", "kind": "Pod", "metadata": _meta("")},
         "Pod without metadata.name; skipped"),
    ],
)  # fmt: skip
def test_a_bad_object_among_unknown_kinds_sends_the_file_the_careful_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: dict[str, Any], message: str
) -> None:
    path, _ = _dump(tmp_path, [(3, ENDPOINTS), (7, _widget("a")), (100, bad), (200, EVENT)])
    roads = _Roads(monkeypatch)
    fast, careful = roads.load(path)
    assert roads.fast == [None] and roads.item_by_item == 1
    assert fast == careful
    lines = _item_lines(path)
    assert fast[2] == [
        (f"{path}:{lines[100]}", message, "error"),
        (f"{path}:{lines[7]}", "kind Widget is not one mtls-doctor reads (1 object); ignored",
         "warning"),
    ]  # fmt: skip


def test_without_item_lines_unknown_kinds_are_named_by_index(tmp_path: Path) -> None:
    path = tmp_path / "mesh.json"
    generate_mesh(300, path)
    doc = json.loads(path.read_text())
    doc["items"][5:5] = [_widget("a"), ENDPOINTS, _widget("b")]
    raw = json.dumps(doc).encode()  # one line: no layout to find items by
    got = objects.fast_decode("default", "dump.json", raw)
    assert got is not None
    assert got.unknown == {"Widget": (2, Origin("dump.json#items[5]"))}
    assert len(got.objects) == len(doc["items"]) - 3
