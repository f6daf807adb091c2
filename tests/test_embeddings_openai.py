"""feature_extraction against OpenAI-compatible servers (`POST .../v1/embeddings`): the wire form over
the fixture server, and the vectors of a real llama.cpp server started with `--embeddings`."""

from __future__ import annotations

import base64
import struct

import numpy as np
import pytest

from clients import Runner
from fixture_server import FixtureServer
from omniinfer import InferenceClient, MalformedResponseError
from omniinfer.tasks.embeddings import embeddings_url

EMBEDDINGS = {
    "object": "list",
    "data": [
        {"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]},
        {"object": "embedding", "index": 1, "embedding": [0.4, 0.5, 0.6]},
    ],
    "model": "qwen",
}


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


# --- the real peer -------------------------------------------------------------------------------


@pytest.mark.peer
def test_llama_cpp_embeddings(llama_embeddings_url: str, kind: str) -> None:
    # "The cat", not the bare word: a one-token input is a single hidden state of a small chat
    # model, which says more about the token's position than its meaning (cat~tax 0.99 there).
    with Runner(kind, base_url=llama_embeddings_url + "/v1") as run:
        vectors = run("feature_extraction", ["The cat", "The kitten", "The tax"])
        single = run("feature_extraction", "The cat")
    assert isinstance(vectors, np.ndarray)
    assert vectors.dtype == np.float32
    assert vectors.shape == (3, 896)
    assert single.shape == (1, 896)
    cat, kitten, tax = vectors
    assert _cosine(cat, kitten) > _cosine(cat, tax)
    assert np.allclose(single[0], cat, atol=1e-4)


@pytest.mark.peer
def test_llama_cpp_embeddings_with_a_per_call_url(llama_embeddings_url: str) -> None:
    with InferenceClient() as client:
        vectors = client.feature_extraction("hello", model=llama_embeddings_url + "/v1/")
    assert vectors.shape == (1, 896) and vectors.dtype == np.float32


# --- the wire form -------------------------------------------------------------------------------


def test_body_route_and_token(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", "/v1/embeddings", host="llm.local", json=EMBEDDINGS)
    base = fixture_server.host_url("llm.local") + "/v1"
    with Runner(kind, base_url=base, api_key="sk-local") as run:
        vectors = run("feature_extraction", ["a", "b"], normalize=True)
    assert vectors.dtype == np.float32 and vectors.shape == (2, 3)
    assert np.allclose(vectors[1], [0.4, 0.5, 0.6])
    (sent,) = fixture_server.requests
    assert sent.method == "POST" and sent.path == "/v1/embeddings"
    assert sent.json() == {"input": ["a", "b"], "normalize": True, "model": "dummy"}
    assert sent.headers["authorization"] == "Bearer sk-local"


def test_a_model_id_given_to_the_call_names_the_model_on_the_clients_url(fixture_server: FixtureServer) -> None:
    fixture_server.add("POST", "/v1/embeddings", host="llm.local", json=EMBEDDINGS)
    with InferenceClient(base_url=fixture_server.host_url("llm.local") + "/v1") as client:
        client.feature_extraction("a", model="text-embedding-3-small")
    assert fixture_server.requests[0].json() == {"input": "a", "model": "text-embedding-3-small"}


def test_the_root_url_keeps_the_tei_route(fixture_server: FixtureServer) -> None:
    fixture_server.add("POST", "/", host="tei.local", json=[[0.5, 0.25]])
    with InferenceClient(fixture_server.host_url("tei.local")) as client:
        vectors = client.feature_extraction("a")
    assert vectors.shape == (1, 2)
    assert fixture_server.requests[0].json() == {"inputs": "a"}


def _b64(values: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


def test_dimensions_and_base64_encoding(fixture_server: FixtureServer, kind: str) -> None:
    # huggingface_hub 2.x arguments: sent as asked; base64 vectors read back into the same array.
    answer = {"data": [{"index": 0, "embedding": _b64([0.5, -1.0])}, {"index": 1, "embedding": _b64([2.0, 0.25])}]}
    fixture_server.add("POST", "/v1/embeddings", host="llm.local", json=answer)
    with Runner(kind, base_url=fixture_server.host_url("llm.local") + "/v1") as run:
        vectors = run("feature_extraction", ["a", "b"], dimensions=2, encoding_format="base64", model="e")
    assert vectors.dtype == np.float32 and vectors.tolist() == [[0.5, -1.0], [2.0, 0.25]]
    sent = fixture_server.requests[0].json()
    assert sent == {"input": ["a", "b"], "dimensions": 2, "encoding_format": "base64", "model": "e"}


def test_dimensions_go_to_a_tei_endpoint_too(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", "/", host="tei.local", json=[[0.5, 0.25]])
    with Runner(kind, fixture_server.host_url("tei.local")) as run:
        run("feature_extraction", "a", dimensions=2)
    assert fixture_server.requests[0].json() == {"inputs": "a", "dimensions": 2}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"dimensions": 0}, "dimensions"), ({"dimensions": "2"}, "dimensions"), ({"encoding_format": "hex"}, "encoding")],
)
def test_bad_dimensions_or_encoding_fail_early(
    fixture_server: FixtureServer, kwargs: dict[str, object], match: str
) -> None:
    with InferenceClient(fixture_server.url + "/v1") as client, pytest.raises(ValueError, match=match):
        client.feature_extraction("a", **kwargs)  # type: ignore[arg-type]
    assert fixture_server.requests == []


def test_undecodable_base64_is_a_typed_error(fixture_server: FixtureServer) -> None:
    fixture_server.add("POST", "/v1/embeddings", host="llm.local", json={"data": [{"embedding": "%%%"}]})
    with InferenceClient(base_url=fixture_server.host_url("llm.local") + "/v1") as client:
        with pytest.raises(MalformedResponseError, match="base64"):
            client.feature_extraction("a", encoding_format="base64")


@pytest.mark.parametrize(
    "body",
    [{"data": [{"index": 0}]}, {"object": "list"}, {"data": [{"embedding": [1.0]}, {"embedding": [1.0, 2.0]}]}],
    ids=["no-embedding", "no-data", "ragged"],
)
def test_a_malformed_answer_is_a_typed_error(fixture_server: FixtureServer, body: object) -> None:
    fixture_server.add("POST", "/v1/embeddings", host="llm.local", json=body)
    with InferenceClient(base_url=fixture_server.host_url("llm.local") + "/v1") as client:
        with pytest.raises(MalformedResponseError, match=r"`data`|embedding|feature-extraction"):
            client.feature_extraction("a")


@pytest.mark.parametrize(
    ("text", "error"),
    [([], ValueError), (["a", 1], TypeError), (b"bytes", ValueError), (3, TypeError)],
)
def test_bad_inputs_are_refused_before_sending(fixture_server: FixtureServer, text: object, error: type) -> None:
    with InferenceClient(base_url=fixture_server.host_url("llm.local") + "/v1") as client:
        with pytest.raises(error, match="`text`"):
            client.feature_extraction(text)  # type: ignore[arg-type]
    assert fixture_server.requests == []


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("http://h:1/v1", "http://h:1/v1/embeddings"),
        ("http://h:1/v1/", "http://h:1/v1/embeddings"),
        ("http://h:1/v1/embeddings", "http://h:1/v1/embeddings"),
        ("http://h:1/v1/chat/completions", "http://h:1/v1/embeddings"),
        ("http://h:1/v1/completions", "http://h:1/v1/embeddings"),
    ],
)
def test_embeddings_url(base: str, url: str) -> None:
    assert embeddings_url(base) == url
