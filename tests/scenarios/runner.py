"""Run a scenario folder (the format of shared/scenarios/README.md) through the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mtls_doctor.analysis import Analysis, analyze
from mtls_doctor.checks.finding import LEVEL_RANK
from mtls_doctor.edges.records import Edge
from mtls_doctor.model.load import load_mesh


@dataclass(frozen=True)
class Case:
    folder: Path
    name: str
    spec: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.folder.name}:{self.name}"


def cases_in(root: Path) -> list[Case]:
    out: list[Case] = []
    for expected in sorted(root.glob("*/expected.yaml")):
        doc = yaml.safe_load(expected.read_text())
        for case in doc.get("cases", []):
            out.append(Case(expected.parent, case["name"], case))
    return out


def _arg(folder: Path, item: str) -> str:
    name, sep, path = item.partition("=")
    if sep and not (folder / item).exists():
        return f"{name}={folder / path}"
    return str(folder / item)


def run_case(case: Case) -> Analysis:
    args = [_arg(case.folder, i) for i in case.spec["inputs"]]
    return analyze(load_mesh(args))


def find_edge(a: Analysis, frm: str, to: str) -> list[Edge]:
    listed = [e for r in a.results for e in r.edges(a.engine) if e.from_ == frm and e.to == to]
    listed += [e for e in a.pseudo if e.from_ == frm and e.to == to]
    if listed:
        return listed
    engine = a.engine
    out = []
    for cluster in a.load.mesh.clusters:
        clients = [c for c in engine.clients(cluster) if c.name == frm]
        if frm.startswith("external/"):
            from mtls_doctor.edges.clients import apiserver, kubelet

            idx = a.load.mesh.clusters[cluster]
            clients = [apiserver(idx) if frm.endswith("apiserver") else kubelet(idx)]
        for c in clients:
            target = engine.resolve(c, to)
            if not isinstance(target, str):
                out.append(engine.target_edge(c, target))
    return out


def check_case(case: Case) -> list[str]:
    """The differences between what the case expects and what the pipeline says."""
    a = run_case(case)
    problems: list[str] = [f"input problem: {p}" for p in a.load.problems if p.level == "error"]
    for exp in case.spec.get("edges", []) or []:
        edges = find_edge(a, exp["from"], exp["to"])
        label = f"{exp['from']} -> {exp['to']}"
        if not edges:
            problems.append(f"{label}: no such edge")
            continue
        for e in edges:
            o = e.outcome
            if o.verdict != exp["verdict"]:
                problems.append(
                    f"{label}: verdict {o.verdict} ({o.cause}), expected {exp['verdict']}"
                )
            if "cause" in exp and o.cause != exp["cause"]:
                problems.append(f"{label}: cause {o.cause}, expected {exp['cause']}")
            for want in exp.get("endpoints", []) or []:
                match = [
                    ep for ep in o.endpoints
                    if all(getattr(ep, k) == v for k, v in want.items())
                ]  # fmt: skip
                if not match:
                    got = [
                        (ep.address, ep.workload, ep.cluster, ep.verdict, ep.cause)
                        for ep in o.endpoints
                    ]
                    problems.append(f"{label}: no endpoint matches {want}; got {got}")
    for want in case.spec.get("findings", []) or []:
        kind, ns, name = want["subject"].split("/", 2)
        level = LEVEL_RANK[want["level"]]
        hits = [
            f for f in a.findings
            if (f.subject.kind, f.subject.namespace, f.subject.name) == (kind, ns, name)
            and LEVEL_RANK[f.level] >= level
            and f.code == want.get("code", f.code)
        ]  # fmt: skip
        if not hits:
            got = sorted({f"{f.code} {f.level} {f.subject}" for f in a.findings})
            what = f"{want['level']} {want.get('code', 'finding')}"
            problems.append(f"no {what} on {want['subject']}; got {got}")
    for unwanted in case.spec.get("not_findings", []) or []:
        bad = [
            f for f in a.findings
            if f.code == unwanted["code"] and str(f.subject) == unwanted["subject"]
        ]  # fmt: skip
        problems += [f"unexpected {f.code} on {f.subject}: {f.message}" for f in bad]
    clean = case.spec.get("clean")
    if clean is not None:
        bad = [f for f in a.findings if LEVEL_RANK[f.level] >= LEVEL_RANK[clean]]
        problems += [f"not clean at {clean}: {f.code} {f.subject}: {f.message}" for f in bad]
    return problems
