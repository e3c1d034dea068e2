"""Parse one access-log record: Istio's TEXT formats (1.0 to 1.2x), JSON, key=value, ztunnel.

Istio's TEXT format since 1.9:
  [%START_TIME%] "%METHOD% %PATH% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS%
  %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%"
  %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %UPSTREAM_SERVICE_TIME% "%X-FORWARDED-FOR%"
  "%USER-AGENT%" "%X-REQUEST-ID%" "%AUTHORITY%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER%
  %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%
  %REQUESTED_SERVER_NAME% %ROUTE_NAME%
1.7/1.8 have `"%mixer status%" "%tfr%"` where 1.9 has details/termination/tfr; 1.0 has
neither. The parser anchors on the request line and on the three byte/duration integers,
so all of them (and lines cut short) are read without knowing the version.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from mtls_doctor.record import Record

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|\S+')
_INT = re.compile(r"^\d+$")
_KV = re.compile(r'([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|\S*)')


class AccessRecord(Record):
    method: str | None = None
    path: str | None = None
    protocol: str | None = None
    response_code: int | None = None
    response_flags: str | None = None
    details: str | None = None
    termination: str | None = None
    tfr: str | None = None  # upstream (or downstream) transport failure reason
    authority: str | None = None
    upstream_host: str | None = None
    upstream_cluster: str | None = None
    downstream_local: str | None = None
    downstream_remote: str | None = None
    sni: str | None = None
    peer: str | None = None  # a peer identity, when the format carries one
    truncated: bool = False


def _unq(tok: str) -> str:
    if tok.startswith('"'):
        tok = tok[1:-1] if tok.endswith('"') and len(tok) > 1 else tok[1:]
    return tok


def _val(tok: str | None) -> str | None:
    if tok is None:
        return None
    v = _unq(tok)
    return None if v in ("-", "") else v


def parse_text(line: str) -> AccessRecord | None:
    """Istio's TEXT access log; None when the line is not one."""
    toks = _TOKEN.findall(line)
    i = 0
    if toks and toks[0].startswith("[") and not toks[0].startswith("[C"):
        # `[2020-11-22T20:04:32.765Z]` (one token) or a lab tag `[cli:a]` followed by the time
        while i < len(toks) and toks[i].startswith("[") and i < 2:
            i += 1
    if i >= len(toks) or not toks[i].startswith('"'):
        return None
    req = _unq(toks[i]).split(" ")
    if len(req) < 2 and req != ["-"]:
        return None
    i += 1
    if i >= len(toks) or not _INT.match(toks[i]):
        return None
    code = int(toks[i])
    i += 1
    flags = toks[i] if i < len(toks) else None
    i += 1
    # the block between flags and the three integers
    j = i
    while j + 2 < len(toks) and not (
        _INT.match(toks[j]) and _INT.match(toks[j + 1]) and _INT.match(toks[j + 2])
    ):
        j += 1
    truncated = j + 2 >= len(toks)
    block = toks[i:j] if not truncated else toks[i:]
    details = termination = tfr = None
    unquoted = [t for t in block if not t.startswith('"')]
    quoted = [t for t in block if t.startswith('"')]
    if unquoted:
        details = _val(unquoted[0])
        if len(unquoted) > 1:
            termination = _val(unquoted[1])
    if quoted:
        tfr = _val(quoted[-1])
    rec: dict[str, Any] = {}
    if not truncated:
        rest = toks[j + 4 :]  # skip bytes received/sent, duration, upstream service time
        q = [_val(t) for t in rest[:5]]
        names = ("xff", "user_agent", "request_id", "authority", "upstream_host")
        rec = dict(zip(names, q, strict=False))
        tail = [_val(t) for t in rest[5:]]
        for name, value in zip(
            ("upstream_cluster", "upstream_local", "downstream_local", "downstream_remote", "sni"),
            tail,
            strict=False,
        ):
            rec[name] = value
    method = req[0] if req[0] != "-" else None
    return AccessRecord(
        method=method,
        path=req[1] if len(req) > 2 and req[1] != "-" else None,
        protocol=req[-1] if len(req) > 2 and req[-1] != "-" else None,
        response_code=code,
        response_flags=None if flags in (None, "-") else flags,
        details=details,
        termination=termination,
        tfr=tfr,
        authority=rec.get("authority"),
        upstream_host=rec.get("upstream_host"),
        upstream_cluster=rec.get("upstream_cluster"),
        downstream_local=rec.get("downstream_local"),
        downstream_remote=rec.get("downstream_remote"),
        sni=rec.get("sni"),
        truncated=truncated,
    )


_JSON_PAIR = re.compile(r'"([a-zA-Z_]+)"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+|null)')


def parse_json(line: str) -> AccessRecord | None:
    """Istio's JSON access log (accessLogEncoding: JSON); a cut-off record is read in part."""
    data: dict[str, Any]
    truncated = False
    try:
        decoded = msgspec.json.decode(line)
    except msgspec.DecodeError:
        pairs = _JSON_PAIR.findall(line)
        if not pairs:
            return None
        data = {k: msgspec.json.decode(v) for k, v in pairs}
        truncated = True
    else:
        if not isinstance(decoded, dict):
            return None
        data = decoded
    if not any(k in data for k in ("response_flags", "response_code", "upstream_cluster")):
        return None

    def s(key: str) -> str | None:
        v = data.get(key)
        if v is None:
            return None
        text = str(v).strip('"')
        return None if text in ("-", "") else text

    code = s("response_code")
    return AccessRecord(
        method=s("method"),
        path=s("path"),
        protocol=s("protocol"),
        response_code=int(code) if code and code.isdigit() else None,
        response_flags=s("response_flags"),
        details=s("response_code_details"),
        termination=s("connection_termination_details"),
        tfr=s("upstream_transport_failure_reason"),
        authority=s("authority"),
        upstream_host=s("upstream_host"),
        upstream_cluster=s("upstream_cluster"),
        downstream_local=s("downstream_local_address"),
        downstream_remote=s("downstream_remote_address"),
        sni=s("requested_server_name"),
        peer=s("downstream_peer_uri_san") or s("upstream_peer_uri_san"),
        truncated=truncated,
    )


def parse_kv(line: str) -> AccessRecord | None:
    """`key=value` access logs: our lab's format, and ztunnel's access lines."""
    pairs = {k: _unq(v) for k, v in _KV.findall(line)}
    if "flags" in pairs and any(k in pairs for k in ("details", "cluster", "dn_tfr", "up_tfr")):
        m = re.search(r'"([A-Z]+|-) (\S+) ([^"]+)" (\d+)', line)

        def g(key: str) -> str | None:
            v = pairs.get(key)
            return None if v in (None, "-", "") else v

        tfr = g("up_tfr") or g("dn_tfr")
        if tfr and "HTTP_REQUEST" in tfr:  # tls_inspector saw plaintext: not a failure
            tfr = None
        return AccessRecord(
            method=m.group(1) if m and m.group(1) != "-" else None,
            path=m.group(2) if m else None,
            response_code=int(m.group(4)) if m else (0 if " CONN " in line else None),
            response_flags=g("flags"),
            details=g("details"),
            termination=g("term"),
            tfr=tfr,
            upstream_host=g("up_host"),
            upstream_cluster=g("cluster"),
            sni=g("sni"),
            peer=g("dn_peer") or g("up_peer"),
        )
    if "src.addr" in pairs or "dst.service" in pairs:  # ztunnel
        return AccessRecord(
            response_flags=None,
            details=pairs.get("error"),
            upstream_host=pairs.get("dst.addr"),
            upstream_cluster=pairs.get("dst.service"),
            downstream_remote=pairs.get("src.addr"),
            peer=pairs.get("src.identity"),
        )
    return None
