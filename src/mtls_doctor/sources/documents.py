"""Read YAML and JSON files into raw Kubernetes objects, each with its file and line.

Multi-document YAML is split at `---` lines; `kind: List` documents (kubectl output) are split
into items, each parsed on its own so a 700 MB dump never becomes one giant node graph and a
broken item costs only itself. YAML is read with PyYAML's C loader (YAML 1.1, like kubectl).
"""

from __future__ import annotations

import mmap
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeAlias

import msgspec
import yaml

from mtls_doctor.model.refs import Origin
from mtls_doctor.record import Record
from mtls_doctor.sources.paths import InputFile
from mtls_doctor.sources.problems import InputProblem

try:
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment,unused-ignore]
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Loader = yaml.SafeLoader


class RawObject(Record):
    """One Kubernetes-shaped object as read: a plain mapping plus where it came from."""

    cluster: str
    origin: Origin
    data: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.data.get("kind") or "")

    @property
    def api_version(self) -> str:
        return str(self.data.get("apiVersion") or "")

    @property
    def metadata(self) -> dict[str, Any]:
        m = self.data.get("metadata")
        return m if isinstance(m, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or "")

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace") or "")


class ReadResult(msgspec.Struct):
    objects: list[RawObject]
    problems: list[InputProblem]
    envoy_dump: bool = False  # an Envoy/istioctl config dump, for the side readers


_DOC_SEPARATOR = re.compile(r"^(---|\.\.\.)(\s.*)?$")
_LIST_KIND = re.compile(r"^kind:\s*['\"]?List['\"]?\s*$", re.MULTILINE)
_ITEMS_KEY = re.compile(r"^items:\s*$", re.MULTILINE)
_JSON_BYTE = re.compile(r"\(byte (\d+)\)")


def read_bytes(f: InputFile) -> bytes:
    if f.path == "-":
        return sys.stdin.buffer.read()
    return Path(f.path).read_bytes()


def read_file(f: InputFile, data: bytes | None = None) -> ReadResult:
    """All objects in one file. Never raises for bad content: problems say what was skipped."""
    problems: list[InputProblem] = []
    try:
        raw = read_bytes(f) if data is None else data
    except OSError as exc:
        return ReadResult([], [InputProblem(Origin(f.display), f"cannot read: {exc.strerror}")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return ReadResult([], [InputProblem(Origin(f.display, line), "not UTF-8 text")])
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")) and not f.display.endswith((".yaml", ".yml")):
        return _read_json(f, text, raw)
    objects: list[RawObject] = []
    for start_line, doc in _split_documents(text):
        objects.extend(_read_yaml_document(f, start_line, doc, problems))
    return ReadResult(objects, problems)


def _split_documents(text: str) -> Iterator[tuple[int, str]]:
    """Yield (1-based first line, text) of each YAML document."""
    lines = text.splitlines(keepends=True)
    start = 0
    for i, line in enumerate(lines):
        if _DOC_SEPARATOR.match(line):
            if i > start:
                yield start + 1, "".join(lines[start:i])
            start = i + 1
    if start < len(lines):
        yield start + 1, "".join(lines[start:])


def _first_content_line(doc: str) -> int:
    """0-based offset of the first line that is neither blank nor a comment."""
    for i, line in enumerate(doc.splitlines()):
        body = line.strip()
        if body and not body.startswith("#"):
            return i
    return 0


def _yaml_problem(f: InputFile, base_line: int, exc: yaml.YAMLError) -> InputProblem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = base_line + mark.line if mark is not None else base_line
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    msg = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    return InputProblem(Origin(f.display, line), msg)


def _read_yaml_document(
    f: InputFile, start_line: int, doc: str, problems: list[InputProblem]
) -> Iterator[RawObject]:
    if not doc.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in doc.splitlines()
    ):
        return
    if _LIST_KIND.search(doc):
        chunks = _split_list_items(doc)
        if chunks is not None:
            for offset, chunk in chunks:
                yield from _load_yaml_item(f, start_line + offset, chunk, problems)
            return
    try:
        data = yaml.load(doc, Loader=_Loader)
    except yaml.YAMLError as exc:
        problems.append(_yaml_problem(f, start_line, exc))
        return
    skip = _first_content_line(doc)
    yield from _objects_from_data(f, start_line + skip, data, problems, doc)


def _load_yaml_item(
    f: InputFile, line: int, chunk: str, problems: list[InputProblem]
) -> Iterator[RawObject]:
    try:
        data = yaml.load(chunk, Loader=_Loader)
    except yaml.YAMLError as exc:
        problems.append(_yaml_problem(f, line, exc))
        return
    yield from _objects_from_data(f, line, data, problems, None)


def _split_list_items(doc: str) -> list[tuple[int, str]] | None:
    """Split a block-style `kind: List` document into its items: (line offset, dedented text).

    Returns None when the layout is not the plain block form kubectl writes.
    """
    m = _ITEMS_KEY.search(doc)
    if m is None:
        return None
    lines = doc.splitlines(keepends=True)
    first = doc.count("\n", 0, m.start()) + 1
    indent: int | None = None
    starts: list[int] = []
    end = len(lines)
    for i in range(first, len(lines)):
        line = lines[i]
        body = line.lstrip(" ")
        if not body.strip() or body.startswith("#"):
            continue
        col = len(line) - len(body)
        if indent is None:
            if not body.startswith("- ") and body.rstrip() != "-":
                return None
            indent = col
        if col == indent and (body.startswith("- ") or body.rstrip() == "-"):
            starts.append(i)
        elif col <= indent and not body.startswith("- "):
            if col == 0:
                end = i
                break
            if col < indent:
                return None
    if indent is None:
        return []
    chunks: list[tuple[int, str]] = []
    cut = indent + 2
    for n, s in enumerate(starts):
        stop = starts[n + 1] if n + 1 < len(starts) else end
        first_line = lines[s]
        out = [first_line[:indent] + "  " + first_line[indent + 2 :]]
        out.extend(lines[s + 1 : stop])
        chunks.append((s, "".join(_dedent(ln, cut) for ln in out)))
    return chunks


def _dedent(line: str, cut: int) -> str:
    if not line.strip():
        return line.lstrip(" \t")  # a blank line keeps its newline (block scalars need it)
    return line[cut:] if line[:cut].isspace() else line.lstrip()


def _objects_from_data(
    f: InputFile,
    line: int,
    data: object,
    problems: list[InputProblem],
    doc: str | None,
) -> Iterator[RawObject]:
    origin = Origin(f.display, line)
    if data is None:
        return
    if not isinstance(data, dict):
        problems.append(
            InputProblem(origin, f"expected a Kubernetes object, found a {type(data).__name__}")
        )
        return
    kind = data.get("kind")
    if kind == "List" or (kind is None and isinstance(data.get("items"), list)):
        items = data.get("items")
        if not isinstance(items, list):
            problems.append(InputProblem(origin, "a List without an `items` list"))
            return
        lines = _item_lines(doc, len(items)) if doc is not None else None
        base = line - _first_content_line(doc) if doc is not None else line
        for i, item in enumerate(items):
            item_line = base + lines[i] if lines else line
            yield from _objects_from_data(f, item_line, item, problems, None)
        return
    if not isinstance(kind, str) or not kind:
        problems.append(InputProblem(origin, "object without `kind`; skipped"))
        return
    yield RawObject(f.cluster, origin, data)


def _item_lines(doc: str, count: int) -> list[int] | None:
    """Line offsets of the items of a (flow-style or odd) List document, when findable."""
    m = _ITEMS_KEY.search(doc)
    if m is None:
        return None
    after = doc.count("\n", 0, m.start()) + 1
    lines = doc.splitlines()
    found = [i for i in range(after, len(lines)) if lines[i].lstrip().startswith("- ")]
    indent = {len(lines[i]) - len(lines[i].lstrip()) for i in found[:1]}
    found = [i for i in found if len(lines[i]) - len(lines[i].lstrip()) in indent]
    return found if len(found) == count else None


def _json_line(raw: bytes, byte_offset: int) -> int:
    return raw[:byte_offset].count(b"\n") + 1


_JSON_FIRST_ITEM = re.compile(rb'"items"\s*:\s*\[\s*?\n( +)\{')

# What the JSON readers take: file bytes, or a read-only mapping of a big file (no copy).
Buffer: TypeAlias = bytes | mmap.mmap


def json_item_lines(raw: Buffer, count: int) -> list[int] | None:
    """1-based lines where the `count` items of a pretty-printed JSON List start, or None."""
    lines = json_list_lines(raw)
    return lines if lines is not None and len(lines) == count else None


def json_list_lines(raw: Buffer) -> list[int] | None:
    """1-based lines where the items of a pretty-printed JSON List start (kubectl's layout:
    every item opens with `{` alone on a line at one indentation). None for other layouts."""
    m = _JSON_FIRST_ITEM.search(raw)
    if m is None:
        return None
    indent = m.group(1)
    start = m.end() - 1  # the first item's "{"
    pattern = re.compile(b"\n" + indent + b"\\{\r?\n")
    positions = [start] + [x.start() + 1 for x in pattern.finditer(raw, start)]
    lines: list[int] = []
    line = 1
    last = 0
    for pos in positions:
        line += _newlines(raw, last, pos)
        last = pos
        lines.append(line)
    return lines


def _newlines(raw: Buffer, start: int, end: int) -> int:
    if isinstance(raw, bytes):
        return raw.count(b"\n", start, end)
    return raw[start:end].count(b"\n")  # a mapping has no count(): one item's copy at a time


def _read_json(f: InputFile, text: str, raw: bytes) -> ReadResult:
    problems: list[InputProblem] = []
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        m = _JSON_BYTE.search(str(exc))
        line = _json_line(raw, int(m.group(1))) if m else None
        return ReadResult([], [InputProblem(Origin(f.display, line), f"invalid JSON: {exc}")])
    objects: list[RawObject] = []
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        items = data["items"]
        lines = json_item_lines(raw, len(items))
        for i, item in enumerate(items):
            line = lines[i] if lines else None
            origin_line = line if line is not None else 1
            objects.extend(
                _objects_from_data(f, origin_line, item, problems, None)
                if lines
                else _with_index(f, i, item, problems)
            )
        return ReadResult(objects, problems)
    if is_envoy_dump(data):
        return ReadResult([], [], envoy_dump=True)
    objects.extend(_objects_from_data(f, 1, data, problems, None))
    return ReadResult(objects, problems)


def is_envoy_dump(data: object) -> bool:
    """An Envoy `/config_dump` or `istioctl proxy-config ... -o json` document."""
    if not isinstance(data, dict) or "kind" in data:
        return False
    return "configs" in data or "dynamicActiveSecrets" in data or "dynamic_active_secrets" in data


def _with_index(
    f: InputFile, index: int, item: object, problems: list[InputProblem]
) -> Iterator[RawObject]:
    """Objects of a JSON List whose item lines could not be located: named by item index."""
    shadow = InputFile(f.cluster, f.path, f"{f.display}#items[{index}]")
    for obj in _objects_from_data(shadow, 1, item, problems, None):
        yield RawObject(obj.cluster, Origin(shadow.display), obj.data)
