"""The large-mesh `destinations` form reads namespaces off the client groups; it must list
exactly what going client by client lists (every exception's clients, whole namespaces as
`ns/*`), on a generated mesh whose classes are made of many namespaces."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from mtls_doctor.analysis import analyze
from mtls_doctor.edges.classes import DestinationResult
from mtls_doctor.model.load import load_mesh
from mtls_doctor.report.edges_json import destination_dict
from tests.generated import generate_mesh


def _client_by_client(r: DestinationResult, sizes: dict[str, int]) -> list[list[str]]:
    merged: dict[tuple[str, str | None], list[str]] = {}
    order: Counter[tuple[str, str | None]] = Counter()
    for cls in r.classes:
        key = (cls.outcome.verdict, cls.outcome.cause)
        merged.setdefault(key, []).extend(c.name for c in cls.clients)
        order[key] += cls.count
    out = []
    for key, _ in order.most_common()[1:]:
        names = merged[key]
        per_ns = Counter(n.split("/", 1)[0] for n in names)
        listed: list[str] = []
        for ns, n in sorted(per_ns.items()):
            if n == sizes.get(ns) and n > 1:
                listed.append(f"{ns}/*")
            else:
                listed.extend(x for x in names if x.split("/", 1)[0] == ns)
        out.append(listed)
    return out


def test_exceptions_list_what_the_clients_say(tmp_path: Path) -> None:
    dump = tmp_path / "mesh.json"
    generate_mesh(400, dump)
    a = analyze(load_mesh([str(dump)]))
    sizes = Counter(c.namespace or "" for c in a.engine.clients("default"))
    whole = 0
    for r in a.results:
        got = destination_dict(r, False, dict(sizes))
        assert [e["from"] for e in got["exceptions"]] == _client_by_client(r, dict(sizes))
        assert sum(got["counts"].values()) == r.client_count
        whole += sum(1 for e in got["exceptions"] for f in e["from"] if f.endswith("/*"))
    assert whole > 100  # whole namespaces were listed, read off the groups
