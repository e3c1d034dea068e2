"""Read an `istioctl bug-report` archive (tar.gz) without extracting it to disk.

Layout (istio/istio `tools/bug-report/pkg/archive` and `bugreport`), under an optional
top directory `bug-report/`:
  cluster/k8s-resources, cluster/k8s-cluster-resources, cluster/crs, cluster/pods,
    cluster/nodes                      `kubectl get ... -o yaml` output
  cluster/secrets                      a `kubectl get secrets` table, or YAML (--full-secrets)
  cluster/events, cluster/cluster-context, cluster/kubectl-version
  proxies/NS/POD/config_dump?include_eds (older: config_dump), certs, clusters, listeners,
    server_info, stats/prometheus, istio-proxy.log, netstat
  istio/NS/POD/discovery.log, istio/NS/POD/debug/configz, ...
  operator/NS/POD/operator.log, cni/POD/cni.log, analyze/allNamespaces, versions
A corrupt or truncated archive gives what could be read plus problems naming the member.
"""

from __future__ import annotations

import tarfile
import zlib
from pathlib import Path

from mtls_doctor.model.refs import Origin
from mtls_doctor.record import Record
from mtls_doctor.sources.problems import InputProblem

_TOP_DIRS = ("cluster", "proxies", "istio", "operator", "cni", "analyze")
_RESOURCE_FILES = ("k8s-resources", "k8s-cluster-resources", "crs", "pods", "nodes")
_DUMP_NAMES = ("config_dump", "config_dump?include_eds", "config_dump.json")
_LOG_NAMES = {
    "istio-proxy.log": "proxy",
    "discovery.log": "istiod",
    "operator.log": "operator",
    "cni.log": "cni",
}
_MAX_MEMBER = 1 << 30


class Member(Record):
    """One archive member: its name as stored and its text (UTF-8, undecodable bytes replaced)."""

    name: str
    text: str


class ProxyDump(Record):
    namespace: str
    pod: str
    member: str
    data: bytes


class LogFile(Record):
    namespace: str
    pod: str
    kind: str  # proxy, istiod, operator, cni
    member: str
    text: str


class BugReport(Record):
    path: str
    resources: tuple[Member, ...] = ()  # YAML texts of cluster resources
    config_dumps: tuple[ProxyDump, ...] = ()
    logs: tuple[LogFile, ...] = ()
    proxy_certs: tuple[Member, ...] = ()  # Envoy admin /certs JSON of each proxy
    secrets: Member | None = None  # cluster/secrets: a table, or YAML with --full-secrets
    istiod_debug: tuple[Member, ...] = ()
    versions: str | None = None
    problems: tuple[InputProblem, ...] = ()

    def member_origin(self, member: str, line: int | None = None) -> Origin:
        return Origin(f"{self.path}!{member}", line)


def _relative(name: str) -> list[str] | None:
    """The member's path below the report root, or None when it is not part of the layout."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    for i, p in enumerate(parts[:3]):
        if p in _TOP_DIRS or (p in ("versions", "bug-report.log") and i == len(parts) - 1):
            return parts[i:]
    return None


def _read_member(tar: tarfile.TarFile, info: tarfile.TarInfo) -> tuple[bytes, str | None]:
    """The member's bytes, as far as they can be read, and the error that stopped the read."""
    chunks: list[bytes] = []
    try:
        handle = tar.extractfile(info)
        while handle is not None:
            chunk = handle.read(1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        return b"".join(chunks), str(exc) or type(exc).__name__
    return b"".join(chunks), None


def _iter_tar(path: str) -> tuple[list[tuple[str, bytes]], list[InputProblem]]:
    members: list[tuple[str, bytes]] = []
    problems: list[InputProblem] = []
    last = "(start of archive)"
    try:
        tar = tarfile.open(path, mode="r:*")  # noqa: SIM115 - closed below
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        return members, [InputProblem(Origin(path), f"not a readable tar archive: {exc}")]
    try:
        while True:
            try:
                info = tar.next()
            except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
                problems.append(
                    InputProblem(
                        Origin(path), f"archive is corrupt or truncated after member {last}: {exc}"
                    )
                )
                break
            if info is None:
                break
            if not info.isfile():
                continue
            if info.size > _MAX_MEMBER:
                problems.append(
                    InputProblem(
                        Origin(f"{path}!{info.name}"),
                        "member larger than 1 GiB; skipped",
                        "warning",
                    )
                )
                continue
            data, error = _read_member(tar, info)
            if error is not None or len(data) < info.size:
                detail = f": {error}" if error else ""
                problems.append(
                    InputProblem(
                        Origin(f"{path}!{info.name}"),
                        f"member is truncated or corrupt ({len(data)} of {info.size} bytes "
                        f"read){detail}; the part read is still analysed",
                    )
                )
                if data:
                    members.append((info.name, data))
                break
            members.append((info.name, data))
            last = info.name
    finally:
        tar.close()
    return members, problems


def _iter_dir(path: str) -> list[tuple[str, bytes]]:
    root = Path(path)
    return [
        (str(p.relative_to(root)), p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()
    ]


def open_archive(path: str) -> BugReport:
    """Everything of an istioctl bug-report that mtls-doctor reads. Never raises for bad input."""
    if Path(path).is_dir():
        raw, problems = _iter_dir(path), list[InputProblem]()
    else:
        raw, problems = _iter_tar(path)
    resources: list[Member] = []
    dumps: list[ProxyDump] = []
    logs: list[LogFile] = []
    certs: list[Member] = []
    debug: list[Member] = []
    secrets: Member | None = None
    versions: str | None = None
    for name, data in raw:
        rel = _relative(name)
        if rel is None:
            continue

        def as_text(d: bytes = data) -> str:
            return d.decode("utf-8", errors="replace")

        top, leaf = rel[0], rel[-1]
        if top == "cluster" and len(rel) == 2:
            if leaf in _RESOURCE_FILES:
                resources.append(Member(name, as_text()))
            elif leaf == "secrets":
                secrets = Member(name, as_text())
        elif top == "proxies" and len(rel) >= 4:
            ns, pod = rel[1], rel[2]
            sub = "/".join(rel[3:])
            if sub in _DUMP_NAMES:
                dumps.append(ProxyDump(ns, pod, name, data))
            elif sub in _LOG_NAMES:
                logs.append(LogFile(ns, pod, _LOG_NAMES[sub], name, as_text()))
            elif sub == "certs":
                certs.append(Member(name, as_text()))
        elif top in ("istio", "operator") and len(rel) >= 4:
            ns, pod = rel[1], rel[2]
            sub = "/".join(rel[3:])
            if sub in _LOG_NAMES:
                logs.append(LogFile(ns, pod, _LOG_NAMES[sub], name, as_text()))
            elif top == "istio" and sub.startswith("debug/"):
                debug.append(Member(name, as_text()))
        elif top == "cni" and len(rel) == 3 and leaf == "cni.log":
            logs.append(LogFile("", rel[1], "cni", name, as_text()))
        elif top == "versions" and len(rel) == 1:
            versions = as_text()
    if not raw and not problems:
        problems.append(InputProblem(Origin(path), "empty archive", "warning"))
    elif raw and not (resources or dumps or logs):
        problems.append(
            InputProblem(
                Origin(path), "no bug-report layout found (cluster/, proxies/, istio/)", "warning"
            )
        )
    return BugReport(
        path=path,
        resources=tuple(resources),
        config_dumps=tuple(dumps),
        logs=tuple(logs),
        proxy_certs=tuple(certs),
        secrets=secrets,
        istiod_debug=tuple(debug),
        versions=versions,
        problems=tuple(problems),
    )
