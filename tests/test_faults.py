"""Fault injection over loopback: malformed answers, bytes cut anywhere, redirects, huge bodies.

Each fault is run on both clients; docs/reliability.md lists them with what the client does.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clients import Runner
from fixture_server import FixtureServer
from omniinfer import (
    ChatCompletionOutput,
    IncompleteStreamError,
    InferenceConnectionError,
    InferenceError,
    InferenceHTTPError,
    MalformedResponseError,
)
from omniinfer._core.records import EventStream, Request, Response
from omniinfer._core.stepping import redirect_target
from omniinfer.tasks._common import decode_json
from omniinfer.tasks.chat import _chunk_parser
from probes import raw_server
from samples import HI, ROUTE

COMPLETION_JSON = (
    b'{"id":"x","object":"chat.completion","created":1,"model":"m",'
    b'"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"ok"}}]}'
)


# --- malformed answers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("<html><body>Service Unavailable</body></html>", "text/html"),  # an HTML page with a 200
        ('{"id": "x", "choices": [', "application/json"),  # truncated JSON
        ("", "application/json"),  # an empty body
        ("just text", "text/plain"),  # wrong content type
    ],
)
def test_malformed_success_is_a_typed_error(
    fixture_server: FixtureServer, kind: str, body: str, content_type: str
) -> None:
    fixture_server.add("POST", ROUTE, body=body, headers={"Content-Type": content_type})
    with Runner(kind, fixture_server.url) as run, pytest.raises(MalformedResponseError):
        run("chat_completion", HI)


def test_200_with_an_error_object(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", ROUTE, json={"error": "Model is loading", "estimated_time": 20})
    with Runner(kind, fixture_server.url) as run, pytest.raises(InferenceHTTPError, match="Model is loading"):
        run("chat_completion", HI)


def test_gigantic_body_is_refused(fixture_server: FixtureServer, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNIINFER_MAX_RESPONSE_BYTES", str(1 << 20))
    fixture_server.add("POST", ROUTE, body=b"x" * (2 << 20), headers={"Content-Type": "application/json"})
    with Runner(kind, fixture_server.url) as run, pytest.raises(MalformedResponseError, match="larger than"):
        run("chat_completion", HI)
    assert len(fixture_server.requests) == 1  # not retried


def test_non_json_event_in_a_stream(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", ROUTE, sse=["data: {not json\n\n", "data: [DONE]\n\n"])
    with Runner(kind, fixture_server.url) as run, pytest.raises(MalformedResponseError, match="Undecodable event"):
        run("chat_completion", HI, stream=True)


# --- bytes cut at every boundary, over a real socket ---------------------------------------------------


SSE_BODY = (
    b'data: {"choices":[{"index":0,"delta":{"content":"he"}}]}\r\n\r\n'
    b'data: {"choices":[{"index":0,"delta":{"content":"llo"}}]}\n\n'
    b"data: [DONE]\n\n"
)


def _chunked(body: bytes) -> bytes:
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


STREAM_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" + _chunked(SSE_BODY)
)
JSON_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
    len(COMPLETION_JSON),
    COMPLETION_JSON,
)


@pytest.mark.parametrize("cut", range(0, len(STREAM_RESPONSE), 7))
def test_stream_split_at_any_byte(cut: int, kind: str) -> None:
    for url in raw_server(STREAM_RESPONSE, [cut, 1, 1, 2, 3, 5]):
        with Runner(kind, url, max_retries=0) as run:
            chunks = run("chat_completion", HI, stream=True)
        assert "".join(c.choices[0].delta.content for c in chunks) == "hello"


def test_response_one_byte_at_a_time(kind: str) -> None:
    for url in raw_server(JSON_RESPONSE, [1] * len(JSON_RESPONSE)):
        with Runner(kind, url, max_retries=0) as run:
            out = run("chat_completion", HI)
        assert isinstance(out, ChatCompletionOutput) and out.choices[0].message.content == "ok"


def test_stream_closed_without_last_chunk(kind: str) -> None:
    truncated = STREAM_RESPONSE[: STREAM_RESPONSE.index(b"data: [DONE]")]
    for url in raw_server(truncated, []):
        with Runner(kind, url, max_retries=0) as run, pytest.raises((IncompleteStreamError, InferenceConnectionError)):
            run("chat_completion", HI, stream=True)


# --- redirects and secrets ---------------------------------------------------------------------------------


def test_redirect_to_another_host_drops_the_token(hub: FixtureServer, kind: str) -> None:
    mapping = {"together": {"status": "live", "providerId": "m-turbo", "task": "conversational"}}
    completion = {"Content-Type": "application/json"}
    hub.add(
        "POST", "/together/v1/chat/completions", host="router.huggingface.co", body=COMPLETION_JSON, headers=completion
    )
    secret = "hf_do_not_leak_me"
    with FixtureServer() as elsewhere:  # another port: another origin
        elsewhere.add("GET", "/api/models/org/m", json={"inferenceProviderMapping": mapping})
        location = {"Location": elsewhere.url + "/api/models/org/m"}
        hub.add("GET", "/api/models/org/m", host="huggingface.co", status=307, headers=location)
        with Runner(kind, "org/m", provider="together", token=secret) as run:
            run("chat_completion", HI)
        moved = elsewhere.requests[0]
    assert hub.requests[0].headers["authorization"] == f"Bearer {secret}"
    assert "authorization" not in moved.headers


def test_redirect_on_the_same_host_keeps_credentials() -> None:
    request = Request("GET", "https://h.example/a", {"authorization": "Bearer x"}, secret="x")
    moved = redirect_target(request, Response(302, {"location": "/b"}, b"", request.url), 0)
    assert moved is not None and moved.url == "https://h.example/b" and moved.headers["authorization"] == "Bearer x"
    assert redirect_target(request, Response(302, {"location": "/b"}, b"", request.url), 5) is None
    post = Request("POST", "https://h.example/a", {}, b"{}")
    assert redirect_target(post, Response(307, {"location": "/b"}, b"", post.url), 0) is None


# --- parsers fuzzed --------------------------------------------------------------------------------------


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_decode_json_raises_only_typed_errors(body: bytes) -> None:
    try:
        decode_json(Response(200, {}, body, "http://x"), "p")
    except InferenceError:
        pass


_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
_json = st.recursive(
    _scalars | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=80) | _json.map(lambda v: __import__("orjson").dumps(v)), max_size=6))
def test_stream_parser_raises_only_typed_errors(payloads: list[bytes]) -> None:
    events: EventStream[object] = EventStream(lambda data: None, url="http://x", provider="p")
    events.parse = _chunk_parser(events, hide_usage_only=True)
    body = b"".join(b"data: " + p.replace(b"\n", b" ").replace(b"\r", b" ") + b"\n\n" for p in payloads)
    events.consume(body)
    events.finish()
    assert events.error is None or isinstance(events.error, InferenceError)


@settings(max_examples=300)
@given(_json)
def test_typed_outputs_accept_any_json(value: object) -> None:
    try:
        parsed = ChatCompletionOutput.parse_obj(value)
    except ValueError:
        return  # not an object or a list: refused by name
    items = parsed if isinstance(parsed, list) else [parsed]
    for item in items:  # every field reads without raising, whatever the server sent
        assert item.choices == item["choices"] and item.usage == item["usage"]
