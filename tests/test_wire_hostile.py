"""What the wire refuses: one test per row of docs/reliability.md, on both clients, against raw loopback
servers that send what hostile or buggy servers send."""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from clients import Runner
from hostile import RawConnection, RawServer, answer, tls_raw_server
from omniinfer import (
    AsyncInferenceClient,
    InferenceClient,
    InferenceConnectionError,
    InferenceHTTPError,
    ProtocolError,
    ResponseTooLargeError,
)
from omniinfer._core.records import Request, Response
from omniinfer._core.stepping import redirect_target
from omniinfer._http import tls
from samples import DONE, HI, chunk, completion

OK = orjson.dumps(completion("ok"))


def _client_class(kind: str) -> type[InferenceClient] | type[AsyncInferenceClient]:
    return AsyncInferenceClient if kind == "async" else InferenceClient


def _serve_each(reply: bytes) -> RawServer:
    """Every request on every connection gets `reply`."""

    def script(conn: RawConnection, index: int) -> None:
        while conn.read_request() is not None:
            conn.send(reply)

    return RawServer(script)


def _chunked_head(extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n{extra}\r\n".encode()


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _sse(*events: object) -> bytes:
    return b"".join(b"data: " + orjson.dumps(event) + b"\n\n" for event in events) + DONE.encode()


# 1 and 4: framing a parser must refuse at once, in linear time


@pytest.mark.parametrize(
    "bad",
    [b"-6\r\n", b"1;" + b"e" * (32 << 20), b"f" * (32 << 20)],
    ids=["negative-chunk-size", "32MiB-chunk-extension", "32MiB-chunk-size-line"],
)
def test_broken_chunk_framing_is_a_protocol_error_at_once(kind: str, bad: bytes) -> None:
    with _serve_each(_chunked_head() + bad) as server, Runner(kind, server.url, timeout=30, max_retries=0) as run:
        with pytest.raises(ProtocolError):
            run("chat_completion", HI, stream=True)


def test_an_oversized_head_is_a_protocol_error(kind: str) -> None:
    head = b"HTTP/1.1 200 OK\r\n" + b"X-Big: " + b"a" * (1 << 20) + b"\r\n\r\n"
    with _serve_each(head) as server, Runner(kind, server.url, timeout=30, max_retries=0) as run:
        with pytest.raises(ProtocolError, match="head larger"):
            run("chat_completion", HI)


def test_a_16_mib_event_arrives_whole_and_a_larger_one_than_the_limit_is_refused(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = "x" * (16 << 20)
    body = _sse(chunk(big))
    reply = _chunked_head() + b"".join(_chunk(body[i : i + 65536]) for i in range(0, len(body), 65536)) + b"0\r\n\r\n"
    with _serve_each(reply) as server, Runner(kind, server.url, timeout=60) as run:
        chunks = run("chat_completion", HI, stream=True)
        assert chunks[0].choices[0].delta.content == big
        monkeypatch.setenv("OMNIINFER_MAX_EVENT_BYTES", str(1 << 20))
        with pytest.raises(ResponseTooLargeError, match="OMNIINFER_MAX_EVENT_BYTES"):
            run("chat_completion", HI, stream=True)


# 2: an idle pooled connection that became readable is never reused


def test_bytes_arriving_on_an_idle_connection_never_answer_the_next_call(kind: str) -> None:
    first_read, stray_sent = threading.Event(), threading.Event()

    def script(conn: RawConnection, index: int) -> None:
        while conn.read_request() is not None:
            conn.send(answer(orjson.dumps(completion(f"connection {index}"))))
            if index == 0:
                # Only once the client has read its answer and pooled the connection: sent together,
                # the two answers would arrive in one read and the extra bytes would be seen at once.
                assert first_read.wait(5)
                conn.send(answer(orjson.dumps(completion("stray"))))  # nobody asked for this one
                stray_sent.set()

    with RawServer(script) as server, Runner(kind, server.url, max_retries=0) as run:
        assert run("chat_completion", HI).choices[0].message.content == "connection 0"
        # (async: the event loop is stopped from here to the next call, so only a look at the idle
        # socket itself can tell that something arrived)
        first_read.set()
        assert stray_sent.wait(5)
        time.sleep(0.2)  # let the stray bytes reach the client's idle socket (ordering, not a timing assertion)
        answers = [run("chat_completion", HI).choices[0].message.content for _ in range(3)]
    assert answers == ["connection 1"] * 3
    assert server.accepted == 2


def test_a_stream_abandoned_half_read_does_not_go_back_to_the_pool(kind: str) -> None:
    stream_body = _sse(*(chunk(str(i)) for i in range(50)))

    def script(conn: RawConnection, index: int) -> None:
        while conn.read_request() is not None:
            conn.send(_chunked_head() + _chunk(stream_body) + b"0\r\n\r\n")

    with RawServer(script) as server, Runner(kind, server.url) as run:
        if run.loop is None:
            stream = run.client.chat_completion(HI, stream=True)
            assert next(stream).choices[0].delta.content == "0"
            stream.close()
        else:

            async def first_then_leave() -> str:
                stream = await run.client.chat_completion(HI, stream=True)
                item = await stream.__anext__()
                await stream.aclose()
                return str(item.choices[0].delta.content)

            assert run.loop.run_until_complete(first_then_leave()) == "0"
        assert len(run("chat_completion", HI, stream=True)) == 50
    assert server.accepted == 2


# 3: a request written whole is resent only when the retry policy says so


def test_a_request_written_whole_then_dropped_is_sent_once_with_max_retries_0(kind: str) -> None:
    def script(conn: RawConnection, index: int) -> None:
        served = 0
        while conn.read_request() is not None:
            if served == 1 or index > 0:
                return  # received it all, then the connection drops: no answer
            conn.send(answer(OK))
            served += 1

    with RawServer(script) as server, Runner(kind, server.url, max_retries=0) as run:
        run("chat_completion", HI)  # pools the connection
        with pytest.raises(InferenceConnectionError):
            run("chat_completion", HI)
    assert len(server.requests) == 2  # the first call, then exactly one send of the second

    with RawServer(script) as server, Runner(kind, server.url, max_retries=1) as run:
        run("chat_completion", HI)
        with pytest.raises(InferenceConnectionError):
            run("chat_completion", HI)
    assert len(server.requests) == 3  # the policy allowed one retry: two sends of the second call


# 5: user headers


@pytest.mark.parametrize("bad", [{"X-A": "v\r\nInjected: 1"}, {"X-A": "v\nx"}, {"X-A": "v\x00"}, {"X A": "v"}])
def test_header_injection_is_refused_naming_the_header(kind: str, bad: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"X.A"):
        _client_class(kind)("http://127.0.0.1:1", headers=bad)


def test_user_headers_merge_case_insensitively(kind: str) -> None:
    with _serve_each(answer(OK)) as server:
        headers = {"Authorization": "Bearer mine", "HOST": "api.example", "X-Trace": "1"}
        with Runner(kind, server.url, token="hf_token_from_client", headers=headers) as run:
            run("chat_completion", HI)
    head = server.requests[0].lower()
    assert head.count(b"\r\nauthorization:") == 1 and b"authorization: bearer mine" in head
    assert head.count(b"\r\nhost:") == 1 and b"host: api.example" in head
    assert head.count(b"\r\ncontent-length:") == 1
    with pytest.raises(ValueError, match="Content-Length"):
        _client_class(kind)(server.url, headers={"Content-Length": "5"})


# 6: model ids


@pytest.mark.parametrize("model", ["org/../admin", "org//x", "./x", "a/b\n", "/x"])
def test_impossible_model_ids_are_refused_before_any_request(kind: str, model: str) -> None:
    with Runner(kind, provider="hf-inference", token="hf_x") as run, pytest.raises(ValueError, match="model id"):
        run("text_classification", "hi", model=model)


def test_model_ids_are_percent_encoded_per_segment() -> None:
    from omniinfer._core.paths import model_path

    assert model_path("org/a b?c#d") == "org/a%20b%3Fc%23d"
    assert model_path("owner/model:v1") == "owner/model:v1"


# 7: redirects


def test_credentials_do_not_follow_a_downgrade_or_another_host() -> None:
    request = Request("GET", "https://h.example/a", {"authorization": "Bearer s", "x-other": "1"}, secret="s")
    for location in ("http://h.example/b", "https://other.example/b"):
        follow = redirect_target(request, Response(302, {"location": location}, b"", request.url), 0)
        assert follow is not None and "authorization" not in follow.headers and follow.secret is None
    same = redirect_target(request, Response(302, {"location": "/b"}, b"", request.url), 0)
    assert same is not None and same.headers["authorization"] == "Bearer s"


# 8: httpoxy


def test_http_proxy_is_ignored_in_a_cgi_process(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with _serve_each(answer(OK)) as server, _serve_each(answer(OK)) as attacker:
        monkeypatch.setenv("REQUEST_METHOD", "GET")
        monkeypatch.setenv("HTTP_PROXY", attacker.url)
        with Runner(kind, server.url, token="hf_secret") as run:
            run("chat_completion", HI)
    assert attacker.accepted == 0 and len(server.requests) == 1


# 9: many calls in flight


def test_1500_async_calls_in_flight_are_all_answered_within_the_connection_limit() -> None:
    import asyncio

    from omniinfer import AsyncInferenceClient

    async def main(url: str) -> list[str]:
        async with AsyncInferenceClient(url, max_connections=100) as client:
            results = await asyncio.gather(*(client.chat_completion(HI) for _ in range(1500)))
        return [r.choices[0].message.content for r in results]

    with _serve_each(answer(OK)) as server:
        assert asyncio.run(main(server.url)) == ["ok"] * 1500
    assert server.accepted <= 100


# 10: an early answer while the body uploads


def test_an_early_413_during_the_upload_is_raised_typed(kind: str) -> None:
    def script(conn: RawConnection, index: int) -> None:
        conn.read_request(body=False)
        conn.send(answer(b'{"error": "too large"}', status=413, headers="Connection: close\r\n"))

    with RawServer(script) as server, Runner(kind, server.url, max_retries=0, timeout=30) as run:
        with pytest.raises(InferenceHTTPError) as caught:
            run("chat_completion", [{"role": "user", "content": "x" * (32 << 20)}])
    assert caught.value.status_code == 413


# 11: trust stores


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An https raw server whose certificate is signed by a private CA (returned as a PEM path)."""
    with tls_raw_server(tmp_path, OK) as found:
        yield found


def test_requests_ca_bundle_is_trusted(
    kind: str, tls_server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, ca = tls_server
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    tls.default_context.cache_clear()
    try:
        with Runner(kind, url, max_retries=0) as run, pytest.raises(InferenceConnectionError):
            run("chat_completion", HI)  # an unknown CA: refused
        tls.default_context.cache_clear()
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
        with Runner(kind, url) as run:
            assert run("chat_completion", HI).choices[0].message.content == "ok"
    finally:
        tls.default_context.cache_clear()


# 12: content encodings


def test_gzip_and_deflate_bodies_and_streams_are_decoded(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    stream_body = _sse(chunk("a"), chunk("b"))
    gz = gzip.compress(stream_body)
    stream_reply = _chunked_head("Content-Encoding: gzip\r\n") + b"".join(
        _chunk(gz[i : i + 7]) for i in range(0, len(gz), 7)
    )
    stream_reply += b"0\r\n\r\n"
    replies = [
        answer(gzip.compress(OK), headers="Content-Encoding: gzip\r\n"),
        answer(zlib.compress(OK), headers="Content-Encoding: deflate\r\n"),
        stream_reply,
        answer(gzip.compress(b'{"a": "' + b"z" * (8 << 20) + b'"}'), headers="Content-Encoding: gzip\r\n"),
    ]

    def script(conn: RawConnection, index: int) -> None:
        for reply in replies:
            if conn.read_request() is None:
                return
            conn.send(reply)

    monkeypatch.setenv("OMNIINFER_MAX_RESPONSE_BYTES", str(1 << 20))
    with RawServer(script) as server, Runner(kind, server.url, max_retries=0) as run:
        assert run("chat_completion", HI).choices[0].message.content == "ok"
        assert run("chat_completion", HI).choices[0].message.content == "ok"
        assert [c.choices[0].delta.content for c in run("chat_completion", HI, stream=True)] == ["a", "b"]
        with pytest.raises(ResponseTooLargeError):  # 8 MiB once decoded, from a few KiB on the wire
            run("chat_completion", HI)
    assert b"accept-encoding: gzip, deflate" in server.requests[0].lower()
