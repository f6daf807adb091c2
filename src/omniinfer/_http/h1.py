"""HTTP/1.1, sans-I/O: request heads out, response heads and body bytes in.

Both drivers (blocking sockets, asyncio) feed one parser, so framing rules (Content-Length,
chunked, read-until-close, keep-alive, 1xx) live in one place. The framing is llhttp's (through
`httptools`), or h11's where httptools cannot be imported (or `OMNIINFER_HTTP_PARSER=h11`); the
connection code, limits and content decoding around it are ours (`h1_parse`).
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from omniinfer._http.h1_parse import Head, ParserBase
from omniinfer.errors import ResponseTooLargeError

__all__ = ["Head", "Origin", "RequestEncoder", "ResponseParser", "ResponseTooLargeError", "encode_request", "split_url"]


def max_response_bytes() -> int:
    """The most a whole (non-stream) body may hold: 512 MiB unless OMNIINFER_MAX_RESPONSE_BYTES says."""
    return int(os.environ.get("OMNIINFER_MAX_RESPONSE_BYTES", 512 * 1024 * 1024))


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
    (Transports use a `RequestEncoder`, which makes the same bytes and keeps the heads it made.)
    """
    head = _encoded_head(method, url, headers, proxy_authorization, _accept_encoding_line())
    return _with_body(head, method, body)


def _with_body(head: bytes, method: str, body: bytes | None) -> bytes:
    if body is not None:
        return b"%bContent-Length: %d\r\n\r\n%b" % (head, len(body), body)
    if method not in ("GET", "HEAD"):
        return head + b"Content-Length: 0\r\n\r\n"
    return head + b"\r\n"


class RequestEncoder:
    """`encode_request` for one transport, keeping the request heads (up to Content-Length) it made
    by what they are made of: a client's calls differ mostly in their body, and building and
    checking the same head again cost most of the encoding (measured: 3.5 of 3.8 µs). Keyed by the
    headers' content, not by the dict, so a head cannot go stale when `client.headers` changes. Kept
    by the transport rather than the module, so the credentials in them live no longer than the
    client."""

    __slots__ = ("_heads",)

    LIMIT = 64  # distinct heads kept (URLs with ids in them would otherwise grow it without end)

    def __init__(self) -> None:
        self._heads: dict[tuple[Any, ...], bytes] = {}

    def encode(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        proxy_authorization: str | None = None,
    ) -> bytes:
        accept = _accept_encoding_line()
        try:
            key = (method, url, tuple(headers.items()), proxy_authorization, accept)
            head = self._heads.get(key)
        except TypeError:  # an unhashable header value (put in `client.headers` after it was checked)
            return encode_request(method, url, headers, body, proxy_authorization)
        if head is None:
            head = _encoded_head(method, url, headers, proxy_authorization, accept)
            if len(self._heads) >= self.LIMIT:
                self._heads.clear()
            self._heads[key] = head
        return _with_body(head, method, body)


def _encoded_head(
    method: str, url: str, headers: dict[str, str], proxy_authorization: str | None, accept: str
) -> bytes:
    """The request line and headers, up to (not including) Content-Length and the blank line;
    `accept` is the Accept-Encoding line sent unless the headers name one."""
    _, target, host_header = split_url(url)
    if proxy_authorization is not None:
        target = url
    host_header = headers.get("host", host_header)  # names are lower-case here (see _core/headers)
    lines = [f"{method} {target} HTTP/1.1\r\n", f"Host: {host_header}\r\n"]
    if proxy_authorization:
        lines.append(f"Proxy-Authorization: {proxy_authorization}\r\n")
    for name, value in headers.items():
        if name != "host":
            lines.append(f"{name}: {value}\r\n")
    if "accept-encoding" not in headers:
        lines.append(accept)
    head = "".join(lines)
    # Each line brought one CRLF: any other CR, LF or NUL came from a value (header injection).
    # Counted over the whole head at once; the header to blame is looked for only on failure.
    line_ends = len(lines)
    if head.count("\r") != line_ends or head.count("\n") != line_ends or "\0" in head:
        _refuse_injection(headers, proxy_authorization, host_header)
    return head.encode("latin-1")


def _refuse_injection(headers: dict[str, str], proxy_authorization: str | None, host_header: str) -> None:
    values = {**headers, "host": host_header, "proxy-authorization": proxy_authorization or ""}
    for name, value in values.items():
        if "\r" in value or "\n" in value or "\0" in value:
            raise ValueError(f"Header {name!r} holds a line break or NUL character")
    raise ValueError("The request line holds a line break or NUL character")


@lru_cache(maxsize=1)
def _accept_encoding_line() -> str:
    from omniinfer._http.encoding import accept_encoding

    return f"Accept-Encoding: {accept_encoding()}\r\n"


def _parser_class() -> type[ParserBase]:
    if os.environ.get("OMNIINFER_HTTP_PARSER", "").lower() != "h11":
        try:
            from omniinfer._http.h1_llhttp import LlhttpParser

            return LlhttpParser
        except ImportError:  # no httptools wheel for this platform: the pure-Python parser
            pass
    from omniinfer._http.h1_h11 import H11Parser

    return H11Parser


ResponseParser = _parser_class()
