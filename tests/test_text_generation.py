"""text_generation: TGI (recorded interactions) and OpenAI completions (scripted), on both clients."""

from __future__ import annotations

import pytest

from cassettes import assert_sent_as_recorded, load, posts
from clients import Runner
from fixture_server import FixtureServer
from omniinfer import (
    InferenceConnectionError,
    TextGenerationOutput,
    TextGenerationStreamOutput,
    ValidationError,
)


def test_no_details(hub: FixtureServer, kind: str) -> None:
    recorded = load(hub, "TestTextGenerationClientVCR.test_generate_no_details")
    with Runner(kind, "google/flan-t5-xxl", provider="hf-inference") as run:
        assert run("text_generation", "test", details=False, max_new_tokens=1) == ""
    assert_sent_as_recorded(hub, recorded)


def test_with_details(hub: FixtureServer, kind: str) -> None:
    recorded = load(hub, "TestTextGenerationClientVCR.test_generate_with_details")
    with Runner(kind, "google/flan-t5-xxl", provider="hf-inference") as run:
        out = run("text_generation", "test", details=True, max_new_tokens=1, decoder_input_details=True)
    assert isinstance(out, TextGenerationOutput)
    assert out.details.finish_reason == "length"
    assert out.details.prefill[0].text == "<pad>"
    assert out.details.tokens[0].logprob == -2.0078125
    assert out.details.best_of_sequences is None
    assert_sent_as_recorded(hub, recorded)


def test_best_of(hub: FixtureServer, kind: str) -> None:
    recorded = load(hub, "TestTextGenerationClientVCR.test_generate_best_of")
    with Runner(kind, "google/flan-t5-xxl", provider="hf-inference") as run:
        out = run(
            "text_generation",
            "test",
            max_new_tokens=1,
            best_of=2,
            do_sample=True,
            decoder_input_details=True,
            details=True,
        )
    assert out.details.best_of_sequences[0].generated_text == "10-"
    assert_sent_as_recorded(hub, recorded)


def test_grammar(hub: FixtureServer, kind: str) -> None:
    recorded = load(hub, "TestTextGenerationClientVCR.test_generate_with_grammar")
    grammar = recorded[-1].json()["parameters"]["grammar"]
    prompt = recorded[-1].json()["inputs"]
    params = {
        k: v
        for k, v in recorded[-1].json()["parameters"].items()
        if k not in ("details", "do_sample", "grammar", "return_full_text", "stop")
    }
    with Runner(kind, "HuggingFaceH4/zephyr-orpo-141b-A35b-v0.1", provider="hf-inference") as run:
        out = run("text_generation", prompt, grammar=grammar, **params)
    assert '"location":"park"' in out
    assert_sent_as_recorded(hub, recorded)


def test_stream_tokens(hub: FixtureServer, kind: str) -> None:
    recorded = load(hub, "TestTextGenerationClientVCR.test_generate_stream_no_details")
    with Runner(kind, "google/flan-t5-xxl", provider="hf-inference") as run:
        tokens = run("text_generation", "test", max_new_tokens=1, stream=True)
    assert tokens == [" "]
    # The recording's client asked for details on every stream; we send them only when asked.
    sent = posts(hub)[0].json()
    assert sent["parameters"].pop("details") is False
    recorded_body = recorded[1].json()
    assert recorded_body["parameters"].pop("details") is True
    assert sent == recorded_body


def test_stream_details(hub: FixtureServer, kind: str) -> None:
    recorded = load(hub, "TestTextGenerationClientVCR.test_generate_stream_with_details")
    with Runner(kind, "google/flan-t5-xxl", provider="hf-inference") as run:
        events = run("text_generation", "test", max_new_tokens=1, stream=True, details=True)
    assert all(isinstance(e, TextGenerationStreamOutput) for e in events)
    assert events[-1].details.finish_reason == "length"
    assert events[-1].token.text == " "
    assert_sent_as_recorded(hub, recorded)


def test_validation_error(hub: FixtureServer, kind: str) -> None:
    load(hub, "TestTextGenerationClientVCR.test_generate_validation_error")
    with (
        Runner(kind, "google/flan-t5-xxl", provider="hf-inference") as run,
        pytest.raises(ValidationError) as caught,
    ):
        run("text_generation", "test", max_new_tokens=10_000)
    assert caught.value.status_code == 422
    assert "max_new_tokens" in (caught.value.server_message or "")


def test_non_tgi_model_retries_without_rejected_kwargs(hub: FixtureServer) -> None:
    recorded = load(hub, "TestTextGenerationClientVCR.test_generate_non_tgi_endpoint")
    first = recorded[1].json()["parameters"]
    with Runner("sync", "gpt2", provider="hf-inference") as run:
        assert run(
            "text_generation",
            "0 1 2",
            max_new_tokens=10,
            watermark=False,
            decoder_input_details=False,
            details=False,
            **{k: first[k] for k in ("do_sample",)},
        ) == (" 3 4 5 6 7 8 9 10 11 12")
        # Later calls drop the kwargs up front (no 400 again) and say so.
        with pytest.warns(UserWarning, match="not served by text-generation-inference"):
            assert run("text_generation", "4 5 6", max_new_tokens=10, watermark=True).startswith(" 7 8 9")
        with pytest.raises(ValueError, match="cannot stream"):
            run("text_generation", "0 1 2", max_new_tokens=10, stream=True)
    bodies = [r.json() for r in posts(hub)]
    assert len(bodies) == 3
    assert {"watermark", "stop", "decoder_input_details", "details"}.isdisjoint(bodies[1]["parameters"])
    assert {"watermark", "stop", "details"}.isdisjoint(bodies[2]["parameters"])


# --- OpenAI completions (OpenAI-compatible servers) -------------------------------------------------

COMPLETION = {
    "id": "c",
    "object": "text_completion",
    "created": 1,
    "model": "m",
    "choices": [{"index": 0, "text": " world", "finish_reason": "length"}],
}


def test_openai_completions_for_v1_urls(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", "/v1/completions", json=COMPLETION)
    with Runner(kind, base_url=fixture_server.url + "/v1") as run:
        assert run("text_generation", "hello", max_new_tokens=5, temperature=0.5, stop=["\n"]) == " world"
        out = run("text_generation", "hello", details=True, seed=3)
    assert out.details.finish_reason == "length" and out.details.seed == 3
    body = posts(fixture_server)[0].json()
    assert body == {
        "model": "dummy",
        "prompt": "hello",
        "max_tokens": 5,
        "temperature": 0.5,
        "stop": ["\n"],
        "stream": False,
    }


def test_openai_completions_stream(fixture_server: FixtureServer, kind: str) -> None:
    chunk = {"choices": [{"index": 0, "text": "a", "finish_reason": None}]}
    last = {"choices": [{"index": 0, "text": "b", "finish_reason": "stop"}]}
    fixture_server.add("POST", "/v1/completions", sse=[chunk, chunk, last, "data: [DONE]\n\n"])
    with Runner(kind, base_url=fixture_server.url + "/v1") as run:
        assert run("text_generation", "x", stream=True) == ["a", "a", "b"]
        events = run("text_generation", "x", stream=True, details=True)
    assert [e.token.text for e in events] == ["a", "a", "b"]
    assert events[-1].generated_text == "aab" and events[-1].details.finish_reason == "stop"


def test_tgi_stream_cut_before_final_event(fixture_server: FixtureServer, kind: str) -> None:
    token = {
        "index": 1,
        "token": {"id": 1, "text": "a", "logprob": 0.0, "special": False},
        "generated_text": None,
        "details": None,
    }
    fixture_server.add("POST", "/", sse=[token, token], reset_after_chunks=2)
    with Runner(kind, fixture_server.url, max_retries=0) as run, pytest.raises(InferenceConnectionError):
        run("text_generation", "x", stream=True)


def test_tgi_stream_ended_cleanly_before_final_event_is_complete(fixture_server: FixtureServer, kind: str) -> None:
    # The chunked terminator came: the server finished, even without the event carrying generated_text.
    token = {"index": 1, "token": {"id": 1, "text": "a", "logprob": 0.0, "special": False}}
    fixture_server.add("POST", "/", sse=[token, token])
    with Runner(kind, fixture_server.url) as run:
        assert run("text_generation", "x", stream=True) == ["a", "a"]


def test_prompt_must_be_text(fixture_server: FixtureServer) -> None:
    with Runner("sync", fixture_server.url) as run, pytest.raises(TypeError, match="prompt"):
        run("text_generation", ["not", "a", "str"])
    assert fixture_server.requests == []
