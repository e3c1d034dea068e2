"""Read proxy, agent and client logs into `LogEvent`s with a cause and what to check next.

`read_log(text, source)` understands, line by line (and tolerating `kubectl logs --timestamps`
/ `--prefix` prefixes and cut-off lines):
- access logs: Istio TEXT (1.0 to 1.2x), JSON, key=value, ztunnel;
- Envoy debug logs (`connection`, `pool`, `router`, `rbac`, `conn_handler`, `http`, `config`),
  in the 1.4 `[Envoy (Epoch 0)]`, the tab-separated istio-proxy and the plain Envoy layouts;
  lines about one connection (`[C42]`) are folded into one event;
- istio-agent lines (CA, SDS, readiness, probes);
- what a client printed (`upstream connect error ...`, `RBAC: access denied`, curl, kubelet).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import msgspec

from mtls_doctor.envoy import accesslog
from mtls_doctor.envoy.causes import (
    NEXT_STEP,
    classify_access,
    classify_client_message,
    classify_tls,
    rbac_policy,
)
from mtls_doctor.envoy.clusters import parse_name
from mtls_doctor.record import Record


class LogEvent(Record):
    source: str
    line: int
    cause: str | None
    message: str
    response_flags: str | None = None
    response_code: int | None = None
    details: str | None = None
    next_step: str | None = None
    kind: str = "access"  # access, debug, agent, client
    upstream_cluster: str | None = None
    upstream_host: str | None = None
    destination: str | None = None  # host:port from an Istio cluster name
    peer: str | None = None  # peer identity (SPIFFE) or address
    policy: str | None = None  # RBAC policy that decided
    reason: str | None = None  # short TLS reason, e.g. SAN matcher, TLSV1_ALERT_UNKNOWN_CA
    sni: str | None = None
    connection: str | None = None  # Envoy connection id, C42
    truncated: bool = False


_KUBECTL_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z (?=\S)")
_KUBECTL_PREFIX = re.compile(r"^\[pod/[^\]]+\] ")
_EPOCH = re.compile(r"^\[Envoy \(Epoch \d+\)\]\s*")
_BOX = re.compile(r"[\u2500-\u257f│]+\s*$")
_DEBUG_BRACKET = re.compile(r"^(?:\[[^\]]*\]\[\d+\])?\[(\w+)\]\[(\w+)\]\s*(.*)$")
_DEBUG_TAB = re.compile(
    r"^\d{4}-\d\d-\d\dT[\d:.]+Z\s+(debug|info|warn|warning|error|critical|trace)\s+envoy\s+(\w+)\s+(.*)$"
)
_AGENT = re.compile(
    r"^\d{4}-\d\d-\d\dT[\d:.]+Z\s+(debug|info|warn|warning|error)\s+(?:(\w+)\s+)?(.*)$"
)
_SOURCE_REF = re.compile(r"^\[?[\w./-]+\.(?:cc|h):\d+\]?\s*")
_CONN = re.compile(r"\[C(\d+)\]|\"ConnectionId\":\"(\d+)\"")
_RBAC_DENIED = re.compile(r"enforced denied, matched policy (\S+)")
_RBAC_ALLOWED = re.compile(r"enforced allowed, matched policy (\S+)")
_URI_SAN = re.compile(r"uriSanPeerCertificate: ([^,\s]*)")
_SNI = re.compile(r"requestedServerName: ([^,\s]*)")
_LOCAL_REPLY = re.compile(r"(?:Sending|Preparing) local reply with details (\S+)")
_SUCCESS = re.compile(r'^(?:\[[^\]]*\] )?"[^"]*" [123]\d\d - ')
_CONTINUATION = re.compile(r"^'[^']*', '")
_LAB_TAGS = ("client_access", "server_access", "server_listener", "client_debug", "server_debug")


def _stream(line: str) -> str:
    """Which process a line of a merged log came from (kubectl --prefix, or our lab's tags)."""
    m = _KUBECTL_PREFIX.match(line)
    if m:
        return m.group(0)
    head = line.split(":", 1)[0]
    return head.split("_", 1)[0] if head in _LAB_TAGS else ""


def _strip(line: str) -> str:
    line = line.rstrip("\r\n")
    if line.startswith("[pod/"):
        line = _KUBECTL_PREFIX.sub("", line)
    if line[:2] in ("19", "20") and line[10:11] == "T":
        line = _KUBECTL_TS.sub("", line)
    if line.startswith("[Envoy"):
        line = _EPOCH.sub("", line)
    if line and "\u2500" <= line.rstrip()[-1:] <= "\u257f":
        line = _BOX.sub("", line)
    head, sep, rest = line.partition(": ")
    if sep and head in _LAB_TAGS:
        line = rest
    return line.strip()


def _destination(cluster: str | None) -> str | None:
    if not cluster:
        return None
    direction, port, _subset, host = parse_name(cluster)
    if host and port is not None and direction and direction.startswith("outbound"):
        return f"{host}:{port}"
    return None


def _event(source: str, lineno: int, cause: str | None, message: str, **fields: Any) -> LogEvent:
    next_step = NEXT_STEP.get(cause) if cause else None
    return LogEvent(source, lineno, cause, message, next_step=next_step, **fields)


def _from_access(
    source: str, lineno: int, rec: accesslog.AccessRecord, text: str, kind: str
) -> LogEvent | None:
    cause, relevant = classify_access(rec)
    if kind == "ztunnel":
        ztls = classify_tls(rec.details or "")
        if rec.details and "policy rejection" in rec.details:
            cause = "authz-denied"
        else:
            cause = ztls[0] if ztls else None
        relevant = bool(rec.details)
    if not relevant and cause is None:
        return None
    tls = classify_tls(" ".join(x for x in (rec.details, rec.tfr) if x))
    policy = rbac_policy(rec.details) or rbac_policy(rec.termination)
    return _event(
        source,
        lineno,
        cause,
        text,
        response_flags=rec.response_flags,
        response_code=rec.response_code,
        details=rec.details or rec.termination,
        kind="access",
        upstream_cluster=rec.upstream_cluster,
        upstream_host=rec.upstream_host,
        destination=_destination(rec.upstream_cluster),
        peer=rec.peer or _peer_address(rec),
        policy=policy,
        reason=tls[1] if tls else (rec.tfr or None),
        sni=rec.sni,
        truncated=rec.truncated,
    )


def _peer_address(rec: accesslog.AccessRecord) -> str | None:
    """The other side: the upstream host for an outbound call, else the downstream caller."""
    if rec.upstream_cluster and rec.upstream_cluster.startswith("outbound|"):
        return rec.upstream_host
    return rec.downstream_remote


def _conn_id(text: str) -> str | None:
    m = _CONN.search(text)
    if not m:
        return None
    return "C" + (m.group(1) or m.group(2))


def _from_debug(source: str, lineno: int, component: str, body: str) -> LogEvent | None:
    body = _SOURCE_REF.sub("", body).strip()
    conn = _conn_id(body)
    m = _RBAC_DENIED.search(body)
    if m:
        return _event(
            source, lineno, "authz-denied", body, kind="debug", policy=m.group(1), connection=conn
        )
    m = _RBAC_ALLOWED.search(body)
    if m:
        return _event(source, lineno, None, body, kind="debug", policy=m.group(1), connection=conn)
    if component == "rbac" and "checking request" in body:
        san = _URI_SAN.search(body)
        sni = _SNI.search(body)
        return _event(
            source,
            lineno,
            None,
            body,
            kind="debug",
            peer=(san.group(1) or None) if san else None,
            sni=sni.group(1) if sni else None,
            connection=conn,
        )
    m = _LOCAL_REPLY.search(body)
    if m:
        details = m.group(1)
        tls = classify_tls(body)
        cause = (
            tls[0]
            if tls
            else (
                "authz-denied"
                if rbac_policy(details)
                else ("upstream-reset" if "connection_termination" in details else None)
            )
        )
        if cause is None:
            return None
        return _event(
            source,
            lineno,
            cause,
            body,
            kind="debug",
            details=details,
            policy=rbac_policy(details),
            reason=tls[1] if tls else None,
            connection=conn,
        )
    if "no matching filter chain found" in body:
        return _event(source, lineno, "no-filter-chain", body, kind="debug", connection=conn)
    if "dispatch error" in body:  # TLS bytes into plaintext HTTP look like any bad request
        return _event(
            source, lineno, "downstream-protocol-error", body, kind="debug", connection=conn
        )
    if component == "config" and "gRPC config stream closed" in body:
        cause = "sds-failure" if "StreamSecrets" in body or "secret" in body else "xds-unreachable"
        return _event(source, lineno, cause, body, kind="debug")
    if "tls inspector" in body or "parseClientHello" in body:
        return None  # plaintext seen by tls_inspector: normal on PERMISSIVE ports
    tls = classify_tls(body)
    if tls is not None or "verify cert failed" in body:
        cause, reason = tls if tls is not None else ("cert-verify-failed", "verify cert failed")
        return _event(source, lineno, cause, body, kind="debug", reason=reason, connection=conn)
    if component == "router" and "reset reason: connection termination" in body:
        return _event(source, lineno, "upstream-reset", body, kind="debug", connection=conn)
    return None


def _from_agent(source: str, lineno: int, scope: str | None, body: str) -> LogEvent | None:
    low = body.lower()
    ca_line = scope == "ca" or "ca request failed" in low or ("csr" in low and "fail" in low)
    if ca_line and ("fail" in low or "error" in low):
        return _event(source, lineno, "ca-unreachable", body, kind="agent")
    if "failed to generate secret" in low or ("sds" in low and ("fail" in low or "error" in low)):
        return _event(source, lineno, "sds-failure", body, kind="agent")
    if "streamsecrets" in low and "closed" in low:
        return _event(source, lineno, "sds-failure", body, kind="agent")
    if "not ready" in low and ("config not received" in low or "pilot" in low or "istiod" in low):
        return _event(source, lineno, "xds-unreachable", body, kind="agent")
    if "probe" in low and "fail" in low:
        return _event(source, lineno, "probe-failed", body, kind="agent")
    tls = classify_tls(body)
    if tls is not None:
        return _event(source, lineno, tls[0], body, kind="agent", reason=tls[1])
    return None


def _classify_line(source: str, lineno: int, raw: str) -> LogEvent | None:
    text = _strip(raw)
    if not text or text.startswith("#"):
        return None
    if text.startswith("{"):
        rec = accesslog.parse_json(text)
        return _from_access(source, lineno, rec, text, "access") if rec else None
    m = _DEBUG_BRACKET.match(text)
    if m:
        return _from_debug(source, lineno, m.group(2), m.group(3))
    m = _DEBUG_TAB.match(text)
    if m:
        if m.group(2) == "config":
            return _from_debug(source, lineno, "config", m.group(3))
        return _from_debug(source, lineno, m.group(2), m.group(3))
    if _SUCCESS.match(text):
        return None  # a 1xx-3xx access line without flags: nothing to say, the common case
    rec = None if " flags=" in text else accesslog.parse_text(text)
    if rec is not None:
        return _from_access(source, lineno, rec, text, "access")
    rec = accesslog.parse_kv(text)
    if rec is not None:
        kind = "ztunnel" if "src.addr" in text or "dst.service" in text else "access"
        return _from_access(source, lineno, rec, text, kind)
    m = _AGENT.match(text)
    if m:
        return _from_agent(source, lineno, m.group(2), m.group(3))
    cause = classify_client_message(text)
    if cause is not None:
        tls = classify_tls(text)
        return _event(source, lineno, cause, text, kind="client", reason=tls[1] if tls else None)
    return None


def _merge(a: LogEvent, b: LogEvent) -> LogEvent:
    """Fold a later line about the same connection into the first event of the block."""
    better = (
        b.cause
        if (a.cause in (None, "cert-verify-failed", "tls-handshake-failed") and b.cause)
        else a.cause
    )
    reason = b.reason if better == b.cause and b.reason else a.reason
    return msgspec.structs.replace(
        a,
        cause=better,
        reason=reason,
        next_step=NEXT_STEP.get(better) if better else None,
        message=a.message + "\n" + b.message,
        details=a.details or b.details,
        peer=a.peer or b.peer,
    )


def read_log(text: str, source: str) -> tuple[LogEvent, ...]:
    """Every line (or block) of a log that tells something about TLS, mTLS or authorization."""
    return tuple(_read(text, source))


def _read(text: str, source: str) -> Iterator[LogEvent]:
    pending: dict[str, LogEvent] = {}
    order: list[LogEvent | str] = []
    last: LogEvent | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if last is not None and last.kind == "debug" and _CONTINUATION.match(raw):
            continue  # header lines of a multi-line `checking request` dump
        event = _classify_line(source, lineno, raw)
        if event is None:
            continue
        last = event
        key = (
            f"{_stream(raw)}|{event.connection}"
            if event.kind == "debug" and event.cause is not None and event.connection
            else None
        )
        if key is not None and key in pending:
            pending[key] = _merge(pending[key], event)
            continue
        if key is not None:
            pending[key] = event
            order.append(key)
        else:
            order.append(event)
    for item in order:
        yield pending[item] if isinstance(item, str) else item
