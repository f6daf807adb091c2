"""The optional parts of the wire (docs/reliability.md, rows 11 and 12), with their modules installed:
zstd and br answers and streams, bombs and broken bodies in those codings, and the operating system's
trust store through truststore. Both clients, against raw loopback servers (tests/hostile.py)."""

from __future__ import annotations

import gzip
import random
import ssl
import sys
import tracemalloc
import types
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import brotli
import orjson
import pytest
import truststore
import zstandard

from certs import make_certs
from clients import Runner
from hostile import RawConnection, RawServer, answer, tls_raw_server
from omniinfer import IncompleteStreamError, InferenceConnectionError, ProtocolError, ResponseTooLargeError
from omniinfer._core import optional
from omniinfer._http import encoding, h1, tls
from samples import DONE, HI, chunk, completion

OK = orjson.dumps(completion("ok"))
ZSTD_MODULES = ("compression.zstd", "backports.zstd", "zstandard")
BROTLI_MODULES = ("brotli", "brotlicffi")
TRUST_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


# Servers and bodies


def _serve_each(reply: bytes) -> RawServer:
    """Every request on every connection gets `reply`."""

    def script(conn: RawConnection, index: int) -> None:
        while conn.read_request() is not None:
            conn.send(reply)

    return RawServer(script)


def _serve_in_turn(*replies: bytes) -> RawServer:
    """The requests on a connection get `replies` in order."""

    def script(conn: RawConnection, index: int) -> None:
        for reply in replies:
            if conn.read_request() is None:
                return
            conn.send(reply)

    return RawServer(script)


def _chunked(coded: bytes, coding: str, size: int) -> bytes:
    """An event stream whose coded body goes out in chunks of `size` bytes."""
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
        f"Content-Encoding: {coding}\r\n\r\n"
    ).encode()
    pieces = (coded[i : i + size] for i in range(0, len(coded), size))
    return head + b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def _coded_answer(coded: bytes, coding: str) -> bytes:
    return answer(coded, headers=f"Content-Encoding: {coding}\r\n")


def _events(count: int) -> list[bytes]:
    return [b"data: " + orjson.dumps(chunk(f"t{i}")) + b"\n\n" for i in range(count)] + [DONE.encode()]


def _compress(coding: str, data: bytes) -> bytes:
    return brotli.compress(data, quality=5) if coding == "br" else zstandard.ZstdCompressor().compress(data)


def _compress_flushed(coding: str, events: list[bytes]) -> bytes:
    """One coded stream flushed after each event, as a streaming server sends it."""
    if coding == "br":
        br = brotli.Compressor()
        return b"".join([*(br.process(event) + br.flush() for event in events), br.finish()])
    zstd = zstandard.ZstdCompressor().compressobj()
    flush = zstandard.COMPRESSOBJ_FLUSH_BLOCK
    return b"".join(zstd.compress(event) + zstd.flush(flush) for event in events) + zstd.flush()


@cache
def _bomb(coding: str, fill: bytes) -> bytes:
    """256 MiB of `fill`, coded (zstd: ~8 KiB; br: ~50 KiB), made without holding 256 MiB."""
    piece = fill * (1 << 20)
    if coding == "br":
        br = brotli.Compressor(quality=1)
        return b"".join([*(br.process(piece) for _ in range(256)), br.finish()])
    zstd = zstandard.ZstdCompressor(level=1).compressobj()
    return b"".join(zstd.compress(piece) for _ in range(256)) + zstd.flush()


@contextmanager
def _allocated() -> Iterator[list[int]]:
    """The peak of Python-allocated memory (C extensions' output included) during the block, in bytes."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    peak: list[int] = []
    try:
        yield peak
    finally:
        peak.append(tracemalloc.get_traced_memory()[1] - base)
        if started:
            tracemalloc.stop()


# Which module decodes: every one encoding.py looks for that is installed here, each in turn


def _forget_modules() -> None:
    """The coding modules are looked up once per process: again from now on."""
    optional.zstd_module.cache_clear()
    encoding._brotli_module.cache_clear()


@pytest.fixture
def fresh_lookups() -> Iterator[None]:
    """Accept-Encoding and the modules behind it are found once per process: again for this test
    (which may hide some of them), and again after it."""
    for cached in (encoding.accept_encoding, h1._accept_encoding_line):
        cached.cache_clear()
    _forget_modules()
    yield
    for cached in (encoding.accept_encoding, h1._accept_encoding_line):
        cached.cache_clear()
    _forget_modules()


CODECS = [("zstd", "zstandard"), ("zstd", "backports.zstd"), ("br", "brotli")]


@pytest.fixture(params=CODECS, ids=["zstd-zstandard", "zstd-backports.zstd", "br-brotli"])
def coding(request: pytest.FixtureRequest, fresh_lookups: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The Content-Encoding under test, with only the module named by the parameter importable (the
    request still asks for every coding installed: Accept-Encoding is computed before that)."""
    name, module = request.param
    h1._accept_encoding_line()
    for other in (*ZSTD_MODULES, *BROTLI_MODULES):
        if other != module:
            monkeypatch.setitem(sys.modules, other, None)  # importing it now raises ImportError
    _forget_modules()
    chosen = optional.zstd_module() if name == "zstd" else encoding._brotli_module()
    assert chosen is not None and chosen.__name__ == module
    return str(name)


@pytest.fixture(params=["zstandard", "backports.zstd"])
def zstd_coding(request: pytest.FixtureRequest, fresh_lookups: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """zstd, decoded by the module named by the parameter."""
    for other in ZSTD_MODULES:
        if other != request.param:
            monkeypatch.setitem(sys.modules, other, None)
    _forget_modules()
    assert optional.zstd_module().__name__ == request.param
    return "zstd"


# Row 12: zstd and br


def test_zstd_and_br_answers_and_streams_split_small_are_decoded(
    kind: str, coding: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = _events(30)
    text = random.Random(0).randbytes(3 << 19).hex()  # 3 MiB that codes to ~1.5 MiB
    big = orjson.dumps(completion(text))  # near the limit: decoded in many small bounded steps, all of it
    monkeypatch.setenv("OMNIINFER_MAX_RESPONSE_BYTES", str(4 << 20))
    replies = (
        _coded_answer(_compress(coding, OK), coding),
        _chunked(_compress_flushed(coding, events), coding, 5),
        _chunked(_compress_flushed(coding, events), coding, 1),
        _coded_answer(_compress(coding, big), coding),
    )
    with _serve_in_turn(*replies) as server, Runner(kind, server.url, max_retries=0) as run:
        assert run("chat_completion", HI).choices[0].message.content == "ok"
        for _ in range(2):
            deltas = [c.choices[0].delta.content for c in run("chat_completion", HI, stream=True)]
            assert deltas == [f"t{i}" for i in range(30)]
        assert run("chat_completion", HI).choices[0].message.content == text
    assert server.accepted == 1  # each answer was read to its end: the connection went back to the pool
    assert all(b"\r\naccept-encoding: gzip, deflate, zstd, br" in head.lower() for head in server.requests)


def test_codings_stacked_on_one_body_are_undone_last_first(kind: str, coding: str) -> None:
    coded = gzip.compress(_compress(coding, OK))
    with _serve_each(_coded_answer(coded, f"{coding}, gzip")) as server, Runner(kind, server.url) as run:
        assert run("chat_completion", HI).choices[0].message.content == "ok"


def test_a_zstd_body_of_several_frames_is_decoded_whole(kind: str, zstd_coding: str) -> None:
    zstd = zstandard.ZstdCompressor()
    body = zstd.compress(OK[:20]) + zstd.compress(OK[20:])
    events = _events(12)
    stream = b"".join(zstd.compress(event) for event in events)  # a frame per event
    replies = (_coded_answer(body, "zstd"), _chunked(stream, "zstd", 3), _chunked(stream, "zstd", len(stream)))
    with _serve_in_turn(*replies) as server, Runner(kind, server.url, max_retries=0) as run:
        assert run("chat_completion", HI).choices[0].message.content == "ok"
        for _ in range(2):
            deltas = [c.choices[0].delta.content for c in run("chat_completion", HI, stream=True)]
            assert deltas == [f"t{i}" for i in range(12)]


def test_a_gzip_body_of_several_members_is_decoded_whole(kind: str) -> None:
    body = gzip.compress(OK[:20]) + gzip.compress(OK[20:])
    events = _events(12)
    stream = b"".join(gzip.compress(event) for event in events)  # a member per event
    replies = (
        _coded_answer(body, "gzip"),
        _coded_answer(gzip.compress(OK) + b"\x00 trailing bytes, not a member", "gzip"),  # dropped
        _chunked(stream, "gzip", 3),
        _chunked(stream, "gzip", len(stream)),
    )
    with _serve_in_turn(*replies) as server, Runner(kind, server.url, max_retries=0) as run:
        assert run("chat_completion", HI).choices[0].message.content == "ok"
        assert run("chat_completion", HI).choices[0].message.content == "ok"
        for _ in range(2):
            deltas = [c.choices[0].delta.content for c in run("chat_completion", HI, stream=True)]
            assert deltas == [f"t{i}" for i in range(12)]


def test_a_gzip_bomb_in_later_members_stops_at_the_limit(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNIINFER_MAX_RESPONSE_BYTES", str(1 << 20))
    member = gzip.compress(b" " * (1 << 20), compresslevel=9)  # 1 MiB from ~1 KiB
    body = gzip.compress(OK) + member * 64
    with _serve_each(_coded_answer(body, "gzip")) as server, Runner(kind, server.url, max_retries=0) as run:
        with _allocated() as peak, pytest.raises(ResponseTooLargeError):
            run("chat_completion", HI)
    assert peak[0] < 24 << 20


@pytest.mark.parametrize("window_log", [23, 24])
def test_a_zstd_window_past_8_mib_is_refused(kind: str, zstd_coding: str, window_log: int) -> None:
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=window_log, write_content_size=False)
    coded = zstandard.ZstdCompressor(compression_params=params).compressobj()
    body = coded.compress(OK) + coded.flush()  # no content size: the header declares the whole window
    with _serve_each(_coded_answer(body, "zstd")) as server, Runner(kind, server.url, max_retries=0) as run:
        if window_log <= 23:  # RFC 9659: 8 MiB at most
            assert run("chat_completion", HI).choices[0].message.content == "ok"
        else:
            with pytest.raises(ProtocolError, match="Undecodable zstd"):
                run("chat_completion", HI)


@pytest.mark.parametrize("shape", ["answer", "stream"])
def test_a_bomb_stops_at_the_limit_without_being_decoded(
    kind: str, coding: str, shape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """256 MiB once decoded, from a few KiB on the wire; the limit is 1 MiB. A stream has no whole-body
    limit, but one piece of it may not decode to more than a whole body may hold; its bomb is blank
    lines, which the event decoder would accept forever."""
    monkeypatch.setenv("OMNIINFER_MAX_RESPONSE_BYTES", str(1 << 20))
    if shape == "answer":
        reply = _coded_answer(_bomb(coding, b" "), coding)
    else:
        reply = _chunked(_bomb(coding, b"\n"), coding, 16384)
    with _serve_each(reply) as server, Runner(kind, server.url, max_retries=0) as run:
        with _allocated() as peak, pytest.raises(ResponseTooLargeError, match="OMNIINFER_MAX_RESPONSE_BYTES"):
            run("chat_completion", HI, stream=shape == "stream")
    assert peak[0] < 24 << 20, f"{peak[0] >> 20} MiB allocated while refusing a bomb"


@pytest.mark.parametrize("shape", ["answer", "stream"])
@pytest.mark.parametrize("damage", ["corrupt", "cut"])
def test_a_corrupt_or_cut_body_is_a_protocol_error(kind: str, coding: str, shape: str, damage: str) -> None:
    if shape == "answer":
        coded = _compress(coding, OK * 3)
    else:
        coded = _compress_flushed(coding, _events(8))
    if damage == "corrupt":
        half = len(coded) // 2
        coded = coded[:half] + bytes(byte ^ 0xFF for byte in coded[half:])
        message = f"Undecodable {coding}"
    else:
        coded = coded[:-3]
        message = f"The {coding} response body ended before its end"
    reply = _coded_answer(coded, coding) if shape == "answer" else _chunked(coded, coding, 7)
    with _serve_each(reply) as server, Runner(kind, server.url, max_retries=0) as run:
        with pytest.raises(ProtocolError, match=message):
            run("chat_completion", HI, stream=shape == "stream")


def test_an_empty_coded_body_is_an_empty_body(kind: str, coding: str) -> None:
    """Some servers label even a bodiless answer with its coding: nothing came, nothing to undo (the
    stream is then empty, not undecodable)."""
    with _serve_each(_chunked(b"", coding, 1)) as server, Runner(kind, server.url, max_retries=0) as run:
        with pytest.raises(IncompleteStreamError, match="no event came"):
            run("chat_completion", HI, stream=True)


# Accept-Encoding names only what can be decoded


def test_accept_encoding_names_only_the_codings_that_can_be_decoded(
    kind: str, fresh_lookups: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert encoding.accept_encoding() == "gzip, deflate, zstd, br"
    encoding.accept_encoding.cache_clear()
    h1._accept_encoding_line.cache_clear()
    _forget_modules()
    for name in (*ZSTD_MODULES, "brotlicffi"):
        monkeypatch.setitem(sys.modules, name, None)
    # A brotli older than 1.2: its decoder cannot stop at a limit, so it would decode a bomb whole.
    old_brotli = types.ModuleType("brotli")
    old_brotli.Decompressor = type("Decompressor", (), {"process": lambda self, data: data})  # type: ignore[attr-defined]
    old_brotli.error = Exception  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "brotli", old_brotli)
    with (
        _serve_each(_coded_answer(brotli.compress(OK), "br")) as server,
        Runner(kind, server.url, max_retries=0) as run,
    ):
        with pytest.raises(ProtocolError, match="'br', which was not asked for"):
            run("chat_completion", HI)
    assert b"\r\naccept-encoding: gzip, deflate\r\n" in server.requests[0].lower()


# Row 11: the operating system's trust store through truststore


@pytest.fixture
def trust_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No variable names a CA bundle; the TLS context is made anew in the test and after it."""
    for name in TRUST_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    tls.default_context.cache_clear()
    yield
    tls.default_context.cache_clear()


@pytest.mark.parametrize(
    "setting",
    ["nothing", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "no truststore"],
)
def test_truststore_is_used_exactly_when_no_variable_names_the_certificates(
    trust_env: None, setting: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ca = make_certs(tmp_path)[0]
    if setting == "no truststore":
        monkeypatch.setitem(sys.modules, "truststore", None)
    elif setting != "nothing":
        monkeypatch.setenv(setting, str(tmp_path if setting.endswith("_DIR") else ca))
    context = tls.default_context()
    assert (type(context) is truststore.SSLContext) == (setting == "nothing")
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    if setting == "REQUESTS_CA_BUNDLE":
        assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "omniinfer test CA"),),)]


@pytest.mark.parametrize("through", ["truststore", "no truststore"])
def test_truststore_trusts_what_the_os_store_trusts_at_each_connection(
    kind: str, through: str, trust_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """On Linux the OS store truststore asks is OpenSSL's default one, which SSL_CERT_FILE moves (the
    machine's own store is left alone). The context is made first, from no variable (row 3 of tls.py);
    the store then gains the test CA: truststore asks the store at each connection and trusts it, a plain
    OpenSSL context read it once and does not. A certificate from a CA the store lacks stays refused."""
    if through == "no truststore":
        monkeypatch.setitem(sys.modules, "truststore", None)
    context = tls.default_context()
    assert (type(context) is truststore.SSLContext) == (through == "truststore")
    with tls_raw_server(tmp_path / "a", OK) as (url, ca), tls_raw_server(tmp_path / "b", OK) as (stranger, _):
        with Runner(kind, url, max_retries=0) as run, pytest.raises(InferenceConnectionError) as before:
            run("chat_completion", HI)
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # the OS store now holds the test CA
        with Runner(kind, url, max_retries=0) as run:
            if through == "truststore":
                assert run("chat_completion", HI).choices[0].message.content == "ok"
            else:
                with pytest.raises(InferenceConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
                    run("chat_completion", HI)
        with Runner(kind, stranger, max_retries=0) as run, pytest.raises(InferenceConnectionError) as after:
            run("chat_completion", HI)
    assert tls.default_context() is context  # one context throughout
    for caught in (before, after):
        assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value) and not isinstance(caught.value, ProtocolError)


@pytest.mark.parametrize("content", [None, b"not a certificate\n"], ids=["missing", "no-certificate"])
def test_a_ca_bundle_that_cannot_be_used_is_a_typed_error_naming_it(
    kind: str, content: bytes | None, trust_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle.pem"
    if content is not None:
        bundle.write_bytes(content)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    with tls_raw_server(tmp_path / "a", OK) as (url, _), Runner(kind, url, max_retries=0) as run:
        with pytest.raises(InferenceConnectionError, match=r"REQUESTS_CA_BUNDLE=.*cannot be used as CA certificates"):
            run("chat_completion", HI)
