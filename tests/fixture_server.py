"""Loopback HTTP/1.1 fixture server for the test suite.

It replays vcrpy-style YAML cassettes and serves scripted responses (JSON, SSE, slow headers, stalls,
connection resets, "fail once then succeed" sequences). Real hosts are mounted under a path prefix:
``/_h/<host>/<path>`` stands for ``https://<host>/<path>``, so one plain-HTTP server can impersonate
the Hub, the router and every provider at once.
"""

from __future__ import annotations

import contextlib
import gzip
import re
import socket
import socketserver
import struct
import sys
import threading
import time
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import orjson
import yaml

MOUNT_PREFIX = "/_h/"

# Framing/hop-by-hop headers of a recording describe the original connection, not our replay.
_FRAMING_HEADERS = {"content-length", "transfer-encoding", "content-encoding"}
_DROPPED_REPLAY_HEADERS = frozenset(_FRAMING_HEADERS | {"connection", "keep-alive", "trailer", "upgrade"})
# The host must end with an alphanumeric so a sentence-final "." is not taken into the mount name.
_ABSOLUTE_URL = re.compile(rb"https?://([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]+)?)")
_LOOPBACK_HOSTS = frozenset({b"127.0.0.1", b"localhost"})
_TEXTUAL_MARKERS = ("json", "xml", "javascript", "x-www-form-urlencoded")
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # C loader: cassettes reach ~2 MB
_TIMING_FIELDS = ("delay", "chunk_delay", "stall", "stall_after_chunks", "reset", "reset_after_chunks")

Handler = Callable[["ReceivedRequest"], "ScriptedResponse"]


def _join_url(host: str, path: str, query: str) -> str:
    base = f"https://{host}{path}" if host else path
    return f"{base}?{query}" if query else base


def _norm_path(path: str) -> str:
    # Clients differ in what they percent-encode (e.g. ":" or "/" in model ids), so match decoded paths.
    return unquote(path) or "/"


def _norm_query(query: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(parse_qsl(query, keep_blank_values=True)))


def _header_dict(pairs: list[tuple[str, str]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return merged


def _header_pairs(recorded: dict[str, Any] | None) -> list[tuple[str, str]]:
    # vcrpy stores each header as a list of values; tolerate hand-written scalar values too.
    return [
        (str(name), str(value))
        for name, values in (recorded or {}).items()
        for value in (values if isinstance(values, list) else [values])
    ]


def _as_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


@dataclass
class ReceivedRequest:
    """One request as the server received it (path and query without the mount prefix)."""

    method: str
    host: str
    path: str
    query: str
    headers: dict[str, str]
    raw_headers: list[tuple[str, str]]
    body: bytes
    version: str = "HTTP/1.1"
    connection_index: int = 0  # which accepted TCP connection carried it (1-based)

    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def url(self) -> str:
        return _join_url(self.host, self.path, self.query)


@dataclass
class RecordedRequest:
    """A request stored in a cassette, to compare with what the client under test sent."""

    method: str
    uri: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def host(self) -> str:
        return urlsplit(self.uri).netloc.lower()

    @property
    def path(self) -> str:
        return urlsplit(self.uri).path or "/"

    @property
    def query(self) -> str:
        return urlsplit(self.uri).query


@dataclass
class ScriptedResponse:
    """A scripted answer; see FixtureServer.add for the meaning of each field."""

    status: int = 200
    headers: dict[str, str] | None = None
    body: bytes | str | list[bytes | str] | None = None  # a list is sent chunked, one chunk per item
    json: Any = None  # None means "no JSON body"; send a JSON null with body="null"
    sse: list[Any] | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    stall: bool = False
    stall_after_chunks: int | None = None
    reset: bool = False
    reset_after_chunks: int | None = None
    times: int | None = None


@dataclass
class _Plan:
    """Wire-level description of one response, shared by replays and scripted answers."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    chunks: list[bytes] | None = None  # None: Content-Length framing
    delay: float = 0.0
    chunk_delay: float = 0.0
    stall: bool = False
    stall_after_chunks: int | None = None
    reset: bool = False
    reset_after_chunks: int | None = None


@dataclass
class _Sequence:
    """Successive recorded responses for one request key; the last one repeats."""

    plans: list[_Plan] = field(default_factory=list)
    served: int = 0

    def next(self) -> _Plan:
        plan = self.plans[min(self.served, len(self.plans) - 1)]
        self.served += 1
        return plan


@dataclass
class _Scripted:
    response: ScriptedResponse | None
    handler: Handler | None
    remaining: int | None


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _sse_chunk(event: Any) -> bytes:
    if isinstance(event, (str, bytes, bytearray)):
        return _as_bytes(event)
    return b"data: " + orjson.dumps(event) + b"\n\n"


def _plan_from_scripted(resp: ScriptedResponse) -> _Plan:
    headers = list((resp.headers or {}).items())
    names = {name.lower() for name, _ in headers}
    chunks: list[bytes] | None = None
    body = b""
    content_type: str | None = None
    if resp.sse is not None:
        chunks = [_sse_chunk(event) for event in resp.sse]
        content_type = "text/event-stream"
        if "cache-control" not in names:
            headers.append(("Cache-Control", "no-cache"))
    elif resp.json is not None:
        body = orjson.dumps(resp.json)
        content_type = "application/json"
    elif isinstance(resp.body, list):
        chunks = [_as_bytes(item) for item in resp.body]
    else:
        body = _as_bytes(resp.body)
        if isinstance(resp.body, str):
            content_type = "text/plain; charset=utf-8"
    if content_type and "content-type" not in names:
        headers.append(("Content-Type", content_type))
    if chunks is None and (resp.stall_after_chunks is not None or resp.reset_after_chunks is not None):
        # "after N chunks" only makes sense with chunked framing: the whole body becomes one chunk.
        chunks = [body] if body else []
    timing = {name: getattr(resp, name) for name in _TIMING_FIELDS}
    return _Plan(resp.status, _reason(resp.status), headers, body, chunks, **timing)


def _decode_content(body: bytes, encoding: str) -> tuple[bytes, bool]:
    """Undo a recorded Content-Encoding; returns (body, keep_the_header)."""
    enc = encoding.strip().lower()
    if enc in ("gzip", "x-gzip") and body[:2] == b"\x1f\x8b":
        return gzip.decompress(body), False
    if enc == "deflate":
        for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):  # zlib-wrapped or raw, servers do both
            try:
                return zlib.decompress(body, wbits), False
            except zlib.error:
                continue
    # We cannot decode brotli/zstd without extra packages: pass them through for the client to decode.
    # Anything else (one cassette says "content-encoding: chunked") is a recording artefact: drop it.
    return body, enc in ("br", "zstd", "compress")


def _is_textual(content_type: str, stored_as_text: bool) -> bool:
    ctype = content_type.lower()
    if "event-stream" in ctype:
        return False  # streams are replayed byte-for-byte
    if ctype.startswith("text/") or any(marker in ctype for marker in _TEXTUAL_MARKERS):
        return True
    return not ctype and stored_as_text


class _Server(socketserver.TCPServer):
    allow_reuse_address = True

    def __init__(self, owner: FixtureServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _RequestHandler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = self.socket.accept()
        # Small writes (SSE chunks) must leave immediately instead of waiting for Nagle.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address

    def process_request(self, request: Any, client_address: Any) -> None:
        index = self.owner._connection_opened(request)
        thread = threading.Thread(target=self._serve_connection, args=(request, client_address, index), daemon=True)
        with self.owner._lock:
            self.owner._threads.add(thread)
        thread.start()

    def _serve_connection(self, request: socket.socket, client_address: Any, index: int) -> None:
        try:
            _RequestHandler(request, client_address, self, index)
        except OSError:
            pass  # the client went away or stop() closed the socket: normal for a test server
        except Exception as exc:  # a bug here must not vanish silently nor crash pytest's thread hook
            self.owner.errors.append(exc)
            traceback.print_exc(file=sys.stderr)
        finally:
            self.shutdown_request(request)
            self.owner._connection_closed(request)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def __init__(self, request: socket.socket, client_address: Any, server: _Server, index: int = 0) -> None:
        self.connection_index = index
        super().__init__(request, client_address, server)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def handle_one_request(self) -> None:
        # Replaces the do_<METHOD> dispatch so every method (including unknown ones) reaches _dispatch.
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline or self.server.owner._stop_event.is_set():
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.send_error(414)
            return
        if not self.parse_request():
            return
        if self.request_version != "HTTP/1.1":
            self.close_connection = True  # no HTTP/1.0 keep-alive dance needed for tests
        self._dispatch()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size_line = self.rfile.readline(65537)
                if not size_line:
                    raise ConnectionError("connection closed inside a chunked body")
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    break
                data = self.rfile.read(size)
                if len(data) < size:
                    raise ConnectionError("connection closed inside a chunk")
                parts.append(data)
                self.rfile.readline()  # CRLF closing the chunk
            while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                pass  # skip trailers
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        if len(data) < length:
            raise ConnectionError("connection closed inside the body")
        return data

    def _dispatch(self) -> None:
        owner = self.server.owner
        target = self.path
        if target.startswith(("http://", "https://")):  # absolute-form request target
            target = "/" + target.split("://", 1)[1].partition("/")[2]
        raw_path, _, query = target.partition("?")
        host, path = "", raw_path
        if raw_path.startswith(MOUNT_PREFIX):
            host, _, rest = raw_path[len(MOUNT_PREFIX) :].partition("/")
            host, path = host.lower(), "/" + rest
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send(owner._error_plan(400, "malformed request body"), head_only=False)
            return
        raw_headers = list(self.headers.items())
        request = ReceivedRequest(
            method=self.command,
            host=host,
            path=path,
            query=query,
            headers=_header_dict(raw_headers),
            raw_headers=raw_headers,
            body=body,
            version=self.request_version,
            connection_index=self.connection_index,
        )
        owner._record(request)
        self._send(owner._resolve(request), head_only=self.command == "HEAD")

    def _reset(self) -> None:
        """Abort with RST: SO_LINGER 0, then close the descriptor ourselves.

        Detaching first matters: socketserver would otherwise call shutdown(SHUT_WR), which sends FIN
        (a clean EOF) before the RST, and makefile() references would delay the real close.
        """
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        fd = self.connection.detach()
        if fd >= 0:
            socket.close(fd)

    def _hang(self) -> None:
        self.server.owner._stop_event.wait()  # interruptible: stop() sets the event
        self.close_connection = True

    def _send(self, plan: _Plan, *, head_only: bool) -> None:
        stop = self.server.owner._stop_event
        if plan.delay and stop.wait(plan.delay):
            self.close_connection = True
            return
        if plan.reset:
            self._reset()
            return
        if plan.stall:
            self._hang()
            return
        names = {name.lower() for name, _ in plan.headers}
        for name, value in plan.headers:
            if name.lower() == "connection" and "close" in value.lower():
                self.close_connection = True
        lines = [f"HTTP/1.1 {plan.status} {plan.reason}"]
        lines += [f"{name}: {value}" for name, value in plan.headers]
        if plan.chunks is not None:
            lines.append("Transfer-Encoding: chunked")
        elif "content-length" not in names:
            lines.append(f"Content-Length: {len(plan.body)}")
        elif int(_header_dict(plan.headers)["content-length"]) != len(plan.body):
            self.close_connection = True  # deliberately wrong framing: the connection is unusable after
        if self.close_connection and "connection" not in names:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        if plan.chunks is None or head_only:
            self.wfile.write(head if head_only else head + plan.body)
            return
        self.wfile.write(head)
        limits = [n for n in (plan.stall_after_chunks, plan.reset_after_chunks) if n is not None]
        to_send = plan.chunks[: min(limits)] if limits else plan.chunks
        for i, chunk in enumerate(to_send):
            if i and plan.chunk_delay and stop.wait(plan.chunk_delay):
                self.close_connection = True
                return
            if chunk:  # an empty chunk would read as the end of the body
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        # The terminating chunk (or the reset/stall replacing it) also waits chunk_delay, so a client
        # reliably reads the last data chunk before the connection breaks.
        if to_send and plan.chunk_delay and stop.wait(plan.chunk_delay):
            self.close_connection = True
            return
        if plan.reset_after_chunks is not None:
            self._reset()
        elif plan.stall_after_chunks is not None:
            self._hang()
        else:
            self.wfile.write(b"0\r\n\r\n")


class FixtureServer:
    """Threaded loopback HTTP/1.1 server replaying cassettes and scripted responses.

    The port is bound at construction (so ``url`` is known before ``start()``); always ``stop()`` it,
    or use it as a context manager.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._routes: dict[tuple[str, str, str, str | None], list[_Scripted]] = {}
        self._cassette: dict[tuple[str, str, str], dict[str, _Sequence]] = {}
        self._active: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._serve_thread: threading.Thread | None = None
        self._stopped = False
        self.requests: list[ReceivedRequest] = []
        self.errors: list[BaseException] = []
        self.connections_accepted = 0
        self._server = _Server(self)
        self.port: int = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FixtureServer:
        if self._serve_thread is None:
            self._serve_thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._serve_thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, wake stalled handlers, close every connection; returns within ~2 s at worst."""
        if self._stopped:
            return
        self._stopped = True
        self._stop_event.set()
        if self._serve_thread is not None:
            self._server.shutdown()  # would block forever if serve_forever never ran
            self._serve_thread.join(2.0)
        self._server.server_close()
        with self._lock:
            active, threads = list(self._active), list(self._threads)
        for sock in active:
            with contextlib.suppress(OSError):  # unblocks handlers waiting for the next keep-alive request
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 2.0
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> FixtureServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- configuration ---------------------------------------------------------------------------

    def host_url(self, host: str) -> str:
        """Base URL standing for ``https://<host>``."""
        return f"{self.url}{MOUNT_PREFIX}{host.lower()}"

    def add(
        self,
        method: str,
        path: str,
        *,
        host: str = "",
        status: int = 200,
        headers: dict[str, str] | None = None,
        body: bytes | str | list[bytes | str] | None = None,
        json: Any = None,  # None means "no JSON body"; send a JSON null with body="null"
        sse: list[Any] | None = None,
        delay: float = 0.0,
        chunk_delay: float = 0.0,
        stall: bool = False,
        stall_after_chunks: int | None = None,
        reset: bool = False,
        reset_after_chunks: int | None = None,
        times: int | None = None,
    ) -> ScriptedResponse:
        """Script a response for ``method`` + ``path`` (a ``?query`` in path must then match exactly).

        Responses for one route form a FIFO: one with ``times=N`` is used N times and then removed;
        one with ``times=None`` repeats. Scripted routes take precedence over cassettes.
        """
        response = ScriptedResponse(
            status=status,
            headers=headers,
            body=body,
            json=json,
            sse=sse,
            delay=delay,
            chunk_delay=chunk_delay,
            stall=stall,
            stall_after_chunks=stall_after_chunks,
            reset=reset,
            reset_after_chunks=reset_after_chunks,
            times=times,
        )
        self._add_scripted(method, path, host, _Scripted(response, None, times))
        return response

    def add_handler(self, method: str, path: str, fn: Handler, host: str = "", times: int | None = None) -> None:
        """Answer with ``fn(request)`` (called on the connection's thread) for dynamic responses."""
        self._add_scripted(method, path, host, _Scripted(None, fn, times))

    def _add_scripted(self, method: str, path: str, host: str, entry: _Scripted) -> None:
        if entry.remaining is not None and entry.remaining < 1:
            raise ValueError("times must be >= 1 (or None to repeat forever)")
        raw_path, sep, query = path.partition("?")
        key = (method.upper(), host.lower(), _norm_path(raw_path), query if sep else None)
        with self._lock:
            self._routes.setdefault(key, []).append(entry)

    def load_cassette(self, path: str | Path) -> list[RecordedRequest]:
        """Register every interaction of a vcrpy cassette; returns its recorded requests in order."""
        data = yaml.load(Path(path).read_bytes(), Loader=_YAML_LOADER)
        recorded: list[RecordedRequest] = []
        for interaction in data.get("interactions") or []:
            req, resp = interaction["request"], interaction["response"]
            method, uri = str(req["method"]).upper(), str(req["uri"])
            parts = urlsplit(uri)
            host = parts.netloc.lower()
            req_pairs = [(name, str(v)) for name, values in (req.get("headers") or {}).items() for v in values]
            recorded.append(RecordedRequest(method, uri, _header_dict(req_pairs), _as_bytes(req.get("body"))))
            plan = self._replay_plan(resp, host)
            with self._lock:
                by_query = self._cassette.setdefault((method, host, _norm_path(parts.path or "/")), {})
                by_query.setdefault(parts.query, _Sequence()).plans.append(plan)
        return recorded

    def clear(self) -> None:
        """Forget scripted routes, cassettes and recorded requests (the connection counter stays)."""
        with self._lock:
            self._routes.clear()
            self._cassette.clear()
            self.requests.clear()

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[ReceivedRequest]:
        """Wait until at least ``count`` requests were received (useful with stalled responses)."""
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"expected {count} requests, got {len(self.requests)}")
            time.sleep(0.005)
        return list(self.requests)

    # -- cassette replay -------------------------------------------------------------------------

    def rewrite_urls(self, text: bytes) -> bytes:
        """Point ``http(s)://<host>`` URLs at this server's mount for that host."""
        prefix = f"{self.url}{MOUNT_PREFIX}".encode()

        def to_mount(match: re.Match[bytes]) -> bytes:
            host = match.group(1).lower()
            if host.split(b":", 1)[0] in _LOOPBACK_HOSTS:
                return match.group(0)
            return prefix + host

        return _ABSOLUTE_URL.sub(to_mount, text)

    def _replay_plan(self, resp: dict[str, Any], host: str) -> _Plan:
        pairs = _header_pairs(resp.get("headers"))
        lowered = _header_dict(pairs)
        raw_body = resp.get("body")
        if isinstance(raw_body, dict):  # vcrpy stores {"string": ...}
            raw_body = raw_body.get("string", raw_body.get("content"))
        body, keep_encoding = _decode_content(_as_bytes(raw_body), lowered.get("content-encoding", ""))
        if _is_textual(lowered.get("content-type", ""), isinstance(raw_body, str)):
            body = self.rewrite_urls(body)
        headers: list[tuple[str, str]] = []
        for name, value in pairs:
            lname = name.lower()
            if lname in _DROPPED_REPLAY_HEADERS and not (lname == "content-encoding" and keep_encoding):
                continue
            if lname == "location":
                value = self._rewrite_location(value, host)
            headers.append((name, value))
        status = resp.get("status", 200)
        code, reason = (status["code"], status.get("message")) if isinstance(status, dict) else (status, None)
        return _Plan(status=int(code), reason=reason or _reason(int(code)), headers=headers, body=body)

    def _rewrite_location(self, value: str, host: str) -> str:
        # Relative redirects (the Hub's 307s use "/api/models/...") must stay inside the host's mount.
        if value.startswith("/") and not value.startswith("//") and host:
            return f"{self.host_url(host)}{value}"
        return self.rewrite_urls(value.encode("latin-1")).decode("latin-1")

    # -- request handling (called from connection threads) --------------------------------------

    def _connection_opened(self, sock: socket.socket) -> int:
        with self._lock:
            self.connections_accepted += 1
            self._active.add(sock)
            return self.connections_accepted

    def _connection_closed(self, sock: socket.socket) -> None:
        with self._lock:
            self._active.discard(sock)
            self._threads.discard(threading.current_thread())

    def _record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _error_plan(self, status: int, message: str) -> _Plan:
        body = orjson.dumps({"error": message})
        return _Plan(status, _reason(status), [("Content-Type", "application/json")], body)

    def _resolve(self, request: ReceivedRequest) -> _Plan:
        method, host, path = request.method.upper(), request.host, _norm_path(request.path)
        with self._lock:
            entry = self._take_scripted(method, host, path, request.query)
            if entry is None:
                plan = self._take_replay(method, host, path, request.query)
                if plan is not None:
                    return plan
                return self._error_plan(404, f"no fixture for {request.method} {request.url}")
        if entry.handler is None:
            assert entry.response is not None
            return _plan_from_scripted(entry.response)
        try:
            return _plan_from_scripted(entry.handler(request))  # outside the lock: handlers may be slow
        except Exception as exc:
            self.errors.append(exc)
            return self._error_plan(500, f"fixture handler failed: {exc!r}")

    def _take_scripted(self, method: str, host: str, path: str, query: str) -> _Scripted | None:
        for key in ((method, host, path, query), (method, host, path, None)):
            fifo = self._routes.get(key)
            if not fifo:
                continue
            entry = fifo[0]
            if entry.remaining is not None:
                entry.remaining -= 1
                if entry.remaining == 0:
                    fifo.pop(0)
            return entry
        return None

    def _take_replay(self, method: str, host: str, path: str, query: str) -> _Plan | None:
        by_query = self._cassette.get((method, host, path))
        if not by_query:
            return None
        seq = by_query.get(query)
        if seq is None:
            wanted = _norm_query(query)
            seq = next((s for q, s in by_query.items() if _norm_query(q) == wanted), None)
        if seq is None:  # fall back to ignoring the query, preferring the query-less recording
            seq = by_query.get("") or next(iter(by_query.values()))
        return seq.next()
