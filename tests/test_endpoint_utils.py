"""health_check and get_endpoint_info: a live endpoint (the fixture server), a dead one (a closed
port), and the argument rules of the Hugging Face client (URL models only, the hf-inference provider
or the default)."""

from __future__ import annotations

import time

import pytest

from clients import Runner
from fixture_server import FixtureServer
from omniinfer import InferenceClient, InferenceConnectionError, MalformedResponseError, NotFoundError
from peers import free_port

INFO = {"model_id": "Qwen/Qwen2.5-0.5B-Instruct", "max_input_tokens": 4095, "model_dtype": "torch.float16"}


def _dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # bound then closed: connecting is refused


@pytest.mark.parametrize("provider", [None, "auto", "hf-inference"])
def test_health_of_a_live_endpoint(fixture_server: FixtureServer, kind: str, provider: str | None) -> None:
    fixture_server.add("GET", "/health", host="tgi.local", status=200)
    url = fixture_server.host_url("tgi.local")
    with Runner(kind, url + "/", provider=provider, token="hf_secret") as run:
        assert run("health_check") is True
    (sent,) = fixture_server.requests
    assert (sent.method, sent.path) == ("GET", "/health")
    assert sent.headers["authorization"] == "Bearer hf_secret"  # the endpoint's own token, as for its calls
    assert sent.body == b""


@pytest.mark.parametrize("status", [404, 503, 204])
def test_health_is_false_for_any_other_answer(fixture_server: FixtureServer, kind: str, status: int) -> None:
    fixture_server.add("GET", "/health", host="tgi.local", status=status, body=b"")
    with Runner(kind) as run:
        assert run("health_check", fixture_server.host_url("tgi.local")) is False
    assert len(fixture_server.requests) == 1  # a health check answers at once: never retried


def test_health_of_a_dead_endpoint_is_false_and_quick(kind: str) -> None:
    with Runner(kind, _dead_url()) as run:
        started = time.monotonic()
        assert run("health_check") is False
    assert time.monotonic() - started < 5


def test_health_per_call_url_wins(fixture_server: FixtureServer) -> None:
    fixture_server.add("GET", "/health", host="b.local", status=200)
    with InferenceClient(_dead_url()) as client:
        assert client.health_check(fixture_server.host_url("b.local")) is True


def test_info_of_a_live_endpoint(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("GET", "/info", host="tgi.local", json=INFO)
    with Runner(kind, base_url=fixture_server.host_url("tgi.local")) as run:
        info = run("get_endpoint_info")
    assert info == INFO and isinstance(info, dict)
    assert fixture_server.requests[0].path == "/info"


def test_info_per_call_url(fixture_server: FixtureServer) -> None:
    fixture_server.add("GET", "/info", host="tgi.local", json=INFO)
    with InferenceClient() as client:
        assert client.get_endpoint_info(model=fixture_server.host_url("tgi.local"))["model_id"] == INFO["model_id"]


def test_info_of_a_dead_endpoint_raises_a_typed_error(kind: str) -> None:
    with Runner(kind, _dead_url(), max_retries=0) as run:
        with pytest.raises(InferenceConnectionError):
            run("get_endpoint_info")


def test_info_errors(fixture_server: FixtureServer) -> None:
    fixture_server.add("GET", "/info", host="nope.local", status=404, json={"error": "Not Found"})
    fixture_server.add("GET", "/info", host="list.local", json=[1, 2])
    with InferenceClient() as client:
        with pytest.raises(NotFoundError):
            client.get_endpoint_info(model=fixture_server.host_url("nope.local"))
        with pytest.raises(MalformedResponseError, match="JSON object"):
            client.get_endpoint_info(model=fixture_server.host_url("list.local"))


@pytest.mark.parametrize("method", ["health_check", "get_endpoint_info"])
def test_argument_rules(fixture_server: FixtureServer, method: str) -> None:
    url = fixture_server.host_url("tgi.local")
    with InferenceClient() as client, pytest.raises(ValueError, match="Model id not provided"):
        getattr(client, method)()
    with InferenceClient("meta-llama/Llama-3.1-8B-Instruct") as client, pytest.raises(ValueError, match="URL"):
        getattr(client, method)()
    with InferenceClient(url, provider="together") as client, pytest.raises(ValueError, match="'hf-inference'"):
        getattr(client, method)()
    with InferenceClient(url, provider=["together", "groq"]) as client, pytest.raises(ValueError, match="provider"):
        getattr(client, method)()
    assert fixture_server.requests == []


def test_info_for_a_hub_id_explains_it_needs_an_endpoint() -> None:
    with InferenceClient() as client, pytest.raises(ValueError, match="Inference Endpoint"):
        client.get_endpoint_info(model="meta-llama/Llama-3.1-8B-Instruct")
