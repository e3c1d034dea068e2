"""Bad input: a message naming file and line, the rest still analysed, exit 3, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.run import mtls_doctor

GOOD = """apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web}]}}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
"""


def _run(tmp_path: Path, bad: str, name: str = "bad.yaml") -> tuple[int, dict, str]:  # type: ignore[type-arg]
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / name).write_text(bad) if isinstance(bad, str) else None
    r = mtls_doctor("edges", str(tmp_path), "-o", "json", "--fail-on", "never")
    assert "Traceback" not in r.stderr
    return r.returncode, json.loads(r.stdout), r.stderr


def _still_analysed(doc: dict) -> None:  # type: ignore[type-arg]
    assert any(
        e["from"] == "shop/web" and e["to"] == "web.shop.svc.cluster.local:80" for e in doc["edges"]
    )


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    rc, doc, err = _run(
        tmp_path,
        "kind: Service\nmetadata: {name: x\n---\nkind: Namespace\nmetadata: {name: other}\n",
    )
    assert rc == 3
    assert any(
        p["file"].endswith("bad.yaml") and p["line"] in (2, 3) and "invalid YAML" in p["message"]
        for p in doc["problems"]
    )
    assert "bad.yaml:" in err
    _still_analysed(doc)


def test_wrong_type_names_object_and_field(tmp_path: Path) -> None:
    bad = "apiVersion: v1\nkind: Service\nmetadata: {name: x, namespace: shop}\nspec: {ports: [{port: eighty}]}\n"
    rc, doc, _ = _run(tmp_path, bad)
    assert rc == 3
    (p,) = doc["problems"]
    assert (
        p["line"] == 1 and "Service shop/x" in p["message"] and "spec.ports[0].port" in p["message"]
    )
    _still_analysed(doc)


def test_unknown_kind_is_a_warning(tmp_path: Path) -> None:
    rc, doc, _ = _run(tmp_path, "apiVersion: example.com/v1\nkind: Gizmo\nmetadata: {name: g}\n")
    assert rc == 0
    assert any(p["level"] == "warning" and "Gizmo" in p["message"] for p in doc["problems"])


def test_missing_name_and_kind(tmp_path: Path) -> None:
    rc, doc, _ = _run(tmp_path, "apiVersion: v1\nkind: Service\nspec: {}\n---\nfoo: bar\n")
    assert rc == 3
    msgs = [p["message"] for p in doc["problems"]]
    assert any("without metadata.name" in m for m in msgs)
    assert any("without `kind`" in m for m in msgs)


def test_unquoted_boolean_label_is_read_with_a_warning(tmp_path: Path) -> None:
    bad = GOOD.replace("{app: web}}, spec", "{app: web, sidecar.istio.io/inject: false}}, spec")
    (tmp_path / "good.yaml").write_text(bad)
    r = mtls_doctor("edges", str(tmp_path / "good.yaml"), "-o", "json", "--fail-on", "never")
    doc = json.loads(r.stdout)
    assert any(
        "sidecar.istio.io/inject" in p["message"] and p["level"] == "warning"
        for p in doc["problems"]
    )
    (edge,) = [e for e in doc["edges"] if e["from"] == "shop/web"]
    assert edge["cause"] == "no-client-sidecar"  # read as "false": the pod opts out


def test_malformed_json_and_binary(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"kind": "List",\n "items": [\n  {"kind": "Pod",,}\n]}')
    (tmp_path / "y.yaml").write_bytes(b"kind: Namespace\nmetadata: {name: \xff\xfe}\n")
    rc, doc, _ = _run(tmp_path, GOOD, "good.yaml")
    assert rc == 3
    files = {(Path(p["file"]).name, p["line"]) for p in doc["problems"]}
    assert ("x.json", 3) in files
    assert any(name == "y.yaml" for name, _ in files)
    _still_analysed(doc)


def test_missing_path_and_stdin(tmp_path: Path) -> None:
    r = mtls_doctor("edges", "-", str(tmp_path / "nope"), "-o", "json", stdin=GOOD)
    assert r.returncode == 3
    doc = json.loads(r.stdout)
    assert any("no such file" in p["message"] for p in doc["problems"])
    _still_analysed(doc)


def test_usage_errors_exit_2() -> None:
    r = mtls_doctor("explain", "examples")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = mtls_doctor("edges", "examples", "--select", "ZZ")
    assert r.returncode == 2
