"""HTTP/1.1 framing, sans-I/O: request heads out, response heads and body bytes in.

Both drivers (blocking sockets, asyncio) feed this one parser, so framing rules (Content-Length,
chunked, read-until-close, keep-alive, 1xx) live in one place.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urlsplit

from omniinfer.errors import InferenceConnectionError, MalformedResponseError

_MAX_HEAD = 256 * 1024  # a head larger than this is not HTTP we want to parse


def max_response_bytes() -> int:
    """The most a whole (non-stream) body may hold: 512 MiB unless OMNIINFER_MAX_RESPONSE_BYTES says."""
    return int(os.environ.get("OMNIINFER_MAX_RESPONSE_BYTES", 512 * 1024 * 1024))


class ResponseTooLargeError(MalformedResponseError):
    """A body beyond the size limit: reading on would only exhaust memory."""


class Origin(NamedTuple):
    scheme: str
    host: str
    port: int

    @property
    def tls(self) -> bool:
        return self.scheme == "https"


@lru_cache(maxsize=512)
def split_url(url: str) -> tuple[Origin, str, str]:
    """(origin, request-target, Host header value) of an absolute http(s) URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"Expected an absolute http:// or https:// URL, got {url!r}")
    default_port = 443 if scheme == "https" else 80
    port = parts.port or default_port
    host = parts.hostname
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    host_header = host if ":" not in host else f"[{host}]"
    if port != default_port:
        host_header += f":{port}"
    return Origin(scheme, host, port), target, host_header


def encode_request(
    method: str, url: str, headers: dict[str, str], body: bytes | None, proxy_authorization: str | None = None
) -> bytes:
    """The bytes of one request: head and body together, so small requests go out in one write.

    `proxy_authorization` is given for an http URL sent through a proxy: the request line then holds
    the absolute URL, as proxies expect, and the proxy's credentials go along (empty: none needed).
    """
    _, target, host_header = split_url(url)
    if proxy_authorization is not None:
        target = url
    lines = [f"{method} {target} HTTP/1.1\r\nHost: {host_header}\r\n"]
    if proxy_authorization:
        lines.append(f"Proxy-Authorization: {proxy_authorization}\r\n")
    for name, value in headers.items():
        if "\r" in value or "\n" in value:
            raise ValueError(f"Header {name!r} holds a line break")
        lines.append(f"{name}: {value}\r\n")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}\r\n\r\n")
        head = "".join(lines).encode("latin-1")
        return head + body
    lines.append("\r\n" if method in ("GET", "HEAD") else "Content-Length: 0\r\n\r\n")
    return "".join(lines).encode("latin-1")


class Head:
    """A response's status line and headers (lower-cased names; repeated headers joined by ", ").

    `framed`: the body's end is marked (Content-Length, chunked), so reaching it proves the server
    finished; False for a body that lasts until the connection closes (a cut looks the same).
    """

    __slots__ = ("framed", "headers", "keep_alive", "reason", "status")

    def __init__(
        self, status: int, reason: str, headers: dict[str, str], keep_alive: bool, framed: bool = True
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.keep_alive = keep_alive
        self.framed = framed


_CHUNK_SIZE, _CHUNK_DATA, _CHUNK_CRLF, _TRAILERS = range(4)


class ResponseParser:
    """Parses one response at a time from a connection's bytes.

    `receive` takes bytes from the socket; `head()` returns the head once complete; `body()` returns
    the body bytes decoded so far (framing removed); `complete` is True once the message has ended;
    `eof()` tells the parser the peer closed.
    """

    __slots__ = (
        "_buf",
        "_chunk_left",
        "_chunk_state",
        "_head",
        "_mode",
        "_pos",
        "_remaining",
        "_taken",
        "body_limit",
        "complete",
    )

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0
        self.reset()

    def reset(self) -> None:
        """Ready for the next response on the same connection (keeps unread bytes only)."""
        if self._pos and self._pos >= len(self._buf):
            self._buf = bytearray()  # an idle pooled connection should not hold its last answer
            self._pos = 0
        self._head: Head | None = None
        self._mode = ""
        self._remaining = 0
        self._chunk_state = _CHUNK_SIZE
        self._chunk_left = 0
        self._taken = 0
        self.body_limit: int | None = None  # set by readers of whole bodies; streams have none
        self.complete = False

    def receive(self, data: bytes) -> None:
        if self._pos > 65536 and self._pos * 2 > len(self._buf):
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._pos

    def head(self, method: str = "POST") -> Head | None:
        if self._head is not None:
            return self._head
        while True:
            end = self._buf.find(b"\r\n\r\n", self._pos)
            if end < 0:
                if len(self._buf) - self._pos > _MAX_HEAD:
                    raise InferenceConnectionError("Response head too large")
                return None
            raw = bytes(self._buf[self._pos : end]).decode("latin-1")
            self._pos = end + 4
            head = _parse_head(raw)
            if 100 <= head.status < 200:  # interim answer (100 Continue): the real one follows
                continue
            break
        self._head = head
        headers = head.headers
        if method in ("HEAD", "CONNECT") or head.status in (204, 304):
            self._mode = "none"
            self.complete = True
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self._mode = "chunked"
        elif "content-length" in headers:
            try:
                self._remaining = int(headers["content-length"])
            except ValueError:
                raise InferenceConnectionError("Invalid Content-Length in response") from None
            self._mode = "length"
            self.complete = self._remaining == 0
        else:
            self._mode = "close"
            head.keep_alive = False
            head.framed = False
        return head

    def body(self) -> bytes:
        """Body bytes available now, framing removed (b"" when none)."""
        piece = self._body()
        if self.body_limit is not None and piece:
            self._taken += len(piece)
            if self._taken > self.body_limit:
                raise ResponseTooLargeError(
                    f"The response body is larger than {self.body_limit} bytes (OMNIINFER_MAX_RESPONSE_BYTES)"
                )
        return piece

    def _body(self) -> bytes:
        if self._mode == "length":
            take = min(self._remaining, len(self._buf) - self._pos)
            if not take:
                return b""
            out = bytes(self._buf[self._pos : self._pos + take])
            self._pos += take
            self._remaining -= take
            if self._remaining == 0:
                self.complete = True
            return out
        if self._mode == "chunked":
            return self._chunked()
        if self._mode == "close":
            out = bytes(self._buf[self._pos :])
            self._pos = len(self._buf)
            return out
        return b""

    def eof(self) -> None:
        """The peer closed. Fine for read-until-close bodies; anything else is a truncated answer."""
        if self._mode == "close":
            self.complete = True
        elif not self.complete:
            raise InferenceConnectionError("Connection closed before the response was complete")

    def _chunked(self) -> bytes:
        buf, pos, pieces = self._buf, self._pos, []
        while True:
            state = self._chunk_state
            if state == _CHUNK_DATA:
                take = min(self._chunk_left, len(buf) - pos)
                if take == 0:
                    break
                pieces.append(bytes(buf[pos : pos + take]))
                pos += take
                self._chunk_left -= take
                if self._chunk_left == 0:
                    self._chunk_state = _CHUNK_CRLF
                continue
            end = buf.find(b"\r\n", pos)
            if end < 0:
                break
            line = bytes(buf[pos:end])
            pos = end + 2
            if state == _CHUNK_SIZE:
                try:
                    size = int(line.split(b";", 1)[0], 16)
                except ValueError:
                    raise InferenceConnectionError("Invalid chunk size in response") from None
                if size == 0:
                    self._chunk_state = _TRAILERS
                else:
                    self._chunk_left = size
                    self._chunk_state = _CHUNK_DATA
            elif state == _CHUNK_CRLF:
                self._chunk_state = _CHUNK_SIZE
            elif not line:  # the blank line after the (usually absent) trailers ends the message
                self.complete = True
                break
        self._pos = pos
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def _parse_head(raw: str) -> Head:
    lines = raw.split("\r\n")
    status_line = lines[0].split(" ", 2)
    if len(status_line) < 2 or not status_line[0].startswith("HTTP/"):
        raise InferenceConnectionError(f"Not an HTTP response: {lines[0][:80]!r}")
    try:
        status = int(status_line[1])
    except ValueError:
        raise InferenceConnectionError(f"Invalid status line: {lines[0][:80]!r}") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            continue
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    connection = headers.get("connection", "").lower()
    if status_line[0] == "HTTP/1.0":
        keep_alive = "keep-alive" in connection
    else:
        keep_alive = "close" not in connection
    return Head(status, status_line[2] if len(status_line) > 2 else "", headers, keep_alive)
