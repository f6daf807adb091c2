"""HTTP/1.1 response framing, fed any way the network may cut it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omniinfer._http.encoding import accept_encoding
from omniinfer._http.h1 import ResponseParser, encode_request, split_url
from omniinfer._http.h1_parse import KNOWN_LINE_MAX_CHARS, KNOWN_LINES_MAX, parse_header_lines
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


def test_cached_request_heads_are_the_uncached_bytes_and_follow_changed_headers() -> None:
    from omniinfer._http.h1 import RequestEncoder

    heads = RequestEncoder()
    urls = ["http://h/v1", "https://h:8443/a?b=1", "http://[::1]:81/"]
    header_sets = [{}, {"authorization": "Bearer t", "x-a": "1"}, {"host": "other", "accept-encoding": "identity"}]
    for method in ("GET", "POST", "HEAD"):
        for url in urls:
            for headers in header_sets:
                for body in (None, b"", b'{"a": 1}'):
                    for proxy in (None, "", "Basic cDpx"):
                        plain = encode_request(method, url, headers, body, proxy)
                        assert heads.encode(method, url, headers, body, proxy) == plain  # made
                        assert heads.encode(method, url, headers, body, proxy) == plain  # reused
    # The same dict, changed between calls: the head follows it, and an injected value is still refused.
    headers = {"x-a": "1"}
    assert b"x-a: 1\r\n" in heads.encode("POST", "http://h/v1", headers, b"ab", None)
    headers["x-a"] = "2"
    headers["x-b"] = "a\r\nInjected: 1"
    with pytest.raises(ValueError, match="line break or NUL"):
        heads.encode("POST", "http://h/v1", headers, b"ab", None)
    del headers["x-b"]
    assert b"x-a: 2\r\n" in heads.encode("POST", "http://h/v1", headers, b"ab", None)
    unhashable: dict[str, Any] = {"x-a": ["not", "hashable"]}
    assert b"x-a: ['not', 'hashable']\r\n" in heads.encode("GET", "http://h/", unhashable, None, None)
    for i in range(3 * RequestEncoder.LIMIT):  # URLs with ids in them: the heads kept stay bounded
        heads.encode("GET", f"http://h/jobs/{i}", {}, None, None)
    assert len(heads._heads) <= RequestEncoder.LIMIT


_HEADER_NAME = st.sampled_from(["Server", "Date", "Vary", "Set-Cookie", "X-Request-Id", "content-type", "X-A"])
_HEADER_VALUE = st.text("abcXYZ019 ;=,-", max_size=12) | st.text("ab", min_size=250, max_size=400)


@given(st.lists(st.lists(st.tuples(_HEADER_NAME, _HEADER_VALUE), max_size=8), min_size=1, max_size=30))
def test_header_lines_known_from_earlier_answers_read_as_new_ones(heads: list[list[tuple[str, str]]]) -> None:
    """A connection remembers the header lines it parsed: a head read with them is the head read
    without them, repeats joined alike; Set-Cookie lines are never kept, and the memory stays bounded
    (so many lines, so long each, whatever a server sends)."""
    known: dict[str, tuple[str, str]] = {}
    for lines in heads:
        raw = ("HTTP/1.1 200 OK\r\n" + "".join(f"{n}: {v}\r\n" for n, v in lines) + "\r\n").encode("latin-1")
        assert parse_header_lines(raw, known) == parse_header_lines(raw)
        assert len(known) <= KNOWN_LINES_MAX
        assert not any(key == "set-cookie" for key, _ in known.values())
        assert all(len(line) <= KNOWN_LINE_MAX_CHARS for line in known)


def test_a_connection_reads_its_second_answer_from_the_lines_it_knows() -> None:
    parser = ResponseParser()
    raw = b"HTTP/1.1 200 OK\r\nServer: s\r\nSet-Cookie: id=1\r\nVary: a\r\nVary: b\r\nContent-Length: 2\r\n\r\nok"
    for _ in range(2):
        parser.receive(raw)
        head = parser.head("POST")
        assert head is not None and parser.body() == b"ok" and parser.complete
        assert head.headers == {"server": "s", "set-cookie": "id=1", "vary": "a, b", "content-length": "2"}
        parser.reset()
