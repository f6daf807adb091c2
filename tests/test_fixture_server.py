"""Tests of the loopback fixture server itself, using only http.client and raw sockets as clients."""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixture_server import FixtureServer, ReceivedRequest, ScriptedResponse

CASSETTES = Path("/work/shared/fixtures/hf_cassettes")
ROUTER = "router.huggingface.co"
HUB = "huggingface.co"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def cassette(name: str) -> Path:
    path = CASSETTES / name
    if not path.exists():
        pytest.skip(f"cassette not available: {path}")
    return path


def recorded_body(path: Path, index: int) -> bytes:
    """Response body of interaction ``index`` exactly as stored in the cassette."""
    data = yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)
    body = data["interactions"][index]["response"]["body"]["string"]
    return body.encode() if isinstance(body, str) else body


def target(server: FixtureServer, url: str) -> str:
    """Request target (path + query) of an absolute URL pointing at the fixture server."""
    assert url.startswith(server.url + "/"), url
    return url[len(server.url) :]


def call(
    server: FixtureServer,
    method: str,
    path: str,
    body: bytes | Iterable[bytes] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def raw_connect(server: FixtureServer, timeout: float = 2.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)


def raw_get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def recv_until(sock: socket.socket, buf: bytes, marker: bytes) -> bytes:
    while marker not in buf:
        data = sock.recv(65536)
        if not data:
            raise AssertionError(f"EOF before {marker!r}; got {buf!r}")
        buf += data
    return buf


def parse_chunks(data: bytes) -> tuple[list[bytes], bool]:
    """Split a chunked body into its chunks; the flag says whether the last-chunk was seen."""
    chunks: list[bytes] = []
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return chunks, True
        chunks.append(rest[:size])
        assert rest[size : size + 2] == b"\r\n"
        data = rest[size + 2 :]
    return chunks, False


def read_all_until_broken(sock: socket.socket) -> tuple[bytes, str]:
    """Read until the peer closes; returns the data and 'reset' or 'eof'."""
    buf = b""
    try:
        while data := sock.recv(65536):
            buf += data
    except ConnectionResetError:
        return buf, "reset"
    return buf, "eof"


# -- cassette replay -----------------------------------------------------------------------------


def test_replay_json_cassette(fixture_server: FixtureServer) -> None:
    path = cassette("TestInferenceClient.test_chat_completion_no_stream[cerebras,conversational].yaml")
    recorded = fixture_server.load_cassette(path)
    assert [(r.method, r.host, r.path) for r in recorded] == [
        ("GET", HUB, "/api/models/meta-llama/Llama-3.3-70B-Instruct"),
        ("POST", ROUTER, "/cerebras/v1/chat/completions"),
    ]
    assert recorded[0].query == "expand=inferenceProviderMapping"
    assert recorded[1].headers["content-type"] == "application/json"

    info = call(
        fixture_server,
        "GET",
        "/_h/huggingface.co/api/models/meta-llama/Llama-3.3-70B-Instruct?expand=inferenceProviderMapping",
    )
    assert info.status == 200
    assert info.json()["inferenceProviderMapping"]["cerebras"]["providerId"] == "llama-3.3-70b"
    assert info.headers["content-length"] == str(len(info.body))
    assert info.headers["x-powered-by"] == "huggingface-moon"  # recorded headers are replayed
    # Without the query the same recording is used (exact query first, then ignoring it).
    assert (
        call(fixture_server, "GET", "/_h/huggingface.co/api/models/meta-llama/Llama-3.3-70B-Instruct").body == info.body
    )

    sent = recorded[1].json()
    chat = call(
        fixture_server,
        "POST",
        "/_h/router.huggingface.co/cerebras/v1/chat/completions",
        json.dumps(sent).encode(),
    )
    assert chat.status == 200
    assert chat.json()["choices"][0]["message"]["role"] == "assistant"
    # The recording says "content-encoding: chunked" (bogus): it must not reach the client.
    assert "content-encoding" not in chat.headers and "transfer-encoding" not in chat.headers
    assert fixture_server.requests[-1].json() == sent


@pytest.mark.parametrize(
    ("name", "content_type", "magic"),
    [
        (
            "TestInferenceClient.test_text_to_image_default[hf-inference,text-to-image].yaml",
            "image/jpeg",
            b"\xff\xd8\xff",
        ),
        ("TestInferenceClient.test_text_to_speech[hf-inference,text-to-speech].yaml", "audio/flac", b"fLaC"),
    ],
)
def test_replay_binary_cassette(fixture_server: FixtureServer, name: str, content_type: str, magic: bytes) -> None:
    path = cassette(name)
    recorded = fixture_server.load_cassette(path)
    reply = call(fixture_server, recorded[1].method, "/_h/" + recorded[1].uri.split("://", 1)[1], recorded[1].body)
    assert reply.status == 200
    assert reply.headers["content-type"] == content_type
    assert reply.body.startswith(magic)
    assert reply.body == recorded_body(path, 1)  # binary bodies are never rewritten
    assert int(reply.headers["content-length"]) == len(reply.body)


def test_polling_sequence_and_url_rewriting(fixture_server: FixtureServer) -> None:
    path = cassette("TestInferenceClient.test_text_to_image_default[black-forest-labs,text-to-image].yaml")
    fixture_server.load_cassette(path)
    submit = call(fixture_server, "POST", "/_h/router.huggingface.co/black-forest-labs/v1/flux-dev", b"{}")
    polling_url = submit.json()["polling_url"]
    assert polling_url.startswith(fixture_server.host_url("api.us1.bfl.ai") + "/v1/get_result?id=")
    assert submit.headers["content-length"] == str(len(submit.body))  # recomputed after rewriting

    states = [call(fixture_server, "GET", target(fixture_server, polling_url)).json() for _ in range(5)]
    assert [s["status"] for s in states] == [
        "Pending",
        "Pending",
        "Pending",
        "Ready",
        "Ready",
    ]  # last repeats
    assert [s["progress"] for s in states[:3]] == [0.3, 0.7, 1.0]

    sample_url = states[-1]["result"]["sample"]
    assert sample_url.startswith(fixture_server.host_url("delivery-us1.bfl.ai") + "/results/")
    image = call(fixture_server, "GET", target(fixture_server, sample_url))
    assert image.status == 200 and image.body == recorded_body(path, 6)


def test_location_headers_are_rewritten(fixture_server: FixtureServer) -> None:
    fixture_server.load_cassette(cassette("TestInferenceClient.test_translation[hf-inference,translation].yaml"))
    fixture_server.load_cassette(cassette("TestInferenceClient.test_text_to_speech[replicate,text-to-speech].yaml"))
    # A relative redirect stays inside the host's mount.
    redirect = call(fixture_server, "GET", "/_h/huggingface.co/api/models/t5-small")
    assert redirect.status == 307
    assert redirect.headers["location"] == fixture_server.host_url(HUB) + "/api/models/google-t5/t5-small"
    followed = call(fixture_server, "GET", target(fixture_server, redirect.headers["location"]))
    assert followed.json()["id"] == "google-t5/t5-small"
    # An absolute one (and the URLs in the body) point back to the server.
    created = call(fixture_server, "POST", "/_h/api.replicate.com/v1/predictions", b"{}")
    replicate = fixture_server.host_url("api.replicate.com")
    assert created.status == 202
    assert created.headers["location"] == replicate + "/v1/predictions/2ea92hmwgnrga0cmpp9rj00evw"
    assert created.json()["urls"]["get"] == replicate + "/v1/predictions/2ea92hmwgnrga0cmpp9rj00evw"
    assert b"https://" not in created.body


def test_gzip_recording_is_decompressed(fixture_server: FixtureServer, tmp_path: Path) -> None:
    payload = b'{"next": "https://api.example.com/page/2", "same": "' + fixture_server.url.encode() + b'/x"}'
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {
            "Content-Type": ["application/json"],
            "Content-Encoding": ["gzip"],
            "Content-Length": ["7"],
            "Connection": ["keep-alive"],
        },
        "body": {"string": gzip.compress(payload)},
    }
    request: dict[str, Any] = {
        "method": "GET",
        "uri": "https://api.example.com/page/1",
        "headers": {},
        "body": None,
    }
    path = tmp_path / "gz.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "interactions": [{"request": request, "response": response}]}))
    assert "!!binary" in path.read_text()

    recorded = fixture_server.load_cassette(path)
    assert recorded[0].body == b"" and recorded[0].headers == {}
    reply = call(fixture_server, "GET", "/_h/api.example.com/page/1")
    assert reply.json() == {
        "next": fixture_server.host_url("api.example.com") + "/page/2",
        "same": fixture_server.url + "/x",  # loopback URLs are left alone
    }
    assert reply.headers["content-length"] == str(len(reply.body))
    assert "content-encoding" not in reply.headers and "connection" not in reply.headers


def test_stream_cassette_replayed_verbatim(fixture_server: FixtureServer) -> None:
    path = cassette("TestTextGenerationClientVCR.test_generate_stream_with_details.yaml")
    fixture_server.load_cassette(path)
    reply = call(fixture_server, "POST", "/_h/router.huggingface.co/hf-inference/models/google/flan-t5-xxl", b"{}")
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert reply.body == recorded_body(path, 1)
    assert reply.body.startswith(b"data:{")


# -- scripted routes -----------------------------------------------------------------------------


def test_scripted_json_host_mount_and_404(fixture_server: FixtureServer) -> None:
    fixture_server.add("GET", "/v1/models", json={"data": [1, 2]}, headers={"X-Trace": "t1"})
    fixture_server.add("POST", "/v1/chat", host="API.Example.com", status=201, json=[])
    reply = call(fixture_server, "GET", "/v1/models?limit=3")  # query ignored unless scripted
    assert (reply.status, reply.json()) == (200, {"data": [1, 2]})
    assert reply.headers["content-type"] == "application/json" and reply.headers["x-trace"] == "t1"

    mounted = call(fixture_server, "POST", "/_h/api.example.com/v1/chat", b"")
    assert (mounted.status, mounted.body) == (201, b"[]")
    missing = call(fixture_server, "POST", "/v1/chat", b"")
    assert missing.status == 404
    assert missing.json() == {"error": "no fixture for POST /v1/chat"}
    other_host = call(fixture_server, "GET", "/_h/other.example/v1/models?x=1")
    assert other_host.json() == {"error": "no fixture for GET https://other.example/v1/models?x=1"}


def test_scripted_query_must_match_when_given(fixture_server: FixtureServer) -> None:
    fixture_server.add("GET", "/items?page=2", json="two")
    fixture_server.add("GET", "/items", json="any")
    assert call(fixture_server, "GET", "/items?page=2").json() == "two"
    assert call(fixture_server, "GET", "/items?page=3").json() == "any"


def test_sse_uses_one_chunk_per_event(fixture_server: FixtureServer) -> None:
    events: list[Any] = [{"token": "a"}, "event: ping\ndata: x\n\n", b"data: [DONE]\n\n"]
    fixture_server.add("POST", "/stream", sse=events, chunk_delay=0.01)
    with raw_connect(fixture_server) as sock:
        sock.sendall(b"POST /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        data = recv_until(sock, b"", b"\r\n0\r\n\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Transfer-Encoding: chunked" in head and b"Content-Type: text/event-stream" in head
    assert b"Content-Length" not in head
    chunks, complete = parse_chunks(body)
    assert complete
    assert chunks == [b'data: {"token":"a"}\n\n', b"event: ping\ndata: x\n\n", b"data: [DONE]\n\n"]


def test_times_then_fallback(fixture_server: FixtureServer) -> None:
    fixture_server.add("GET", "/flaky", status=503, json={"error": "loading"}, times=1)
    fixture_server.add("GET", "/flaky", json={"ok": True})
    assert [call(fixture_server, "GET", "/flaky").status for _ in range(3)] == [503, 200, 200]

    # An exhausted scripted response falls through to the cassette below it.
    path = cassette("TestInferenceClient.test_chat_completion_no_stream[cerebras,conversational].yaml")
    fixture_server.load_cassette(path)
    fixture_server.add("POST", "/cerebras/v1/chat/completions", host=ROUTER, status=429, times=2)
    statuses = [
        call(fixture_server, "POST", "/_h/router.huggingface.co/cerebras/v1/chat/completions", b"{}").status
        for _ in range(3)
    ]
    assert statuses == [429, 429, 200]


def test_handler_callable(fixture_server: FixtureServer) -> None:
    def echo(request: ReceivedRequest) -> ScriptedResponse:
        return ScriptedResponse(status=200, json={"got": request.json(), "q": request.query})

    def broken(request: ReceivedRequest) -> ScriptedResponse:
        raise RuntimeError("boom")

    fixture_server.add_handler("POST", "/echo", echo)
    fixture_server.add_handler("GET", "/broken", broken)
    assert call(fixture_server, "POST", "/echo?a=1", b'{"x": 1}').json() == {"got": {"x": 1}, "q": "a=1"}
    failed = call(fixture_server, "GET", "/broken")
    assert failed.status == 500 and "boom" in failed.json()["error"]
    assert isinstance(fixture_server.errors.pop(), RuntimeError)


def test_slow_headers(fixture_server: FixtureServer) -> None:
    fixture_server.add("GET", "/slow", json={}, delay=0.3)
    start = time.monotonic()
    assert call(fixture_server, "GET", "/slow").status == 200
    assert time.monotonic() - start >= 0.29


def test_stall_times_out_client(fixture_server: FixtureServer) -> None:
    fixture_server.add("GET", "/hang", stall=True)
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        call(fixture_server, "GET", "/hang", timeout=0.3)
    assert time.monotonic() - start < 2
    assert fixture_server.requests[-1].path == "/hang"  # the request itself was accepted


def test_stall_after_chunks(fixture_server: FixtureServer) -> None:
    fixture_server.add("GET", "/partial", sse=[{"n": 1}, {"n": 2}], stall_after_chunks=1)
    with raw_connect(fixture_server, timeout=0.3) as sock:
        sock.sendall(raw_get("/partial"))
        data = recv_until(sock, b"", b"\n\n\r\n")
        with pytest.raises(TimeoutError):
            sock.recv(65536)
    chunks, complete = parse_chunks(data.partition(b"\r\n\r\n")[2])
    assert chunks == [b'data: {"n":1}\n\n'] and not complete


def test_reset_before_answer(fixture_server: FixtureServer) -> None:
    fixture_server.add("POST", "/rst", reset=True)
    # http.client reports an empty read as RemoteDisconnected, a ConnectionResetError subclass.
    with pytest.raises(ConnectionResetError):
        call(fixture_server, "POST", "/rst", b"{}")
    with raw_connect(fixture_server) as sock:
        sock.sendall(b"POST /rst HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        data, how = read_all_until_broken(sock)
    assert data == b"" and how in ("reset", "eof")
    assert len(fixture_server.requests) == 2


def test_reset_after_chunks(fixture_server: FixtureServer) -> None:
    fixture_server.add("GET", "/cut", sse=[{"n": 1}, {"n": 2}, {"n": 3}], reset_after_chunks=2, chunk_delay=0.05)
    with raw_connect(fixture_server) as sock:
        sock.sendall(raw_get("/cut"))
        data = recv_until(sock, b"", b'{"n":2}\n\n\r\n')  # both chunks arrive before the reset
        rest, how = read_all_until_broken(sock)
    assert rest == b"" and how == "reset"
    chunks, complete = parse_chunks(data.partition(b"\r\n\r\n")[2])
    assert len(chunks) == 2 and not complete


def test_chunked_list_body_and_wrong_content_length(fixture_server: FixtureServer) -> None:
    fixture_server.add("GET", "/parts", body=[b"ab", "cd"], headers={"Content-Type": "text/plain"})
    fixture_server.add("GET", "/short", body=b"abc", headers={"Content-Length": "10"})
    assert call(fixture_server, "GET", "/parts").body == b"abcd"
    with pytest.raises(http.client.IncompleteRead):  # deliberately truncated body, then close
        call(fixture_server, "GET", "/short")


# -- connections and recording -------------------------------------------------------------------


def test_keep_alive_reuses_connection(fixture_server: FixtureServer) -> None:
    fixture_server.add("GET", "/a", json=1)
    fixture_server.add("POST", "/b", json=2)
    conn = http.client.HTTPConnection("127.0.0.1", fixture_server.port, timeout=5)
    try:
        for method, path, body in (("GET", "/a", None), ("POST", "/b", b"x" * 10)):
            conn.request(method, path, body=body)
            resp = conn.getresponse()
            assert resp.status == 200 and resp.read()
    finally:
        conn.close()
    assert fixture_server.connections_accepted == 1
    assert [r.connection_index for r in fixture_server.requests] == [1, 1]
    call(fixture_server, "GET", "/a")
    assert fixture_server.connections_accepted == 2


def test_request_recording_with_chunked_body(fixture_server: FixtureServer) -> None:
    fixture_server.add("POST", "/upload", host="api.example.com", json={"ok": True})
    conn = http.client.HTTPConnection("127.0.0.1", fixture_server.port, timeout=5)
    try:
        body = iter([b'{"inputs": ', b'"hello"', b"}"])  # no length: http.client sends it chunked
        conn.request("POST", "/_h/api.example.com/upload?wait=1&x=%2F", body=body, headers={"X-Mixed-Case": "V"})
        assert conn.getresponse().read() == b'{"ok":true}'
    finally:
        conn.close()
    (request,) = fixture_server.requests
    assert (request.method, request.host, request.path, request.query) == (
        "POST",
        "api.example.com",
        "/upload",
        "wait=1&x=%2F",
    )
    assert request.url == "https://api.example.com/upload?wait=1&x=%2F"
    assert request.body == b'{"inputs": "hello"}' and request.json() == {"inputs": "hello"}
    assert request.headers["transfer-encoding"] == "chunked" and request.headers["x-mixed-case"] == "V"
    assert ("X-Mixed-Case", "V") in request.raw_headers
    assert request.version == "HTTP/1.1"


def test_clear_forgets_everything(fixture_server: FixtureServer) -> None:
    fixture_server.load_cassette(cassette("TestInferenceClient.test_translation[hf-inference,translation].yaml"))
    fixture_server.add("GET", "/x", json=1)
    assert call(fixture_server, "GET", "/x").status == 200
    fixture_server.clear()
    assert fixture_server.requests == []
    assert call(fixture_server, "GET", "/x").status == 404
    assert call(fixture_server, "GET", "/_h/huggingface.co/api/models/t5-small").status == 404


def test_stop_returns_promptly_while_stalled() -> None:
    server = FixtureServer().start()
    server.add("GET", "/hang", stall=True)
    server.add("GET", "/slow", json={}, delay=30)
    server.add("GET", "/ok", json={})
    idle = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        idle.request("GET", "/ok")
        idle.getresponse().read()  # this connection now idles in keep-alive
        with raw_connect(server) as stalled, raw_connect(server) as slow:
            stalled.sendall(raw_get("/hang"))
            slow.sendall(raw_get("/slow"))
            server.wait_for_requests(3)
            start = time.monotonic()
            server.stop()
            assert time.monotonic() - start < 1.0
            for sock in (stalled, slow):
                data, _ = read_all_until_broken(sock)
                assert data == b""
    finally:
        idle.close()
    server.stop()  # idempotent
    assert server.errors == []
