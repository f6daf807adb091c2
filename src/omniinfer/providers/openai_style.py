"""Providers that speak the OpenAI chat / completions protocol: one row each, quirks as hooks."""

from __future__ import annotations

from typing import Any

from omniinfer.providers._spec import Provider, TaskRoute


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
    payload["max_tokens"] = payload.pop("max_new_tokens", None)
    return payload


def _chat(route: str = "/v1/chat/completions", hook: Any = None) -> TaskRoute:
    return TaskRoute(route, hook, "chat")


def _completions(route: str = "/v1/completions", hook: Any = None) -> TaskRoute:
    return TaskRoute(route, hook, "completions")


PROVIDERS = [
    Provider("cerebras", "https://api.cerebras.ai", {"conversational": _chat()}),
    Provider(
        "cohere",
        "https://api.cohere.com",
        {"conversational": _chat("/compatibility/v1/chat/completions", json_object_with_schema)},
    ),
    Provider(
        "featherless-ai",
        "https://api.featherless.ai",
        {"conversational": _chat(), "text-generation": _completions(hook=max_new_tokens_as_max_tokens)},
    ),
    Provider(
        "fireworks-ai",
        "https://api.fireworks.ai",
        {"conversational": _chat("/inference/v1/chat/completions", json_object_with_schema)},
    ),
    Provider("groq", "https://api.groq.com", {"conversational": _chat("/openai/v1/chat/completions")}),
    Provider("hyperbolic", "https://api.hyperbolic.xyz", {"conversational": _chat()}),
    Provider(
        "nebius",
        "https://api.studio.nebius.ai",
        {"conversational": _chat(hook=guided_json), "text-generation": _completions()},
    ),
    Provider(
        "novita",
        "https://api.novita.ai",
        {
            "conversational": _chat("/v3/openai/chat/completions"),
            "text-generation": _completions("/v3/openai/completions"),
        },
    ),
    Provider("nscale", "https://inference.api.nscale.com", {"conversational": _chat()}),
    Provider(
        "openai",
        "https://api.openai.com",
        {"conversational": _chat()},
        router_allowed=False,
        uses_hub_mapping=False,
    ),
    Provider("sambanova", "https://api.sambanova.ai", {"conversational": _chat(hook=non_strict_schema)}),
    Provider(
        "together",
        "https://api.together.xyz",
        {"conversational": _chat(hook=json_object_with_schema), "text-generation": _completions()},
    ),
    Provider("baseten", "https://inference.baseten.co", {"conversational": _chat()}),
    Provider(
        "deepinfra",
        "https://api.deepinfra.com",
        {
            "conversational": _chat("/v1/openai/chat/completions"),
            "text-generation": _completions("/v1/openai/completions", max_new_tokens_as_max_tokens),
        },
    ),
    Provider("ovhcloud", "https://oai.endpoints.kepler.ai.cloud.ovh.net", {"conversational": _chat()}),
    Provider("publicai", "https://api.publicai.co", {"conversational": _chat()}),
    Provider("scaleway", "https://api.scaleway.ai", {"conversational": _chat()}),
    Provider(
        "zai-org",
        "https://api.z.ai",
        {"conversational": _chat("/api/paas/v4/chat/completions")},
        extra_headers={"Accept-Language": "en-US,en", "x-source-channel": "hugging_face"},
    ),
]
