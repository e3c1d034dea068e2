"""How `load_mesh` files objects: by cluster, kind, namespace and name, later inputs replacing
earlier ones in their place, objects without a namespace in `default`."""

from __future__ import annotations

from pathlib import Path

from mtls_doctor.model.load import load_mesh


def _svc(name: str, namespace: str | None, port: int) -> str:
    ns = f"\n  namespace: {namespace}" if namespace else ""
    return (
        f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}{ns}\n"
        f"spec:\n  selector: {{app: {name}}}\n  ports:\n  - {{name: http, port: {port}}}\n"
    )


def test_later_inputs_replace_earlier_objects_in_their_place(tmp_path: Path) -> None:
    first = tmp_path / "1.yaml"
    first.write_text(
        "---\n".join(
            [
                _svc("a", "shop", 80),
                _svc("b", None, 81),  # no namespace: `default`
                _svc("c", "shop", 82),
                "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
            ]
        )
    )
    second = tmp_path / "2.yaml"
    second.write_text(
        "---\n".join(
            [
                _svc("a", "shop", 8080),  # replaces shop/a, which keeps its place
                _svc("b", "default", 8181),  # the same object as the namespace-less b
                _svc("a", "other", 9090),  # another namespace: another object
            ]
        )
    )
    loaded = load_mesh([str(first), str(second)])
    assert not loaded.problems
    c = loaded.mesh.clusters["default"]
    got = [(s.namespace, s.name, s.obj.spec.ports[0].port) for s in c.services]
    assert got == [
        ("shop", "a", 8080),
        ("default", "b", 8181),
        ("shop", "c", 82),
        ("other", "a", 9090),
    ]
    assert [s.origin.file for s in c.services] == [
        str(second),
        str(second),
        str(first),
        str(second),
    ]
    assert list(c.namespaces) == ["shop"] and c.namespaces["shop"].namespace == ""
    assert loaded.objects == 5


def test_an_object_without_namespace_is_read_in_default(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("---\n".join([_svc("b", None, 81), _svc("c", "shop", 82)]))
    loaded = load_mesh([str(path)])
    c = loaded.mesh.clusters["default"]
    by_name = {s.name: s for s in c.services}
    assert by_name["b"].namespace == "default"
    assert by_name["b"].obj.metadata.namespace == "default"  # the object itself says so
    assert by_name["c"].namespace == "shop"
    assert [s.name for s in c.services_by_ns["default"]] == ["b"]


def test_clusters_are_kept_apart(tmp_path: Path) -> None:
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    one.write_text(_svc("a", "shop", 80))
    two.write_text(_svc("a", "shop", 8080))
    loaded = load_mesh([f"east={one}", f"west={two}"])
    ports = {
        name: [s.obj.spec.ports[0].port for s in c.services]
        for name, c in loaded.mesh.clusters.items()
    }
    assert ports == {"east": [80], "west": [8080]}
    assert loaded.objects == 2
