"""From an OpenAI-style request body to a llama-cpp-python call, and back for tool calls. Pure.

The flows send the local provider the bodies they send any OpenAI-compatible server; this module
reads them the way such a server would: known parameters are passed on (under llama.cpp's names
where they differ), the ones llama.cpp has no use for are dropped, and a JSON schema in any of the
accepted spellings becomes a grammar that constrains the output.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from omniinfer._core.jsonutil import JSONDecodeError, dumps, loads

ROUTES = {"/v1/chat/completions": "chat", "/v1/completions": "completions", "/v1/embeddings": "embeddings"}

# Parameters passed on as they are, per route (llama-cpp-python takes them under these names).
_SAMPLING = ("temperature", "top_p", "top_k", "min_p", "typical_p", "seed", "stop", "max_tokens")
_PENALTIES = ("presence_penalty", "frequency_penalty", "repeat_penalty")
_CHAT_KEYS = (*_SAMPLING, *_PENALTIES, "tools", "tool_choice", "logprobs", "top_logprobs")
_COMPLETION_KEYS = (*_SAMPLING, *_PENALTIES, "suffix", "echo", "logprobs")
_RENAMED = {"repetition_penalty": "repeat_penalty"}  # the text-generation parameter's name

# A completion with no max_tokens stops after llama.cpp's default of 16 tokens: too short to be
# useful for text generation, where servers usually default to about a hundred.
DEFAULT_COMPLETION_TOKENS = 100


class BadRequest(ValueError):
    """The request cannot be served (answered with status 400)."""


@dataclass(slots=True)
class LocalCall:
    """One request for the local engine."""

    route: str  # "chat", "completions" or "embeddings"
    model: str  # a .gguf path or a catalogue name
    stream: bool
    arguments: dict[str, Any] = field(default_factory=dict)
    # The output is constrained by a grammar: a JSON schema (dict; {} for any JSON) or GBNF text.
    json_schema: dict[str, Any] | None = None
    gbnf: str | None = None
    # Tools are offered (these names) and the model may answer with tool calls written in its text.
    tool_names: tuple[str, ...] = ()


def parse_call(path: str, body: bytes | None) -> LocalCall:
    route = ROUTES.get(path.rstrip("/"))
    if route is None:
        raise BadRequest(f"no local route {path!r}: the local provider serves {sorted(ROUTES)}")
    try:
        data = loads(body or b"")
    except (JSONDecodeError, ValueError):
        raise BadRequest("the request body is not JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("`model` must be the path of a .gguf file or the name of a catalogue model")
    call = LocalCall(route, model, bool(data.get("stream")))
    if route == "embeddings":
        _embeddings(call, data)
    elif route == "chat":
        _chat(call, data)
    else:
        _completions(call, data)
    return call


def _embeddings(call: LocalCall, data: dict[str, Any]) -> None:
    inputs = data.get("input")
    if not (isinstance(inputs, str) or (isinstance(inputs, list) and all(isinstance(i, str) for i in inputs))):
        raise BadRequest("`input` must be a string or a list of strings")
    if call.stream:
        raise BadRequest("embeddings cannot be streamed")
    # Always a list: llama.cpp answers a lone string with its vector unwrapped.
    call.arguments = {
        "input": [inputs] if isinstance(inputs, str) else inputs,
        "normalize": bool(data.get("normalize")),
    }


def _chat(call: LocalCall, data: dict[str, Any]) -> None:
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise BadRequest("`messages` must be a non-empty list of message objects")
    _check_n(data)
    call.arguments = {"messages": messages, **_picked(data, _CHAT_KEYS)}
    _grammar(call, data.get("response_format"), "response_format")
    if data.get("grammar") is not None:
        _grammar(call, data["grammar"], "grammar")
    tools = call.arguments.get("tools")
    tool_choice = call.arguments.get("tool_choice")
    if tools is not None and not isinstance(tools, list):
        raise BadRequest("`tools` must be a list of tool definitions")
    if not tools or tool_choice == "none":
        call.arguments.pop("tools", None)
        call.arguments.pop("tool_choice", None)
    elif not isinstance(tool_choice, dict):
        # "auto"/"required": the model writes its calls in its own text format, read back here.
        call.arguments.pop("tool_choice", None)
        if call.json_schema is None and call.gbnf is None:
            call.tool_names = tuple(_tool_names(tools))


def _tool_names(tools: list[Any]) -> list[str]:
    names = []
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            names.append(function["name"])
    return names or ["*"]  # tools without names: any name is taken


def _completions(call: LocalCall, data: dict[str, Any]) -> None:
    prompt = data.get("prompt")
    if not isinstance(prompt, str):
        raise BadRequest("`prompt` must be a string")
    _check_n(data)
    renamed = {_RENAMED.get(key, key): value for key, value in data.items()}
    call.arguments = {"prompt": prompt, **_picked(renamed, _COMPLETION_KEYS)}
    call.arguments.setdefault("max_tokens", DEFAULT_COMPLETION_TOKENS)
    _grammar(call, data.get("grammar") or data.get("response_format"), "grammar")


def _picked(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    picked = {key: data[key] for key in keys if data.get(key) is not None}
    if picked.get("stop") == []:
        del picked["stop"]
    if isinstance(picked.get("logprobs"), bool):  # chat: a flag; completions: a count
        picked["logprobs"] = picked["logprobs"] or None
    return {key: value for key, value in picked.items() if value is not None}


def _check_n(data: dict[str, Any]) -> None:
    if data.get("n") not in (None, 1):
        raise BadRequest("the local provider generates one choice per request: `n` must be 1")


def _grammar(call: LocalCall, spec: Any, name: str) -> None:
    """Every accepted spelling of a constrained output: OpenAI's `json_schema`, `json_object` (with
    or without a schema), the Hugging Face `{"type": "json", "value": schema}`, or GBNF text."""
    if spec is None:
        return
    if isinstance(spec, str):
        call.gbnf = spec
        return
    if not isinstance(spec, dict):
        raise BadRequest(f"`{name}` must be an object")
    kind = spec.get("type")
    if kind == "text":
        return
    if kind == "json_schema":
        inner = spec.get("json_schema")
        schema = inner.get("schema") if isinstance(inner, dict) else None
    elif kind in ("json_object", "json"):
        schema = spec.get("schema", spec.get("value"))
    elif kind == "regex":
        raise BadRequest("regular-expression grammars are not supported by the local provider: use a JSON schema")
    else:
        raise BadRequest(f"unsupported `{name}` type {kind!r}")
    if schema is None:
        schema = {}
    if not isinstance(schema, dict):
        raise BadRequest(f"the JSON schema in `{name}` must be an object")
    call.json_schema = schema


_TOOL_CALL = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)


def read_tool_calls(text: str, names: tuple[str, ...]) -> tuple[str | None, list[dict[str, Any]]]:
    """The text before any tool call, and the calls a model wrote as `{"name", "arguments"}` JSON
    objects (the format of Qwen, Hermes and other ChatML tool templates), in the OpenAI shape.

    The objects may stand within `<tool_call>` tags or, when those are special tokens that do not
    survive detokenizing, alone: then the whole text must be such objects naming offered tools."""
    tagged = list(_TOOL_CALL.finditer(text))
    if tagged:
        specs = [_json_object(match.group(1)) for match in tagged]
        before = text[: text.find("<tool_call>")].strip() or None
    else:
        specs, before = _bare_objects(text.strip()), None
    calls = [_tool_call(index, spec) for index, spec in enumerate(specs) if _names_a_tool(spec, names)]
    return (before, calls) if calls else (text, [])


def _json_object(text: str) -> Any:
    try:
        return loads(text)
    except (JSONDecodeError, ValueError):
        return None


def _bare_objects(text: str) -> list[Any]:
    decoder = json.JSONDecoder()
    objects: list[Any] = []
    position = 0
    while position < len(text):
        try:
            value, position = decoder.raw_decode(text, position)
        except ValueError:
            return []
        objects.append(value)
        while position < len(text) and text[position].isspace():
            position += 1
    return objects


def _names_a_tool(spec: Any, names: tuple[str, ...]) -> bool:
    return isinstance(spec, dict) and isinstance(spec.get("name"), str) and ("*" in names or spec["name"] in names)


def _tool_call(index: int, spec: dict[str, Any]) -> dict[str, Any]:
    arguments = spec.get("arguments", spec.get("parameters", {}))
    return {
        "id": f"call_{index}",
        "type": "function",
        "function": {
            "name": spec["name"],
            "arguments": arguments if isinstance(arguments, str) else dumps(arguments).decode(),
        },
    }


def with_tool_calls(completion: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """A chat completion whose text holds tool calls, turned into one that carries them."""
    for choice in completion.get("choices") or []:
        message = choice.get("message") or {}
        content = message.get("content")
        if not isinstance(content, str):
            continue
        text, calls = read_tool_calls(content, names)
        if calls:
            message["content"] = text
            message["tool_calls"] = calls
            choice["finish_reason"] = "tool_calls"
    return completion


def embeddings_response(vectors: list[Any], model: str, tokens: int, normalize: bool) -> dict[str, Any]:
    """OpenAI's embeddings answer. A model without a pooling of its own (a chat model) gives one
    vector per token: those are averaged into one per input, as sentence embedding models do."""
    pooled = [_pooled(vector) for vector in vectors]
    if normalize:
        pooled = [_unit(vector) for vector in pooled]
    data = [{"object": "embedding", "index": i, "embedding": vector} for i, vector in enumerate(pooled)]
    return {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def _pooled(vector: list[Any]) -> list[float]:
    if not vector or not isinstance(vector[0], list):
        return vector
    count = len(vector)
    return [sum(column) / count for column in zip(*vector, strict=True)]


def _unit(vector: list[float]) -> list[float]:
    norm = sum(x * x for x in vector) ** 0.5
    return [x / norm for x in vector] if norm else vector


def named(answer: dict[str, Any], model: str) -> dict[str, Any]:
    """An answer (or a stream chunk) naming the model as the call asked for it (a catalogue name, a
    Hub id, a path), as embeddings answers do: llama-cpp-python names the file it loaded, a path
    inside the model cache that would otherwise land in every answer and bulk output row."""
    answer["model"] = model
    return answer


def as_chunks(completion: dict[str, Any]) -> list[dict[str, Any]]:
    """A finished chat completion told as stream chunks (used when the answer had to be read whole
    first, to find its tool calls)."""
    head = {
        "id": completion.get("id"),
        "object": "chat.completion.chunk",
        "created": completion.get("created"),
        "model": completion.get("model"),
    }
    chunks: list[dict[str, Any]] = []
    for choice in completion.get("choices") or []:
        message = choice.get("message") or {}
        delta: dict[str, Any] = {"role": "assistant", "content": message.get("content")}
        if message.get("tool_calls"):
            delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
        index = choice.get("index", 0)
        chunks.append({**head, "choices": [{"index": index, "delta": delta, "finish_reason": None}]})
        chunks.append(
            {**head, "choices": [{"index": index, "delta": {}, "finish_reason": choice.get("finish_reason")}]}
        )
    return chunks
