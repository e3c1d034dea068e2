"""Turn command-line PATH arguments into (cluster, file) pairs.

An argument is a file, a directory (read recursively, sorted), `-` for stdin, or
`NAME=PATH` to put what it holds into cluster NAME (default cluster: `default`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from mtls_doctor.model.refs import Origin
from mtls_doctor.record import Record
from mtls_doctor.sources.problems import InputProblem

DEFAULT_CLUSTER = "default"
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_CLUSTER_ARG = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*)=(?P<path>.+)$")


class InputFile(Record):
    cluster: str
    path: str  # a filesystem path, or "-" for stdin
    display: str  # how messages name it


def split_cluster(arg: str) -> tuple[str, str]:
    """`NAME=PATH` -> (NAME, PATH); a plain PATH -> (default, PATH).

    A path that exists as written wins over the NAME=PATH reading.
    """
    m = _CLUSTER_ARG.match(arg)
    if m and not Path(arg).exists():
        return m.group("name"), m.group("path")
    return DEFAULT_CLUSTER, arg


def expand(
    args: Iterable[str], suffixes: tuple[str, ...] = MANIFEST_SUFFIXES
) -> tuple[list[InputFile], list[InputProblem]]:
    """Every file the arguments name, in order; directories give files with `suffixes`."""
    files: list[InputFile] = []
    problems: list[InputProblem] = []
    for arg in args:
        cluster, raw = split_cluster(arg)
        if raw == "-":
            files.append(InputFile(cluster, "-", "<stdin>"))
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(_walk(path, suffixes))
            if not found:
                problems.append(
                    InputProblem(
                        Origin(raw), f"no {'/'.join(suffixes)} files in this directory", "warning"
                    )
                )
            files.extend(InputFile(cluster, str(p), str(p)) for p in found)
        elif path.is_file():
            files.append(InputFile(cluster, str(path), str(path)))
        else:
            problems.append(InputProblem(Origin(raw), "no such file or directory"))
    return files, problems


def _walk(root: Path, suffixes: tuple[str, ...]) -> Iterator[Path]:
    for p in root.rglob("*"):
        if p.is_file() and p.name.lower().endswith(suffixes) and not p.name.startswith("."):
            yield p
