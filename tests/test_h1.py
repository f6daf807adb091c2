"""HTTP/1.1 response framing, fed any way the network may cut it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omniinfer._http.encoding import accept_encoding
from omniinfer._http.h1 import ResponseParser, encode_request, split_url
from omniinfer.errors import InferenceConnectionError, ProtocolError
from probes import split_at


def parse(pieces: list[bytes], method: str = "POST") -> tuple[int, dict[str, str], bytes, bool]:
    parser = ResponseParser()
    body = b""
    head = None
    for piece in pieces:
        parser.receive(piece)
        head = head or parser.head(method)
        if head is not None:
            body += parser.body()
    if head is not None and not parser.complete:
        parser.eof()
        body += parser.body()
    assert head is not None
    return head.status, head.headers, body, head.keep_alive


CHUNKED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"7\r\ndata: a\r\n4;ext=1\r\n\n\nxy\r\n0\r\nTrailer: t\r\n\r\n"
)


def test_content_length() -> None:
    raw = b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-Request-Id: r1\r\n\r\nhello"
    assert parse([raw]) == (201, {"content-length": "5", "x-request-id": "r1"}, b"hello", True)


@given(st.data())
def test_chunked_split_at_any_boundaries(data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(CHUNKED)), max_size=8))
    status, _, body, keep_alive = parse(split_at(CHUNKED, cuts))
    assert (status, body, keep_alive) == (200, b"data: a\n\nxy", True)


def test_every_single_byte_boundary() -> None:
    for cut in range(len(CHUNKED) + 1):
        assert parse([CHUNKED[:cut], CHUNKED[cut:]])[2] == b"data: a\n\nxy"


def test_read_until_close_and_connection_close() -> None:
    status, _, body, keep_alive = parse([b"HTTP/1.0 200 OK\r\n\r\nabc", b"def"])
    assert (status, body, keep_alive) == (200, b"abcdef", False)
    assert parse([b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"])[3] is False


def test_interim_100_continue_is_skipped() -> None:
    raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
    status, _, body, _ = parse([raw])
    assert (status, body) == (204, b"")


def test_repeated_headers_are_joined() -> None:
    raw = b"HTTP/1.1 200 OK\r\nVary: a\r\nVary: b\r\nContent-Length: 0\r\n\r\n"
    assert parse([raw])[1]["vary"] == "a, b"


def test_truncated_body_is_an_error_not_a_short_answer() -> None:
    parser = ResponseParser()
    parser.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    assert parser.head() is not None
    assert parser.body() == b"abc"
    with pytest.raises(InferenceConnectionError, match="before the response was complete"):
        parser.eof()


def test_garbage_is_an_error() -> None:
    parser = ResponseParser()
    parser.receive(b"SSH-2.0-OpenSSH\r\n\r\n")
    with pytest.raises(ProtocolError, match="Malformed response head"):
        parser.head()


def test_request_encoding() -> None:
    raw = encode_request("POST", "https://h.example:8443/a/b?x=1", {"content-type": "application/json"}, b"{}")
    assert raw == (
        b"POST /a/b?x=1 HTTP/1.1\r\nHost: h.example:8443\r\ncontent-type: application/json\r\n"
        + f"Accept-Encoding: {accept_encoding()}\r\n".encode()
        + b"Content-Length: 2\r\n\r\n{}"
    )
    for bad in ("a\r\nInjected: 1", "a\nb", "a\x00b"):
        with pytest.raises(ValueError, match="line break or NUL"):
            encode_request("GET", "http://h/", {"x": bad}, None)
    with pytest.raises(ValueError, match="absolute"):
        split_url("ftp://h/")
