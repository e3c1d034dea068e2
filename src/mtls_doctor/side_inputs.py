"""Inputs beside the manifests: istioctl bug-report archives, proxy config dumps and logs.

Reads them (the only I/O here) into what the pipeline needs: resource files for the loader,
each proxy's parsed config with the pod it belongs to, and log events.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from mtls_doctor.envoy.bugreport import open_archive
from mtls_doctor.envoy.configdump import read_dump
from mtls_doctor.envoy.logs import LogEvent, read_log
from mtls_doctor.envoy.records import ProxyConfig
from mtls_doctor.model.refs import Origin
from mtls_doctor.record import Record
from mtls_doctor.sources.paths import DEFAULT_CLUSTER, InputFile, split_cluster
from mtls_doctor.sources.problems import InputProblem

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")


class Proxy(Record):
    cluster: str
    namespace: str | None  # the pod the dump belongs to, when known
    pod: str | None
    config: ProxyConfig


class SideInputs(msgspec.Struct):
    resources: list[tuple[InputFile, bytes]]  # manifests found inside archives
    proxies: list[Proxy]
    events: list[LogEvent]
    problems: list[InputProblem]
    archives: list[str]


def is_archive(arg: str) -> bool:
    _, path = split_cluster(arg)
    return path.lower().endswith(ARCHIVE_SUFFIXES) or (
        Path(path).is_dir() and (Path(path) / "bug-report.log").exists()
    )


def _hint(arg: str) -> tuple[str, str | None, str]:
    """`[CLUSTER:][NS/]POD=PATH` or a plain PATH -> (cluster, "ns/pod" or None, path)."""
    name, sep, path = arg.partition("=")
    if not sep or Path(arg).exists():
        return DEFAULT_CLUSTER, None, arg
    cluster, csep, pod = name.rpartition(":")
    return (cluster if csep else DEFAULT_CLUSTER), pod, path


def read_side_inputs(archives: list[str], envoy: list[str], logs: list[str]) -> SideInputs:
    out = SideInputs([], [], [], [], [])
    for arg in archives:
        cluster, path = split_cluster(arg)
        report = open_archive(path)
        out.archives.append(path)
        out.problems.extend(report.problems)
        for m in report.resources:
            display = f"{path}!{m.name}"
            out.resources.append((InputFile(cluster, display, display), m.text.encode()))
        for d in report.config_dumps:
            config = read_dump(d.data, f"{path}!{d.member}")
            out.proxies.append(Proxy(cluster, d.namespace, d.pod, config))
        for log in report.logs:
            out.events.extend(read_log(log.text, f"{path}!{log.member}"))
    for arg in envoy:
        cluster, pod, path = _hint(arg)
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            out.problems.append(InputProblem(Origin(path), f"cannot read: {exc.strerror}"))
            continue
        config = read_dump(data, path)
        ns, _, name = (pod or "").rpartition("/")
        out.proxies.append(
            Proxy(cluster, ns or config.proxy.namespace, name or config.proxy.pod, config)
        )
    for path in logs:
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            out.problems.append(InputProblem(Origin(path), f"cannot read: {exc.strerror}"))
            continue
        out.events.extend(read_log(text, path))
    return out
