"""`mtls-doctor lab PATH... --from --to` and `--all`: the edge engine's cases through real Envoy."""

from __future__ import annotations

import json

import pytest

from tests.cli.run import STAGES, mtls_doctor

pytestmark = [pytest.mark.lab]


def test_lab_replays_the_blog_stage3_edge(envoy: str) -> None:
    r = mtls_doctor(
        "lab", *STAGES[3], "--from", "curl/client", "--to", "global-echo:80", "-o", "json"
    )
    assert r.returncode == 0, r.stderr
    (replay,) = json.loads(r.stdout)["replays"]
    assert replay["agree"] is True
    assert replay["observed"]["verdict"] == "fail"
    assert replay["observed"]["cause"] == "san-mismatch"
    assert "SAN_matcher" in replay["observed"]["details"]


def test_lab_all_replays_every_edge_class(envoy: str) -> None:
    r = mtls_doctor("lab", *STAGES[2], "--all", "-o", "json")
    assert r.returncode == 0, r.stderr
    replays = json.loads(r.stdout)["replays"]
    seen = {(x["predicted"]["verdict"], x["predicted"]["cause"]) for x in replays}
    assert seen == {("fail", "plaintext-rejected"), ("mtls", None)}
    assert all(x["agree"] for x in replays)


def test_lab_needs_an_edge() -> None:
    r = mtls_doctor("lab", *STAGES[1])
    assert r.returncode == 2 and "Traceback" not in r.stderr
