"""Read a predictions fixture (tests/fixtures/configdump/compare/*.yaml) and run the comparison."""

from __future__ import annotations

from pathlib import Path

import msgspec
import yaml

from mtls_doctor.checks.finding import Finding
from mtls_doctor.envoy.compare import PredictedCluster, PredictedInbound, compare
from mtls_doctor.envoy.configdump import read_dump


class Predictions(msgspec.Struct, frozen=True):
    dump: str
    clusters: tuple[PredictedCluster, ...] = ()
    inbound: tuple[PredictedInbound, ...] = ()


def load(path: Path) -> Predictions:
    return msgspec.convert(yaml.safe_load(path.read_text()), Predictions)


def run(path: Path) -> tuple[Finding, ...]:
    p = load(path)
    dump = (path.parent / p.dump).resolve()
    config = read_dump(dump.read_bytes(), dump.name)
    return compare(config, p.clusters, p.inbound)
