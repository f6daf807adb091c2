"""Token usage: `response_meta.usage` per call, `client.usage` per client, and streams that ask for
their usage only where the server honours it (the usage-only chunk kept from callers who did not ask)."""

from __future__ import annotations

from typing import Any

import pytest

from cassettes import posts
from clients import Runner
from fixture_server import FixtureServer
from omniinfer._core.usage import Usage
from samples import DONE, HI, ROUTE, chunk, completion

USAGE = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
ROUTER = "router.huggingface.co"
MODEL = "org/usage-model"


def usage_only(prompt: int = 7, completion_tokens: int = 3) -> dict[str, Any]:
    return {
        "object": "chat.completion.chunk",
        "id": "1",
        "created": 1,
        "model": "m",
        "choices": [],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion_tokens},
    }


def last_chunk(text: str = "!") -> dict[str, Any]:
    final = chunk(text)
    final["choices"][0]["finish_reason"] = "stop"
    return final


def test_chat_usage_is_on_the_meta_and_adds_up_on_the_client(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", ROUTE, json=completion(usage=USAGE))
    with Runner(kind, base_url=fixture_server.url + "/v1") as run:
        first = run("chat_completion", HI)
        run("chat_completion", HI)
        assert first.response_meta.usage == Usage(7, 3)
        assert first.response_meta.usage.total_tokens == 10
        totals = run.client.usage
        assert (totals.calls, totals.input_tokens, totals.output_tokens, totals.total_tokens) == (2, 14, 6, 20)
        totals.reset()
        assert run.client.usage.total_tokens == 0


def test_an_answer_without_usage_leaves_it_none(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", ROUTE, json=completion())
    with Runner(kind, base_url=fixture_server.url + "/v1") as run:
        assert run("chat_completion", HI).response_meta.usage is None
        assert run.client.usage.calls == 0


def test_endpoint_stream_asks_for_usage_and_hides_the_usage_chunk(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", ROUTE, sse=[chunk("a"), last_chunk("b"), usage_only(), DONE])
    with Runner(kind, base_url=fixture_server.url + "/v1") as run:
        chunks = run("chat_completion", HI, stream=True)
        # The guide's loop keeps working: every chunk handed out has a choice.
        assert "".join(c.choices[0].delta.content for c in chunks) == "ab"
        assert run.last_meta is not None and run.last_meta.usage == Usage(7, 3)
        assert run.client.usage.total_tokens == 10
    assert posts(fixture_server)[0].json()["stream_options"] == {"include_usage": True}


def test_a_caller_who_asked_gets_the_usage_chunk(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", ROUTE, sse=[chunk("a"), usage_only(5, 1), DONE])
    with Runner(kind, base_url=fixture_server.url + "/v1") as run:
        chunks = run("chat_completion", HI, stream=True, stream_options={"include_usage": True})
        assert [len(c.choices) for c in chunks] == [1, 0]
        assert chunks[-1].usage.prompt_tokens == 5
        assert run.last_meta is not None and run.last_meta.usage == Usage(5, 1)


def test_a_caller_who_declined_is_not_overruled(fixture_server: FixtureServer) -> None:
    fixture_server.add("POST", ROUTE, sse=[chunk("a"), DONE])
    with Runner("sync", base_url=fixture_server.url + "/v1") as run:
        run("chat_completion", HI, stream=True, stream_options={"include_usage": False})
        run("chat_completion", HI, stream=True, extra_body={"stream_options": None})
        assert run.last_meta is not None and run.last_meta.usage is None
    sent = [request.json()["stream_options"] for request in posts(fixture_server)]
    assert sent == [{"include_usage": False}, None]


def test_provider_without_the_option_is_not_asked_but_its_usage_is_read(hub: FixtureServer, kind: str) -> None:
    mapping = {"together": {"status": "live", "providerId": "together-id", "task": "conversational"}}
    hub.add("GET", f"/api/models/{MODEL}", host="huggingface.co", json={"inferenceProviderMapping": mapping})
    final = last_chunk("b")
    final["usage"] = {"prompt_tokens": 26, "completion_tokens": 20, "total_tokens": 46}  # as together sends it
    hub.add("POST", "/together/v1/chat/completions", host=ROUTER, sse=[chunk("a"), final, DONE])
    with Runner(kind, MODEL, provider="together", token="hf_t") as run:
        chunks = run("chat_completion", HI, stream=True)
        assert len(chunks) == 2 and chunks[-1].choices[0].finish_reason == "stop"
        assert run.last_meta is not None and run.last_meta.usage == Usage(26, 20)
    assert "stream_options" not in posts(hub)[0].json()


def test_openai_embeddings_usage(fixture_server: FixtureServer, kind: str) -> None:
    answer = {"data": [{"embedding": [0.5, 0.25]}], "usage": {"prompt_tokens": 4, "total_tokens": 4}}
    fixture_server.add("POST", "/v1/embeddings", json=answer)
    with Runner(kind, base_url=fixture_server.url + "/v1") as run:
        vectors = run("feature_extraction", "hello")
        assert vectors.tolist() == [[0.5, 0.25]]
        assert run.last_meta is not None and run.last_meta.usage == Usage(4, None)
        assert run.client.usage.input_tokens == 4


def test_completions_usage_stream_and_not(fixture_server: FixtureServer, kind: str) -> None:
    text = {"id": "c", "object": "text_completion", "model": "m"}
    fixture_server.add(
        "POST",
        "/v1/completions",
        json={**text, "choices": [{"index": 0, "text": "ok", "finish_reason": "stop"}], "usage": USAGE},
        times=1,
    )
    fixture_server.add(
        "POST",
        "/v1/completions",
        sse=[
            {**text, "choices": [{"index": 0, "text": "o", "finish_reason": None}]},
            {**text, "choices": [{"index": 0, "text": "k", "finish_reason": "length"}]},
            {**text, "choices": [], "usage": {"prompt_tokens": 2, "completion_tokens": 2}},
            DONE,
        ],
    )
    with Runner(kind, fixture_server.url + "/v1") as run:
        assert run("text_generation", "hi") == "ok"
        assert run.last_meta is not None and run.last_meta.usage == Usage(7, 3)
        assert run("text_generation", "hi", stream=True) == ["o", "k"]
        assert run.last_meta is not None and run.last_meta.usage == Usage(2, 2)
    assert posts(fixture_server)[1].json()["stream_options"] == {"include_usage": True}


def test_tgi_stream_reports_its_generated_tokens(fixture_server: FixtureServer, kind: str) -> None:
    token = {"id": 1, "text": "hi", "logprob": 0.0, "special": False}
    final = {"token": token, "generated_text": "hi", "details": {"finish_reason": "length", "generated_tokens": 1}}
    fixture_server.add("POST", "/", sse=[final])
    with Runner(kind, fixture_server.url) as run:
        assert run("text_generation", "x", stream=True) == ["hi"]
        assert run.last_meta is not None and run.last_meta.usage == Usage(None, 1)


@pytest.mark.parametrize("value", [None, [], "x", {"prompt_tokens": -1}, {"prompt_tokens": True}])
def test_unreadable_usage_is_none(value: object) -> None:
    from omniinfer._core.usage import openai_usage

    assert openai_usage({"usage": value}) is None
