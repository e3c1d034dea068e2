"""The lab's two applications: an echo server (the destination app) and a one-shot client.

Standard library only, so that `--keep` can copy this file next to the configs and `replay.sh`
can run it with any Python 3. The server answers HTTP requests and a one-line TCP protocol
(a `{"lab-ping": ...}` line → `LAB-PONG {json}`), optionally under its own TLS, and reports what
it saw: whether TLS reached it, the XFCC header the sidecar added, the path. The client sends one
request the way the calling app would: plaintext HTTP, a plaintext TCP line, or HTTPS (app TLS,
no client certificate, no server verification, like `curl -k`).
"""

from __future__ import annotations

import argparse
import json
import socket
import socketserver
import ssl
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

READ_LIMIT = 1 << 16
# The TCP protocol's request starts with `{`, which no HTTP method does: Envoy's HTTP inspector
# must not mistake it for HTTP (a word like `PING /x` would pass as an HTTP/0.9-ish request line).
TCP_PING = b'{"lab-ping":'
BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@dataclass(frozen=True)
class ClientResult:
    """What the calling app got back."""

    status: int | None = None
    body: str = ""
    error: str | None = None
    app_info: dict[str, Any] | None = None


@dataclass
class EchoApp:
    """The destination app, served by a thread on 127.0.0.1:`port`."""

    port: int
    cert: str | None = None
    key: str | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    _server: socketserver.ThreadingTCPServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> None:
        ctx: ssl.SSLContext | None = None
        if self.cert and self.key:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.cert, self.key)
            ctx.set_alpn_protocols(["http/1.1"])
        app = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                app._handle(self.request, ctx)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = False
            block_on_close = True  # server_close() waits for every handler: records are complete

        self._server = Server(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def _handle(self, sock: socket.socket, ctx: ssl.SSLContext | None) -> None:
        # Headers and body leave in one segment; without this, delayed ACK adds ~40 ms.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(5)
        conn: socket.socket = sock
        info: dict[str, Any] = {"app": "lab-echo", "tls": False}
        if ctx is not None:
            try:
                tls = ctx.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                self.records.append({"event": "tls-handshake-failed", "error": str(exc)})
                return
            conn = tls
            info.update(tls=True, tls_version=tls.version(), alpn=tls.selected_alpn_protocol())
        try:
            data = _read_head(conn)
        except (OSError, ssl.SSLError) as exc:
            self.records.append({"event": "read-failed", "error": str(exc), **info})
            return
        first, _, rest = data.partition(b"\n")
        try:
            if data[:1] == b"\x16":
                self.records.append({"event": "tls-on-plaintext-app", **info})
                conn.sendall(BAD_REQUEST)
            elif first.startswith(TCP_PING):
                info.update(event="tcp", protocol="tcp")
                self.records.append(info)
                conn.sendall(b"LAB-PONG " + json.dumps(info).encode() + b"\n")
            elif first.rstrip(b"\r").endswith((b"HTTP/1.1", b"HTTP/1.0")):
                method, path, _ = first.decode("latin-1").split(" ", 2)
                headers = _parse_headers(rest)
                info.update(
                    event="http",
                    protocol="http",
                    method=method,
                    path=path,
                    xfcc=headers.get("x-forwarded-client-cert"),
                    xfp=headers.get("x-forwarded-proto"),
                )
                self.records.append(info)
                body = json.dumps(info).encode()
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )
            else:
                self.records.append({"event": "bad-request", "first": first[:40].hex(), **info})
                conn.sendall(BAD_REQUEST)
        except OSError as exc:
            self.records.append({"event": "write-failed", "error": str(exc), **info})
        finally:
            conn.close()


def _read_head(conn: socket.socket) -> bytes:
    """Read until the end of the HTTP head / first line, EOF, or TLS bytes where the app's
    plaintext layer expects a request (a TLS record starts with 0x16)."""
    buf = b""
    while len(buf) < READ_LIMIT:
        chunk = conn.recv(4096)
        if not chunk:
            break
        buf += chunk
        if buf[:1] == b"\x16":
            break
        if buf.startswith(TCP_PING) and b"\n" in buf:
            break
        if b"\r\n\r\n" in buf:
            break
    return buf


def _parse_headers(raw: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in raw.split(b"\r\n"):
        name, sep, value = line.decode("latin-1").partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


def send(
    port: int, protocol: str, host: str, path: str = "/lab", timeout: float = 5.0
) -> ClientResult:
    """Send one request to 127.0.0.1:`port` as the calling app would; never raises for I/O."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError as exc:
        return ClientResult(error=_describe(exc))
    conn: socket.socket = sock
    try:
        if protocol == "app-tls":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["http/1.1"])
            conn = ctx.wrap_socket(sock, server_hostname=host)
        if protocol == "tcp":
            conn.sendall(TCP_PING + json.dumps(path).encode() + b"}\n")
        else:
            conn.sendall(
                f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: mtls-doctor-lab\r\n"
                "Accept: */*\r\nConnection: close\r\n\r\n".encode()
            )
        data = _read_all(conn, http=protocol != "tcp")
    except (OSError, ssl.SSLError) as exc:
        return ClientResult(error=_describe(exc))
    finally:
        conn.close()
    return _parse_reply(data, protocol)


def _complete_http(buf: bytes) -> bool:
    head, sep, body = buf.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return len(body) >= int(value.strip())
    return False


def _read_all(conn: socket.socket, *, http: bool) -> bytes:
    """Read the reply: up to EOF, or (HTTP) until Content-Length bytes of body arrived."""
    buf = b""
    while not (http and _complete_http(buf)):
        try:
            chunk = conn.recv(65536)
        except ssl.SSLZeroReturnError:
            break
        except (ConnectionResetError, ssl.SSLError) as exc:
            if buf:  # the reply was complete; the reset came after it
                break
            raise exc
        if not chunk:
            break
        buf += chunk
    return buf


def _parse_reply(data: bytes, protocol: str) -> ClientResult:
    if not data:
        return ClientResult(error="connection closed without a reply")
    text = data.decode("utf-8", "replace")
    if protocol == "tcp":
        if text.startswith("LAB-PONG "):
            return ClientResult(body=text, app_info=json.loads(text[9:].strip() or "{}"))
        if text.startswith("HTTP/"):
            head, _, body = text.partition("\r\n\r\n")
            return ClientResult(status=_status(head), body=body)
        return ClientResult(body=text, error="unexpected reply")
    head, _, body = text.partition("\r\n\r\n")
    status = _status(head)
    info: dict[str, Any] | None = None
    if status == 200 and body.startswith("{"):
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and parsed.get("app") == "lab-echo":
            info = parsed
    return ClientResult(status=status, body=body, app_info=info)


def _status(head: str) -> int | None:
    parts = head.split(" ", 2)
    if len(parts) >= 2 and parts[0].startswith("HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by peer"
    if isinstance(exc, BrokenPipeError):
        return "broken pipe"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return f"{type(exc).__name__}: {exc}"


def wait_ready(admin_port: int, timeout: float) -> bool:
    """Poll an Envoy admin `/ready` until it answers 200 (for replay.sh)."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/ready", timeout=0.5) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="mtls-doctor lab apps")
    sub = parser.add_subparsers(dest="cmd", required=True)
    serve = sub.add_parser("serve", help="run the echo app until interrupted")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--cert")
    serve.add_argument("--key")
    req = sub.add_parser("request", help="send one request as the client app")
    req.add_argument("--port", type=int, required=True)
    req.add_argument("--protocol", choices=["http", "tcp", "app-tls"], default="http")
    req.add_argument("--host", default="echo.echo.svc.cluster.local")
    req.add_argument("--path", default="/lab")
    ready = sub.add_parser("ready", help="wait until an Envoy admin port answers /ready")
    ready.add_argument("--port", type=int, required=True)
    ready.add_argument("--timeout", type=float, default=15.0)
    args = parser.parse_args(argv)
    if args.cmd == "ready":
        return 0 if wait_ready(args.port, args.timeout) else 1
    if args.cmd == "serve":
        app = EchoApp(args.port, args.cert, args.key)
        app.start()
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            app.stop()
        return 0
    result = send(args.port, args.protocol, args.host, args.path)
    print(json.dumps({"status": result.status, "error": result.error, "body": result.body}))
    return 0 if result.error is None else 1


if __name__ == "__main__":
    sys.exit(main())
