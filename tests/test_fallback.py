"""Fallback across providers and the circuit breaker, through the router on the fixture server."""

from __future__ import annotations

import time

import pytest

from cassettes import posts
from clients import Runner
from fixture_server import FixtureServer
from omniinfer import BadRequestError, ServerError
from omniinfer._core.fallback import BREAKER, CircuitBreaker
from samples import HI, completion

MODEL = "org/fallback-model"
ROUTER = "router.huggingface.co"
MAPPING = {
    "together": {"status": "live", "providerId": "together-id", "task": "conversational"},
    "fireworks-ai": {"status": "live", "providerId": "fireworks-id", "task": "conversational"},
}
TOGETHER = "/together/v1/chat/completions"
FIREWORKS = "/fireworks-ai/inference/v1/chat/completions"


@pytest.fixture
def routed(hub: FixtureServer) -> FixtureServer:
    hub.add("GET", f"/api/models/{MODEL}", host="huggingface.co", json={"inferenceProviderMapping": MAPPING})
    return hub


def sent_to(server: FixtureServer) -> list[str]:
    return [r.path.split("/")[1] for r in posts(server)]


def test_provider_list_falls_back_on_a_server_error(routed: FixtureServer, kind: str) -> None:
    routed.add("POST", TOGETHER, host=ROUTER, status=503, json={"error": "overloaded"})
    routed.add("POST", FIREWORKS, host=ROUTER, json=completion("from fireworks"))
    with Runner(kind, MODEL, provider=["together", "fireworks-ai"], token="hf_t", max_retries=1) as run:
        out = run("chat_completion", HI)
    assert out.choices[0].message.content == "from fireworks"
    assert out.response_meta.provider == "fireworks-ai"
    assert out.response_meta.model == "fireworks-id"
    assert sent_to(routed) == ["together", "together", "fireworks-ai"]  # its own retry first, then the next


def test_auto_with_fallback_follows_the_mapping_order(routed: FixtureServer, kind: str) -> None:
    routed.add("POST", TOGETHER, host=ROUTER, status=429, json={"error": "rate limited"})
    routed.add("POST", FIREWORKS, host=ROUTER, json=completion("ok"))
    with Runner(kind, MODEL, provider="auto", fallback=True, token="hf_t", max_retries=0) as run:
        assert run("chat_completion", HI).response_meta.provider == "fireworks-ai"


def test_auto_without_fallback_raises(routed: FixtureServer) -> None:
    routed.add("POST", TOGETHER, host=ROUTER, status=503, json={"error": "overloaded"})
    with Runner("sync", MODEL, token="hf_t", max_retries=0) as run, pytest.raises(ServerError):
        run("chat_completion", HI)
    assert sent_to(routed) == ["together"]


def test_a_client_error_does_not_fall_back(routed: FixtureServer) -> None:
    routed.add("POST", TOGETHER, host=ROUTER, status=400, json={"error": "bad messages"})
    with Runner("sync", MODEL, provider=["together", "fireworks-ai"], token="hf_t") as run:
        with pytest.raises(BadRequestError):
            run("chat_completion", HI)
    assert sent_to(routed) == ["together"]


def test_when_every_provider_fails_the_last_error_is_raised(routed: FixtureServer, kind: str) -> None:
    routed.add("POST", TOGETHER, host=ROUTER, status=503, json={"error": "first"})
    routed.add("POST", FIREWORKS, host=ROUTER, status=502, json={"error": "second"})
    with Runner(kind, MODEL, provider=["together", "fireworks-ai"], token="hf_t", max_retries=0) as run:
        with pytest.raises(ServerError) as caught:
            run("chat_completion", HI)
    assert caught.value.provider == "fireworks-ai" and caught.value.server_message == "second"


def test_stream_falls_back_before_its_first_byte(routed: FixtureServer, kind: str) -> None:
    chunk = {"choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}]}
    routed.add("POST", TOGETHER, host=ROUTER, status=503, json={"error": "overloaded"})
    routed.add("POST", FIREWORKS, host=ROUTER, sse=[chunk, "data: [DONE]\n\n"])
    with Runner(kind, MODEL, provider=["together", "fireworks-ai"], token="hf_t", max_retries=0) as run:
        chunks = run("chat_completion", HI, stream=True)
    assert [c.choices[0].delta.content for c in chunks] == ["hi"]


def test_open_breaker_skips_the_failing_provider(routed: FixtureServer) -> None:
    routed.add("POST", TOGETHER, host=ROUTER, status=503, json={"error": "down"})
    routed.add("POST", FIREWORKS, host=ROUTER, json=completion("ok"))
    with Runner("sync", MODEL, provider=["together", "fireworks-ai"], token="hf_t", max_retries=0) as run:
        for _ in range(BREAKER.failures_to_open):
            run("chat_completion", HI)
        assert BREAKER.is_open("together")
        before = sent_to(routed).count("together")
        assert run("chat_completion", HI).response_meta.provider == "fireworks-ai"
    assert sent_to(routed).count("together") == before  # not even tried while open


def test_breaker_half_opens_after_its_cool_down() -> None:
    breaker = CircuitBreaker(failures_to_open=2, cool_down=0.05)
    breaker.failure("p")
    assert not breaker.is_open("p")
    breaker.failure("p")
    assert breaker.is_open("p")
    time.sleep(0.06)
    assert not breaker.is_open("p")  # half-open: one call may try
    breaker.failure("p")
    assert breaker.is_open("p")  # a failure while half-open opens it again at once
    breaker.success("p")
    assert not breaker.is_open("p")


def test_provider_list_must_not_be_empty() -> None:
    with pytest.raises(ValueError, match="at least one provider"):
        Runner("sync", MODEL, provider=[])
