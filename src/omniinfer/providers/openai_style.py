"""The OpenAI-compatible shapes (chat, completions, embeddings) and the providers that speak only
them: one row each, quirks as hooks."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from omniinfer._core.records import Response
from omniinfer._core.usage import openai_usage
from omniinfer.providers._files import malformed, pick
from omniinfer.providers._payload import json_body
from omniinfer.providers._spec import PayloadHook, Prepared, Provider, ProviderCall, TaskRoute, native
from omniinfer.tasks._common import decode_json


def _schema_of(payload: dict[str, Any]) -> Any:
    response_format = payload.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        json_schema = response_format.get("json_schema")
        if isinstance(json_schema, dict):
            return json_schema.get("schema")
    return None


def json_object_with_schema(payload: dict[str, Any], model_id: str) -> dict[str, Any]:
    """together, fireworks-ai, cohere: `{"type": "json_object", "schema": S}`."""
    schema = _schema_of(payload)
    if schema is not None:
        payload["response_format"] = {"type": "json_object", "schema": schema}
    return payload


def json_object_with_value(payload: dict[str, Any], model_id: str) -> dict[str, Any]:
    """hf-inference (TGI): `{"type": "json_object", "value": S}`."""
    schema = _schema_of(payload)
    if schema is not None:
        payload["response_format"] = {"type": "json_object", "value": schema}
    return payload


def guided_json(payload: dict[str, Any], model_id: str) -> dict[str, Any]:
    """nebius keeps response_format and wants the schema again as `guided_json`."""
    schema = _schema_of(payload)
    if schema is not None:
        payload["guided_json"] = schema
    return payload


def non_strict_schema(payload: dict[str, Any], model_id: str) -> dict[str, Any]:
    """sambanova refuses strict schemas."""
    response_format = payload.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        json_schema = response_format.get("json_schema")
        if isinstance(json_schema, dict) and json_schema.get("strict") in (True, None):
            response_format["json_schema"] = {**json_schema, "strict": False}
    return payload


def max_new_tokens_as_max_tokens(payload: dict[str, Any], model_id: str) -> dict[str, Any]:
    """featherless-ai, deepinfra: the TGI name becomes OpenAI's, sent (null) even when unset."""
    payload["max_tokens"] = payload.pop("max_new_tokens", payload.get("max_tokens"))
    return payload


def prompt_as_messages(payload: dict[str, Any], model_id: str) -> dict[str, Any]:
    """text-generation on a chat-only route: the prompt becomes one user message."""
    payload["messages"] = [{"role": "user", "content": payload.pop("prompt", "")}]
    return payload


def chat(route: str = "/v1/chat/completions", hook: PayloadHook | None = None) -> TaskRoute:
    return TaskRoute(route, hook, "chat")


def completions(route: str = "/v1/completions", hook: PayloadHook | None = None) -> TaskRoute:
    return TaskRoute(route, hook, "completions")


def _embeddings_body(call: ProviderCall) -> Prepared:
    return json_body(call, {"input": call.inputs, **call.parameters, "model": call.target.model_id})


def _embeddings_body_without_parameters(call: ProviderCall) -> Prepared:
    return json_body(call, {"input": call.inputs, "model": call.target.model_id})


def _embedding_vectors(call: ProviderCall, response: Response) -> Generator[Any, Any, Any]:
    """`[d.embedding for d in data]`: the raw output the feature-extraction task turns into an array."""
    data = decode_json(response, call.target.provider_id)
    response.usage = openai_usage(data)
    items = pick(data, ("data",), call, response)
    vectors = [pick(items, (i, "embedding"), call, response) for i in range(len(items))]
    try:
        return [_from_base64(v) if isinstance(v, str) else v for v in vectors]
    except ValueError:
        raise malformed(call, response, "embeddings in base64 float32", data) from None
    yield  # a generator like every result hook, though it needs no further request


def _from_base64(vector: str) -> list[float]:
    """An embedding sent as base64 (`encoding_format="base64"`): little-endian float32 values."""
    import base64
    import binascii
    import struct

    try:
        raw = base64.b64decode(vector, validate=True)
        return list(struct.unpack(f"<{len(raw) // 4}f", raw[: len(raw) - len(raw) % 4]))
    except (binascii.Error, struct.error) as exc:
        raise ValueError(str(exc)) from None


def embeddings(route: str = "/v1/embeddings", with_parameters: bool = True) -> TaskRoute:
    """feature-extraction on an OpenAI-style `/embeddings` route."""
    prepare = _embeddings_body if with_parameters else _embeddings_body_without_parameters
    return native(route, prepare, _embedding_vectors)


PROVIDERS = [
    Provider("cerebras", "https://api.cerebras.ai", {"conversational": chat()}),
    Provider(
        "cohere",
        "https://api.cohere.com",
        {"conversational": chat("/compatibility/v1/chat/completions", json_object_with_schema)},
    ),
    Provider(
        "featherless-ai",
        "https://api.featherless.ai",
        {"conversational": chat(), "text-generation": completions(hook=max_new_tokens_as_max_tokens)},
    ),
    Provider(
        "fireworks-ai",
        "https://api.fireworks.ai",
        {"conversational": chat("/inference/v1/chat/completions", json_object_with_schema)},
    ),
    Provider(
        "groq", "https://api.groq.com", {"conversational": chat("/openai/v1/chat/completions")}, stream_usage=True
    ),
    Provider(
        "openai",
        "https://api.openai.com",
        {"conversational": chat()},
        router_allowed=False,
        uses_hub_mapping=False,
        stream_usage=True,
    ),
    Provider(
        "sambanova",
        "https://api.sambanova.ai",
        {"conversational": chat(hook=non_strict_schema), "feature-extraction": embeddings()},
    ),
    Provider("baseten", "https://inference.baseten.co", {"conversational": chat()}),
    Provider("ovhcloud", "https://oai.endpoints.kepler.ai.cloud.ovh.net", {"conversational": chat()}),
    Provider("publicai", "https://api.publicai.co", {"conversational": chat()}),
    Provider("scaleway", "https://api.scaleway.ai", {"conversational": chat(), "feature-extraction": embeddings()}),
]
