"""Reading the lab's access logs (formats in envoyconf) and the Envoy debug logs."""

from __future__ import annotations

import re
from pathlib import Path

from mtls_doctor.record import Record

_HEAD = re.compile(r"^\[(?P<tag>[^\]]+)\] \[(?P<time>[^\]]*)\] (?P<rest>.*)$")
_REQUEST = re.compile(r'^"(?P<method>\S*) (?P<path>\S*) (?P<proto>\S*)" (?P<code>\d+) (?P<kv>.*)$')
_KV = re.compile(r'(\w+)=(?:"([^"]*)"|(\S*))')

# Debug lines worth showing as evidence, by the phrase Envoy 1.40 writes.
_EVIDENCE = (
    "verify cert failed",
    "no matching filter chain",
    "enforced denied",
    "dispatch error",
    "TLS_error",
    "upstream reset",
    "Sending local reply",
)


class LogLine(Record):
    """One access-log line. `kind`: http (HCM), tcp (tcp_proxy) or conn (listener)."""

    side: str
    kind: str
    raw: str
    fields: dict[str, str]
    code: int | None = None
    method: str | None = None
    path: str | None = None

    def get(self, key: str) -> str | None:
        """The field's value, or None when Envoy wrote `-` or nothing."""
        value = self.fields.get(key)
        return None if value in (None, "", "-") else value


def parse_line(raw: str) -> LogLine | None:
    head = _HEAD.match(raw.strip())
    if head is None or ":" not in head["tag"]:
        return None
    side, kind = head["tag"].split(":", 1)
    rest = head["rest"]
    code = method = path = None
    if rest.startswith("CONN "):
        kv = rest[5:]
    else:
        req = _REQUEST.match(rest)
        if req is None:
            return None
        code, method, path, kv = int(req["code"]), req["method"], req["path"], req["kv"]
    fields = {m[1]: m[2] if m[2] is not None else m[3] for m in _KV.finditer(kv)}
    return LogLine(side, kind, raw.strip(), fields, code, method, path)


def read_access_log(path: Path) -> list[LogLine]:
    if not path.exists():
        return []
    lines = []
    for raw in path.read_text("utf-8", "replace").splitlines():
        parsed = parse_line(raw)
        if parsed is not None:
            lines.append(parsed)
    return lines


def evidence(path: Path, limit: int = 12) -> list[str]:
    """Debug lines that explain a failure, without timestamps and thread ids."""
    if not path.exists():
        return []
    out: list[str] = []
    for raw in path.read_text("utf-8", "replace").splitlines():
        if any(phrase in raw for phrase in _EVIDENCE):
            text = re.sub(r"^\[[^\]]*\]\[\d+\]", "", raw).strip()
            if text not in out:
                out.append(text)
    return out[:limit]
