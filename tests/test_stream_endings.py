"""When a stream is complete: every recorded provider stream replays on both clients, and a body's
end is judged by its HTTP framing — `[DONE]` or a last chunk with `finish_reason` are signs, not
requirements — while a body cut by the network still raises."""

from __future__ import annotations

import warnings
from typing import Any

import orjson
import pytest

from cassettes import CASSETTES, load, posts
from clients import Runner
from fixture_server import FixtureServer
from omniinfer import (
    ChatCompletionStreamOutput,
    IncompleteStreamError,
    InferenceConnectionError,
    TextGenerationStreamOutput,
)
from probes import raw_server
from samples import HI

# Every recording that holds a server-sent-event answer, whatever its name says.
STREAM_CASSETTES = sorted(path.stem for path in CASSETTES.glob("*.yaml") if b"text/event-stream" in path.read_bytes())


def test_every_stream_cassette_is_listed() -> None:
    # 16 recorded streams: 8 providers' chat, TGI with and without details, OpenAI compatibility, async ones.
    assert len(STREAM_CASSETTES) >= 16, STREAM_CASSETTES


def _call_for(recorded: list[Any]) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    """(client model, method, call kwargs, client kwargs) that make the recorded stream request."""
    hub_get = next(r for r in recorded if r.method == "GET")
    model = hub_get.path.removeprefix("/api/models/")
    post = next(r for r in recorded if r.method == "POST")
    body = post.json() if post.body else {}
    provider = post.path.split("/")[1]
    client = {"provider": provider, "token": "hf_test_token"}
    if post.path.endswith("/chat/completions"):
        kwargs: dict[str, Any] = {"stream": True}
        kwargs["messages"] = body.get("messages", HI)
        if "max_tokens" in body:
            kwargs["max_tokens"] = body["max_tokens"]
        return model, "chat_completion", kwargs, client
    parameters = body.get("parameters", {})
    kwargs = {"prompt": body.get("inputs", "test"), "stream": True}
    if "max_new_tokens" in parameters:
        kwargs["max_new_tokens"] = parameters["max_new_tokens"]
    return model, "text_generation", kwargs, client


@pytest.mark.parametrize("name", STREAM_CASSETTES)
def test_recorded_stream_replays_whole(hub: FixtureServer, kind: str, name: str) -> None:
    recorded = load(hub, name)
    model, method, kwargs, client = _call_for(recorded)
    details = "with_details" in name
    if method == "text_generation":
        kwargs["details"] = details
    with Runner(kind, model, **client) as run, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*staging mode", category=UserWarning)
        items = run(method, **kwargs)
    assert items, "no item came out of the stream"
    if method == "chat_completion":
        assert all(isinstance(c, ChatCompletionStreamOutput) for c in items)
        assert "".join(c.choices[0].delta.content or "" for c in items if c.choices)
        assert any(choice.finish_reason for c in items for choice in c.choices)
    elif details:
        assert all(isinstance(e, TextGenerationStreamOutput) for e in items)
        assert items[-1].details.finish_reason == "length"
    else:
        assert all(isinstance(t, str) for t in items)
    assert len(posts(hub)) == 1


def test_cerebras_stream_without_done_is_complete(hub: FixtureServer, kind: str) -> None:
    name = "TestInferenceClient.test_chat_completion_with_stream[cerebras,conversational]"
    assert b"[DONE]" not in (CASSETTES / f"{name}.yaml").read_bytes()  # the point of this test
    load(hub, name)
    with Runner(kind, "meta-llama/Llama-3.3-70B-Instruct", provider="cerebras", token="hf_t") as run:
        chunks = run("chat_completion", HI, max_tokens=20, stream=True)
    assert chunks[-1].choices[0].finish_reason == "length"
    assert "".join(c.choices[0].delta.content or "" for c in chunks).startswith("Deep learning")


# --- the body's framing decides, over a raw socket ------------------------------------------------------


def _event(text: str, finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": {"content": text}, "finish_reason": finish}
    return b"data: " + orjson.dumps({"object": "chat.completion.chunk", "choices": [choice]}) + b"\n\n"


EVENTS = _event("he") + _event("llo")
LAST = _event("!", finish="stop")
SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"


def _chunked(body: bytes, terminated: bool = True) -> bytes:
    return (
        SSE_HEAD
        + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n" % (len(body), body)
        + (b"0\r\n\r\n" if terminated else b"")
    )


def _stream(kind: str, response: bytes) -> list[Any]:
    for url in raw_server(response, []):
        with Runner(kind, url, max_retries=0) as run:
            result: list[Any] = run("chat_completion", HI, stream=True)
            return result
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    "response",
    [
        _chunked(EVENTS),  # chunked terminator, no [DONE], no finish_reason
        SSE_HEAD + b"Content-Length: %d\r\n\r\n%s" % (len(EVENTS), EVENTS),  # announced length reached
        SSE_HEAD + b"Connection: close\r\n\r\n" + EVENTS + LAST,  # until close, but the last chunk says so
        SSE_HEAD + b"Connection: close\r\n\r\n" + EVENTS + b"data: [DONE]\n\n",  # until close, with [DONE]
    ],
    ids=["chunked", "length", "close+finish_reason", "close+done"],
)
def test_cleanly_ended_stream_is_complete(kind: str, response: bytes) -> None:
    chunks = _stream(kind, response)
    assert "".join(c.choices[0].delta.content for c in chunks).startswith("hello")


def test_stream_until_close_without_a_sign_is_incomplete(kind: str) -> None:
    # A body that lasts until the connection closes: its end may be a cut, and nothing says otherwise.
    with pytest.raises(IncompleteStreamError, match="incomplete"):
        _stream(kind, SSE_HEAD + b"Connection: close\r\n\r\n" + EVENTS)


@pytest.mark.parametrize(
    "response",
    [
        _chunked(EVENTS + LAST, terminated=False),  # closed before the chunked terminator
        SSE_HEAD + b"Content-Length: %d\r\n\r\n%s" % (len(EVENTS) + 100, EVENTS),  # short of its length
    ],
    ids=["chunked-cut", "length-cut"],
)
def test_stream_cut_by_the_network_raises(kind: str, response: bytes) -> None:
    with pytest.raises(InferenceConnectionError, match="before the response was complete"):
        _stream(kind, response)


def test_empty_stream_is_incomplete(kind: str) -> None:
    with pytest.raises(IncompleteStreamError):
        _stream(kind, _chunked(b": keep-alive\n\n"))
