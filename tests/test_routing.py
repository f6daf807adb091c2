"""Where a call goes: provider and task lookups, router or direct, tokens, base-URL overrides, the
Hub mapping (cache, status, task, LoRA adapters) and provider=None/"auto"."""

from __future__ import annotations

import io
import uuid
import warnings
from typing import Any

import pytest
from PIL import Image

from cassettes import posts
from clients import Runner
from fixture_server import FixtureServer
from omniinfer.providers import REGISTRY, env_name

MESSAGES = [{"role": "user", "content": "hi"}]
COMPLETION = {
    "id": "c",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
}


@pytest.fixture
def model() -> str:
    """A model id of the test's own: Hub mappings are cached per process, keyed by the Hub's URL,
    and a later test's fixture server may get the same port."""
    return f"org/m-{uuid.uuid4().hex[:12]}"


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def _mapping(hub: FixtureServer, model: str, entries: dict[str, dict[str, Any]]) -> None:
    hub.add("GET", f"/api/models/{model}", host="huggingface.co", json={"inferenceProviderMapping": entries})


def _entry(provider_id: str, task: str = "conversational", **more: Any) -> dict[str, Any]:
    return {"status": "live", "providerId": provider_id, "task": task, **more}


def test_unknown_provider_lists_the_available_ones(hub: FixtureServer, model: str) -> None:
    with Runner("sync", model, provider="nope", token="hf_t") as run:
        with pytest.raises(ValueError, match=r"Provider 'nope' not supported.*'auto'.*'together'"):
            run("chat_completion", MESSAGES)
    assert hub.requests == []


def test_unknown_task_lists_the_provider_tasks(hub: FixtureServer, model: str) -> None:
    with Runner("sync", model, provider="cerebras", token="hf_t") as run:
        with pytest.raises(
            ValueError, match=r"Task 'text-to-image' not supported for provider 'cerebras'.*conversational"
        ):
            run("text_to_image", "a cat")
    assert hub.requests == []


@pytest.mark.parametrize("provider", sorted(p.id for p in REGISTRY.values() if p.token_required))
def test_no_token_is_refused_before_any_request(hub: FixtureServer, provider: str, model: str) -> None:
    task = "conversational" if "conversational" in REGISTRY[provider].tasks else "text-to-image"
    method, args = ("chat_completion", (MESSAGES,)) if task == "conversational" else ("text_to_image", ("x",))
    with Runner("sync", model, provider=provider) as run:
        with pytest.raises(ValueError, match=f"api_key to work with the {provider} API"):
            run(method, *args)
    assert hub.requests == []


def test_router_or_direct_is_decided_by_the_key(
    hub: FixtureServer, monkeypatch: pytest.MonkeyPatch, model: str
) -> None:
    monkeypatch.setenv(env_name("groq"), hub.host_url("api.groq.com"))
    _mapping(hub, model, {"groq": _entry("llama")})
    hub.add("POST", "/groq/openai/v1/chat/completions", host="router.huggingface.co", json=COMPLETION)
    hub.add("POST", "/openai/v1/chat/completions", host="api.groq.com", json=COMPLETION)
    for token in ("hf_routed", "gsk_direct"):
        with Runner("sync", model, provider="groq", token=token, headers={"X-HF-Bill-To": "my-org"}) as run:
            run("chat_completion", MESSAGES)
    routed, direct = posts(hub)
    assert (routed.host, routed.headers["authorization"]) == ("router.huggingface.co", "Bearer hf_routed")
    assert (direct.host, direct.headers["authorization"]) == ("api.groq.com", "Bearer gsk_direct")
    assert routed.headers["x-hf-bill-to"] == "my-org"
    hub_calls = [r for r in hub.requests if r.host == "huggingface.co"]
    assert len(hub_calls) == 1  # the mapping is fetched once per process
    assert hub_calls[0].headers["authorization"] == "Bearer hf_routed"  # a provider key never goes to the Hub


def test_base_urls_are_read_per_request(hub: FixtureServer, monkeypatch: pytest.MonkeyPatch, model: str) -> None:
    _mapping(hub, model, {"cerebras": _entry("llama")})
    hub.add("POST", "/v1/chat/completions", host="gateway-a", json=COMPLETION)
    hub.add("POST", "/v1/chat/completions", host="gateway-b", json=COMPLETION)
    with Runner("sync", model, provider="cerebras", token="csk") as run:
        for gateway in ("gateway-a", "gateway-b"):
            monkeypatch.setenv("OMNIINFER_BASE_URL_CEREBRAS", hub.host_url(gateway) + "/")
            run("chat_completion", MESSAGES)
    assert [r.host for r in posts(hub)] == ["gateway-a", "gateway-b"]


def test_router_url_override(fixture_server: FixtureServer, monkeypatch: pytest.MonkeyPatch, model: str) -> None:
    monkeypatch.setenv("HF_ENDPOINT", fixture_server.host_url("hub.internal"))
    monkeypatch.setenv("OMNIINFER_ROUTER_URL", fixture_server.host_url("router.internal") + "/prefix")
    fixture_server.add(
        "GET", f"/api/models/{model}", host="hub.internal", json={"inferenceProviderMapping": {"groq": _entry("g")}}
    )
    fixture_server.add("POST", "/prefix/groq/openai/v1/chat/completions", host="router.internal", json=COMPLETION)
    with Runner("sync", model, provider="groq", token="hf_t") as run:
        run("chat_completion", MESSAGES)
    assert posts(fixture_server)[0].json()["model"] == "g"


@pytest.mark.parametrize("provider", [None, "auto"])
def test_auto_takes_the_first_provider_that_serves_the_task(
    hub: FixtureServer, provider: str | None, model: str
) -> None:
    _mapping(
        hub,
        model,
        {
            "unknown-provider": _entry("x"),
            "replicate": _entry("y"),  # replicate has no chat
            "novita": _entry("novita/m"),
            "together": _entry("together/m"),
        },
    )
    hub.add("POST", "/novita/v3/openai/chat/completions", host="router.huggingface.co", json=COMPLETION)
    with Runner("sync", model, provider=provider, token="hf_t") as run:
        run("chat_completion", MESSAGES)
    assert posts(hub)[0].json()["model"] == "novita/m"


def test_auto_without_any_serving_provider(hub: FixtureServer, model: str) -> None:
    _mapping(hub, model, {"fal-ai": _entry("f", "text-to-image")})
    with Runner("sync", model, token="hf_t") as run:
        with pytest.raises(ValueError, match=rf"No provider serves model '{model}'.*\['fal-ai'\]"):
            run("chat_completion", MESSAGES)
    assert posts(hub) == []


def test_a_url_model_is_always_an_endpoint(hub: FixtureServer) -> None:
    hub.add("POST", "/v1/chat/completions", host="my-endpoint", json=COMPLETION)
    with Runner("sync", hub.host_url("my-endpoint"), provider="together", token="hf_t") as run:
        run("chat_completion", MESSAGES)
    assert [r.host for r in hub.requests] == ["my-endpoint"]


def test_model_missing_from_the_mapping(hub: FixtureServer, model: str) -> None:
    _mapping(hub, model, {"together": _entry("t")})
    with Runner("sync", model, provider="groq", token="hf_t") as run:
        with pytest.raises(ValueError, match=f"Model {model} is not supported by provider groq"):
            run("chat_completion", MESSAGES)


def test_task_mismatch_names_the_supported_task(hub: FixtureServer, model: str) -> None:
    _mapping(hub, model, {"fal-ai": _entry("f", "text-to-video")})
    with Runner("sync", model, provider="fal-ai", token="hf_t") as run:
        with pytest.raises(ValueError, match="Supported task: text-to-video"):
            run("text_to_image", "x")
    assert posts(hub) == []


@pytest.mark.parametrize(("status", "message"), [("staging", "staging mode"), ("error", "error state")])
def test_status_warns(hub: FixtureServer, status: str, message: str, model: str) -> None:
    _mapping(hub, model, {"cerebras": {**_entry("c"), "status": status}})
    hub.add("POST", "/cerebras/v1/chat/completions", host="router.huggingface.co", json=COMPLETION)
    with Runner("sync", model, provider="cerebras", token="hf_t") as run:
        with pytest.warns(UserWarning, match=message):
            run("chat_completion", MESSAGES)


@pytest.mark.parametrize("provider_id", ["fal-ai/flux-lora", "fal-ai/lora"])
def test_fal_ai_lora_adapter(hub: FixtureServer, provider_id: str, model: str) -> None:
    adapter = _entry(provider_id, "text-to-image", adapter="lora", adapterWeightsPath="weights/lora.safetensors")
    _mapping(hub, model, {"fal-ai": adapter})
    files = hub.host_url("files.example")
    hub.add("POST", f"/fal-ai/{provider_id}", host="router.huggingface.co", json={"images": [{"url": files + "/i"}]})
    hub.add("GET", "/i", host="files.example", body=_png())
    with Runner("sync", model, provider="fal-ai", token="hf_t") as run:
        run("text_to_image", "x")
    body = posts(hub)[0].json()
    path = hub.host_url("huggingface.co") + f"/{model}/resolve/main/weights/lora.safetensors"
    assert body["loras"] == [{"path": path, "scale": 1}]
    assert body.get("model_name") == (
        "stabilityai/stable-diffusion-xl-base-1.0" if provider_id == "fal-ai/lora" else None
    )


def test_replicate_lora_adapter(hub: FixtureServer, model: str) -> None:
    adapter = _entry("owner/flux-lora:v9", "text-to-image", adapter="lora", adapterWeightsPath="lora.safetensors")
    _mapping(hub, model, {"replicate": adapter})
    files = hub.host_url("files.example")
    hub.add("POST", "/replicate/v1/predictions", host="router.huggingface.co", json={"output": files + "/i"})
    hub.add("GET", "/i", host="files.example", body=_png())
    with Runner("sync", model, provider="replicate", token="hf_t") as run:
        run("text_to_image", "x")
    assert posts(hub)[0].json() == {
        "input": {"prompt": "x", "lora_weights": f"https://huggingface.co/{model}"},
        "version": "v9",
    }


def test_malformed_provider_answer_is_a_typed_error(hub: FixtureServer, model: str) -> None:
    from omniinfer import MalformedResponseError

    _mapping(hub, model, {"together": _entry("t", "text-to-image")})
    hub.add("POST", "/together/v1/images/generations", host="router.huggingface.co", json={"data": []})
    with Runner("sync", model, provider="together", token="hf_secret") as run, warnings.catch_warnings():
        with pytest.raises(MalformedResponseError, match=r"together answered without `data\[0\]`") as error:
            run("text_to_image", "x")
    assert "hf_secret" not in str(error.value)
