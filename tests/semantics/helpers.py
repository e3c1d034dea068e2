"""Build typed objects from YAML text, as the loader would."""

from __future__ import annotations

from typing import Any

import yaml

from mtls_doctor.model.objects import Loaded, convert
from mtls_doctor.model.refs import Origin
from mtls_doctor.sources.documents import RawObject
from mtls_doctor.sources.problems import InputProblem


def objs(text: str, cluster: str = "default") -> list[Loaded[Any]]:
    out: list[Loaded[Any]] = []
    problems: list[InputProblem] = []
    for i, doc in enumerate(yaml.safe_load_all(text)):
        if doc is None:
            continue
        got = convert(RawObject(cluster, Origin("test.yaml", i + 1), doc), problems)
        assert got is not None, problems
        out.append(got)
    assert not problems, problems
    return out


def pa(name: str, ns: str, spec: str, created: str | None = None) -> str:
    ts = f"\n  creationTimestamp: '{created}'" if created else ""
    return f"""
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: {name}
  namespace: {ns}{ts}
spec: {spec}
---"""
