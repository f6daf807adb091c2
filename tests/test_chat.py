"""chat_completion against recorded interactions and scripted servers, on both clients."""

from __future__ import annotations

import warnings

import pytest

from cassettes import assert_sent_as_recorded, load, posts
from clients import Runner
from fixture_server import FixtureServer
from omniinfer import (
    BadRequestError,
    ChatCompletionOutput,
    ChatCompletionStreamOutput,
    IncompleteStreamError,
    InferenceHTTPError,
    MalformedResponseError,
    ServerError,
    TextGenerationError,
)
from samples import CHUNK, COMPLETION

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is deep learning?"},
]


def test_hf_inference_no_stream(hub: FixtureServer, kind: str) -> None:
    recorded = load(hub, "TestInferenceClient.test_chat_completion_no_stream[hf-inference,conversational]")
    with Runner(kind, "meta-llama/Llama-3.1-8B-Instruct", provider="hf-inference") as run:
        out = run("chat_completion", MESSAGES)
    assert isinstance(out, ChatCompletionOutput)
    assert out.choices[0].message.content.startswith("Deep learning is a subfield")
    assert out["choices"][0]["message"]["role"] == "assistant"
    assert out.choices[0].message.tool_calls is None
    assert_sent_as_recorded(hub, recorded)


def test_hf_inference_stream(hub: FixtureServer, kind: str) -> None:
    recorded = load(hub, "TestInferenceClient.test_chat_completion_with_stream[hf-inference,conversational]")
    with Runner(kind, "meta-llama/Llama-3.1-8B-Instruct", provider="hf-inference") as run:
        chunks = run("chat_completion", MESSAGES, max_tokens=20, stream=True)
    assert all(isinstance(c, ChatCompletionStreamOutput) for c in chunks)
    assert len(chunks) == 20
    assert chunks[-1].choices[0].finish_reason == "length"
    text = "".join(c.choices[0].delta.content for c in chunks)
    assert text.startswith("Deep learning")
    assert_sent_as_recorded(hub, recorded)


@pytest.mark.parametrize(
    "provider", ["together", "cerebras", "fireworks-ai", "nebius", "novita", "sambanova", "hyperbolic"]
)
def test_providers_through_the_router(hub: FixtureServer, kind: str, provider: str) -> None:
    recorded = load(hub, f"TestInferenceClient.test_chat_completion_no_stream[{provider},conversational]")
    hf_model = recorded[0].path.removeprefix("/api/models/")
    with Runner(kind, hf_model, provider=provider, token="hf_test_token") as run, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*staging mode", category=UserWarning)  # some were staging
        out = run("chat_completion", MESSAGES)
    assert out.choices[0].message.content
    sent = posts(hub)[0]
    assert sent.headers["authorization"] == "Bearer hf_test_token"
    assert sent.path.startswith(f"/{provider}/")
    assert_sent_as_recorded(hub, recorded)


def test_staging_mapping_warns_and_auto_picks_first_provider(hub: FixtureServer) -> None:
    load(hub, "TestInferenceClient.test_chat_completion_no_stream[together,conversational]")
    # The recorded mapping lists fireworks-ai (staging) first: "auto" takes it, with a warning.
    hub.add("POST", "/fireworks-ai/inference/v1/chat/completions", host="router.huggingface.co", json=COMPLETION)
    with Runner("sync", "meta-llama/Meta-Llama-3-8B-Instruct", token="hf_t") as run:
        with pytest.warns(UserWarning, match="staging"):
            out = run("chat_completion", MESSAGES)
    assert out.choices[0].message.content == "ok"
    assert posts(hub)[0].json()["model"] == "accounts/fireworks/models/llama-v3-8b-instruct"


def test_task_mismatch_names_the_supported_task(hub: FixtureServer) -> None:
    hub.add(
        "GET",
        "/api/models/org/img-model",
        host="huggingface.co",
        json={"inferenceProviderMapping": {"together": {"status": "live", "providerId": "x", "task": "text-to-image"}}},
    )
    with Runner("sync", "org/img-model", provider="together", token="hf_t") as run:
        with pytest.raises(ValueError, match="Supported task: text-to-image"):
            run("chat_completion", MESSAGES)
    assert posts(hub) == []


def test_provider_stream_through_the_router(hub: FixtureServer, kind: str) -> None:
    recorded = load(hub, "TestInferenceClient.test_chat_completion_with_stream[together,conversational]")
    with Runner(kind, "meta-llama/Meta-Llama-3-8B-Instruct", provider="together", token="hf_t") as run:
        chunks = run("chat_completion", MESSAGES, max_tokens=20, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert_sent_as_recorded(hub, recorded)


def test_openai_alias_with_base_url(hub: FixtureServer, kind: str) -> None:
    hub.add("POST", "/v1/chat/completions", json=COMPLETION)
    with Runner(kind, base_url=hub.url + "/v1", api_key="sk-local") as run:
        out = run_create(run, model="my-model", messages=[{"role": "user", "content": "hi"}])
    assert out.choices[0].message.content == "ok"
    sent = posts(hub)[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.json()["model"] == "my-model"
    assert sent.headers["authorization"] == "Bearer sk-local"


def run_create(run: Runner, **kwargs: object) -> ChatCompletionOutput:
    if run.loop is None:
        return run.client.chat.completions.create(**kwargs)  # type: ignore[no-any-return]
    return run.loop.run_until_complete(run.client.chat.completions.create(**kwargs))  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("suffix", "expected_path"),
    [
        ("", "/v1/chat/completions"),
        ("/", "/v1/chat/completions"),
        ("/v1", "/v1/chat/completions"),
        ("/v1/", "/v1/chat/completions"),
        ("/v1/chat/completions", "/v1/chat/completions"),
        ("/custom/chat/completions", "/custom/chat/completions"),
        ("/deploy", "/deploy/v1/chat/completions"),
    ],
)
def test_endpoint_url_suffix_rules(fixture_server: FixtureServer, suffix: str, expected_path: str) -> None:
    fixture_server.add("POST", expected_path, json=COMPLETION)
    with Runner("sync", fixture_server.url + suffix) as run:
        run("chat_completion", [{"role": "user", "content": "hi"}])
    sent = posts(fixture_server)[0]
    assert sent.path == expected_path
    assert sent.json()["model"] == "dummy"  # a URL is not a model name


def test_payload_passes_tools_json_schema_and_extra_body(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", "/v1/chat/completions", json=COMPLETION)
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    schema = {"type": "json_schema", "json_schema": {"name": "p", "schema": {"type": "object"}}}
    with Runner(kind, base_url=fixture_server.url + "/v1") as run:
        run(
            "chat_completion",
            [{"role": "user", "content": "hi"}],
            model="m",
            tools=tools,
            tool_choice="auto",
            response_format=schema,
            temperature=0.0,
            seed=0,
            extra_body={"top_k": 3, "stream_options": None},
        )
    body = posts(fixture_server)[0].json()
    assert body == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "tools": tools,
        "tool_choice": "auto",
        "response_format": schema,
        "temperature": 0.0,
        "seed": 0,
        "stream": False,
        "top_k": 3,
        "stream_options": None,
    }


def test_bill_to_and_user_headers_and_cookies_are_sent(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", "/v1/chat/completions", json=COMPLETION)
    with Runner(kind, fixture_server.url, bill_to="acme", headers={"X-Trace": "t1"}, cookies={"a": "1"}) as run:
        run("chat_completion", [{"role": "user", "content": "hi"}])
    headers = posts(fixture_server)[0].headers
    assert headers["x-hf-bill-to"] == "acme"
    assert headers["x-trace"] == "t1"
    assert headers["cookie"] == "a=1"
    assert headers["user-agent"].startswith("omniinfer/")


def test_stored_token_is_sent_to_endpoint(fixture_server: FixtureServer, monkeypatch: pytest.MonkeyPatch) -> None:
    fixture_server.add("POST", "/v1/chat/completions", json=COMPLETION)
    monkeypatch.setenv("HF_TOKEN", "hf_from_env")
    with Runner("sync", fixture_server.url) as run:
        run("chat_completion", [{"role": "user", "content": "hi"}])
    assert posts(fixture_server)[0].headers["authorization"] == "Bearer hf_from_env"
    monkeypatch.setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
    with Runner("sync", fixture_server.url) as run:
        run("chat_completion", [{"role": "user", "content": "hi"}])
    assert "authorization" not in posts(fixture_server)[1].headers


# --- errors ---------------------------------------------------------------------------------------


def test_unauthorized_recorded(hub: FixtureServer, kind: str) -> None:
    load(hub, "TestInferenceClient.test_chat_completion_unprocessable_entity")
    secret = "hf_invalid_token_value"
    with Runner(kind, "meta-llama/Meta-Llama-3-70B-Instruct", provider="hf-inference", token=secret) as run:
        with pytest.raises(InferenceHTTPError) as caught:
            run("chat_completion", MESSAGES, max_tokens=200, stop=["blah"])
    error = caught.value
    assert error.status_code == 401
    assert error.provider == "hf-inference"
    assert error.server_message == "Invalid username or password."
    assert "Invalid username or password." in str(error)
    assert secret not in str(error) and secret not in repr(error.args)


@pytest.mark.parametrize(("status", "cls"), [(400, BadRequestError), (500, ServerError), (503, ServerError)])
def test_status_errors_are_typed(fixture_server: FixtureServer, kind: str, status: int, cls: type[Exception]) -> None:
    fixture_server.add(
        "POST",
        "/v1/chat/completions",
        status=status,
        json={"error": {"message": "nope"}},
        headers={"x-request-id": "req-42"},
    )
    with Runner(kind, fixture_server.url) as run, pytest.raises(cls) as caught:
        run("chat_completion", [{"role": "user", "content": "hi"}])
    error = caught.value
    assert isinstance(error, InferenceHTTPError)
    assert (error.status_code, error.request_id, error.server_message) == (status, "req-42", "nope")
    assert error.url == fixture_server.url + "/v1/chat/completions"


def test_tgi_error_body_maps_to_text_generation_error(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add(
        "POST",
        "/v1/chat/completions",
        status=424,
        json={"error": "Request failed during generation", "error_type": "generation"},
    )
    from omniinfer import GenerationError

    with Runner(kind, fixture_server.url) as run, pytest.raises(GenerationError) as caught:
        run("chat_completion", [{"role": "user", "content": "hi"}])
    assert isinstance(caught.value, TextGenerationError)
    assert caught.value.status_code == 424


def test_html_error_page(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add(
        "POST",
        "/v1/chat/completions",
        status=502,
        body="<html><body>Bad gateway</body></html>",
        headers={"Content-Type": "text/html"},
    )
    with Runner(kind, fixture_server.url) as run, pytest.raises(ServerError) as caught:
        run("chat_completion", [{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 502
    assert "<html>" not in str(caught.value)


def test_non_json_success_is_malformed(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", "/v1/chat/completions", body="not json", headers={"Content-Type": "text/plain"})
    with (
        Runner(kind, fixture_server.url) as run,
        pytest.raises(MalformedResponseError, match="Expected JSON"),
    ):
        run("chat_completion", [{"role": "user", "content": "hi"}])


def test_error_event_inside_a_stream_raises(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add(
        "POST",
        "/v1/chat/completions",
        sse=[CHUNK, {"error": "Model overloaded", "error_type": "overloaded"}, "data: [DONE]\n\n"],
    )
    from omniinfer import OverloadedError

    with Runner(kind, fixture_server.url) as run, pytest.raises(OverloadedError, match="Model overloaded"):
        run("chat_completion", [{"role": "user", "content": "hi"}], stream=True)


def test_stream_ended_cleanly_without_done_is_complete(fixture_server: FixtureServer, kind: str) -> None:
    # The chunked terminator says the server finished: `[DONE]` is a sign, not a requirement.
    fixture_server.add("POST", "/v1/chat/completions", sse=[CHUNK, CHUNK])
    with Runner(kind, fixture_server.url) as run:
        chunks = run("chat_completion", [{"role": "user", "content": "hi"}], stream=True)
    assert [c.choices[0].delta.content for c in chunks] == ["x", "x"]


def test_stream_stalled_before_done_times_out(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", "/v1/chat/completions", sse=[CHUNK, CHUNK], stall_after_chunks=2)
    from omniinfer import InferenceTimeoutError

    with Runner(kind, fixture_server.url, timeout=0.5) as run, pytest.raises(InferenceTimeoutError):
        run("chat_completion", [{"role": "user", "content": "hi"}], stream=True)


def test_stream_reset_mid_way_raises(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", "/v1/chat/completions", sse=[CHUNK, CHUNK, CHUNK], reset_after_chunks=1)
    from omniinfer import InferenceConnectionError

    with (
        Runner(kind, fixture_server.url) as run,
        pytest.raises((InferenceConnectionError, IncompleteStreamError)),
    ):
        run("chat_completion", [{"role": "user", "content": "hi"}], stream=True)


def test_bad_arguments_fail_before_any_request(fixture_server: FixtureServer) -> None:
    with Runner("sync", fixture_server.url) as run:
        with pytest.raises(TypeError, match="messages"):
            run("chat_completion", "hello")
        with pytest.raises(TypeError, match="extra_body"):
            run("chat_completion", [], extra_body=["x"])
    assert fixture_server.requests == []


def test_unknown_provider_lists_the_available_ones() -> None:
    with Runner("sync", "some/model", provider="nope", token="hf_x") as run:
        with pytest.raises(ValueError, match="Available values: 'auto' or any provider from") as caught:
            run("chat_completion", MESSAGES)
    assert "together" in str(caught.value)


def test_openai_provider_refuses_router_tokens() -> None:
    with Runner("sync", "gpt-4o", provider="openai", token="hf_x") as run:
        with pytest.raises(ValueError, match="cannot be reached through the Hugging Face router"):
            run("chat_completion", MESSAGES)


def test_provider_without_token_fails_early() -> None:
    with Runner("sync", "some/model", provider="together") as run:
        with pytest.raises(ValueError, match="api_key"):
            run("chat_completion", MESSAGES)
