"""chat_completion: OpenAI-style chat to providers, endpoints and local servers."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from omniinfer._core.context import ClientContext, is_url
from omniinfer._core.http_errors import stream_error
from omniinfer._core.jsonutil import dumps, loads
from omniinfer._core.records import EventStream, Request, Response
from omniinfer._core.usage import openai_usage
from omniinfer.routing import Target, resolve
from omniinfer.tasks._common import decode_json, drop_none, expect, merge
from omniinfer.types.chat_completion import ChatCompletionOutput, ChatCompletionStreamOutput

Flow = Generator[Request, Response, Any]


def chat_url(base: str) -> str:
    """The chat route of an endpoint URL, as OpenAI-compatible servers expect it."""
    base = base.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    if base.endswith("/v1"):
        return base + "/chat/completions"
    return base + "/v1/chat/completions"


def chat_completion(
    ctx: ClientContext,
    messages: list[dict[str, Any]],
    *,
    model: str | None = None,
    stream: bool = False,
    frequency_penalty: float | None = None,
    logit_bias: list[float] | dict[str, float] | None = None,
    logprobs: bool | None = None,
    max_tokens: int | None = None,
    n: int | None = None,
    presence_penalty: float | None = None,
    response_format: Any = None,
    seed: int | None = None,
    stop: list[str] | str | None = None,
    stream_options: dict[str, Any] | None = None,
    temperature: float | None = None,
    tool_choice: Any = None,
    tool_prompt: str | None = None,
    tools: list[Any] | None = None,
    top_logprobs: int | None = None,
    top_p: float | None = None,
    extra_body: dict[str, Any] | None = None,
) -> Flow:
    if not isinstance(messages, list):
        raise TypeError(f"`messages` must be a list of message dicts, got {type(messages).__name__}")
    if extra_body is not None and not isinstance(extra_body, dict):
        raise TypeError(f"`extra_body` must be a dict, got {type(extra_body).__name__}")
    # The client's model decides where the call goes; the argument decides the body's "model".
    target = yield from resolve(ctx, "conversational", ctx.model or model)
    parameters = drop_none(
        {
            "frequency_penalty": frequency_penalty,
            "logit_bias": logit_bias,
            "logprobs": logprobs,
            "max_tokens": max_tokens,
            "n": n,
            "presence_penalty": presence_penalty,
            "response_format": response_format,
            "seed": seed,
            "stop": stop,
            "stream_options": stream_options,
            "temperature": temperature,
            "tool_choice": tool_choice,
            "tool_prompt": tool_prompt,
            "tools": tools,
            "top_logprobs": top_logprobs,
            "top_p": top_p,
        }
    )
    if target.provider is None:
        url = chat_url(target.base)
        body_model = model or ctx.model
        body_model = "dummy" if body_model is None or is_url(body_model) else body_model
    else:
        url = target.url()
        body_model = target.model_id
    payload: dict[str, Any] = {
        "model": body_model,
        "messages": messages,
        **parameters,
        "stream": bool(stream),
    }
    payload = merge(payload, extra_body)
    # Ask for the stream's token counts where the server is known to honour it and the caller did
    # not choose: the usage-only chunk this adds is then kept from the caller (see _chunk_parser).
    asked_usage = stream and "stream_options" not in payload and stream_reports_usage(target)
    if asked_usage:
        payload["stream_options"] = {"include_usage": True}
    if target.route is not None and target.route.payload_hook is not None:
        payload = target.route.payload_hook(payload, body_model or "")
    provider = target.provider_id
    response = yield target.request(dumps(payload), stream=bool(stream), url=url)
    if stream:
        events: EventStream[ChatCompletionStreamOutput] = EventStream(
            _no_parser, url=url, provider=provider, ends=last_chunk
        )
        events.parse = _chunk_parser(events, hide_usage_only=asked_usage)
        return events
    data = expect(decode_json(response, provider), dict, "a chat.completion object", response, provider)
    response.usage = openai_usage(data)
    return ChatCompletionOutput.from_dict(data)


def last_chunk(chunk: Any) -> bool:
    """Whether a chunk is one a server sends last: a choice's `finish_reason`, or the usage report
    (which, asked for, follows it). Only needed when the body's framing cannot tell."""
    choices = getattr(chunk, "choices", None) or ()
    if any(getattr(choice, "finish_reason", None) for choice in choices):
        return True
    return not choices and getattr(chunk, "usage", None) is not None


def stream_reports_usage(target: Target) -> bool:
    """Whether to ask this target for `stream_options.include_usage`: OpenAI-compatible URLs (vLLM,
    llama.cpp, TGI, Ollama... accept or ignore it) and the providers known to honour it."""
    if target.provider is None:
        return target.base.startswith(("http://", "https://"))
    return target.provider.stream_usage


def _no_parser(data: bytes) -> None:
    return None


def _chunk_parser(events: EventStream[Any], hide_usage_only: bool) -> Any:
    """Parse one `chat.completion.chunk`; token counts go to `events.usage`. The usage-only final
    chunk (`choices: []`) reaches the caller only when the caller asked for it."""
    from_dict = ChatCompletionStreamOutput.from_dict
    url, provider = events.url, events.provider

    def parse(data: bytes) -> ChatCompletionStreamOutput | None:
        chunk = loads(data)
        if type(chunk) is not dict:
            raise stream_error({"error": f"unexpected event {data[:200]!r}"}, url=url, provider=provider)
        if chunk.get("error") is not None:
            raise stream_error(chunk, url=url, provider=provider)
        if chunk.get("usage") is not None:  # most chunks carry none, or null
            events.usage = openai_usage(chunk)
            if not chunk.get("choices"):
                return None if hide_usage_only else from_dict(chunk)
        return from_dict(chunk)

    return parse
