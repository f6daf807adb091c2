"""text_generation: the TGI protocol (Inference Endpoints, TGI, hf-inference) and OpenAI completions
(OpenAI-compatible servers and providers), with the same outputs for both."""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Generator
from typing import Any
from urllib.parse import urlsplit

from omniinfer._core.context import ClientContext, is_url
from omniinfer._core.http_errors import stream_error
from omniinfer._core.jsonutil import dumps, loads
from omniinfer._core.records import EventStream, Request, Response
from omniinfer._core.usage import openai_usage, tgi_usage
from omniinfer.errors import BadRequestError
from omniinfer.routing import Target, destination, resolve
from omniinfer.tasks._common import decode_json, drop_none
from omniinfer.tasks.chat import stream_reports_usage
from omniinfer.types.text_generation import TextGenerationOutput, TextGenerationStreamOutput

Flow = Generator[Request, Response, Any]

# Models that turned out not to be served by TGI, and the generation kwargs they reject.
_UNSUPPORTED_KWARGS: dict[str, set[str]] = {}
_unsupported_lock = threading.Lock()
_MODEL_KWARGS = re.compile(r"The following `model_kwargs` are not used by the model: \[(.*?)\]")
_TGI_ONLY = ("details", "decoder_input_details")


def endpoint_protocol(url: str) -> str:
    """OpenAI completions for OpenAI-style URLs (`.../v1`, `.../completions`), TGI otherwise."""
    path = urlsplit(url).path.rstrip("/")
    return "completions" if path.endswith(("/v1", "/completions")) else "tgi"


def completions_url(base: str) -> str:
    base = base.rstrip("/")
    if base.endswith("/completions"):
        return base
    return base + "/completions" if base.endswith("/v1") else base + "/v1/completions"


def text_generation(
    ctx: ClientContext,
    prompt: str,
    *,
    details: bool | None = False,
    stream: bool | None = False,
    model: str | None = None,
    adapter_id: str | None = None,
    best_of: int | None = None,
    decoder_input_details: bool | None = None,
    do_sample: bool | None = False,
    frequency_penalty: float | None = None,
    grammar: Any = None,
    max_new_tokens: int | None = None,
    repetition_penalty: float | None = None,
    return_full_text: bool | None = False,
    seed: int | None = None,
    stop: list[str] | None = None,
    stop_sequences: list[str] | None = None,
    temperature: float | None = None,
    top_k: int | None = None,
    top_n_tokens: int | None = None,
    top_p: float | None = None,
    truncate: int | None = None,
    typical_p: float | None = None,
    watermark: bool | None = None,
) -> Flow:
    if not isinstance(prompt, str):
        raise TypeError(f"`prompt` must be a str, got {type(prompt).__name__}")
    if stop_sequences is not None:
        warnings.warn("`stop_sequences` is deprecated: use `stop` instead.", FutureWarning, stacklevel=4)
        stop = [*(stop or []), *stop_sequences]
    if decoder_input_details and not details:
        raise ValueError("`decoder_input_details=True` needs `details=True`: the input tokens come with the details.")
    parameters = {
        "adapter_id": adapter_id,
        "best_of": best_of,
        "decoder_input_details": decoder_input_details,
        "details": details,
        "do_sample": do_sample,
        "frequency_penalty": frequency_penalty,
        "grammar": grammar,
        "max_new_tokens": max_new_tokens,
        "repetition_penalty": repetition_penalty,
        "return_full_text": return_full_text,
        "seed": seed,
        "stop": stop if stop is not None else [],
        "temperature": temperature,
        "top_k": top_k,
        "top_n_tokens": top_n_tokens,
        "top_p": top_p,
        "truncate": truncate,
        "typical_p": typical_p,
        "watermark": watermark,
    }
    where, named = destination(ctx, model)
    target = yield from resolve(ctx, "text-generation", where)
    protocol = target.route.protocol if target.route is not None else endpoint_protocol(target.base)
    if protocol == "tgi":
        return (yield from _tgi(target, prompt, parameters, bool(details), bool(stream), where, named))
    return (yield from _completions(target, prompt, parameters, bool(details), bool(stream), named or where))


def _tgi(
    target: Target,
    prompt: str,
    parameters: dict[str, Any],
    details: bool,
    stream: bool,
    model_id: str | None,
    named: str | None = None,
) -> Flow:
    """`named`: the model the endpoint should run, sent in the body (see routing.destination)."""
    url = target.url()
    provider = target.provider_id
    key = model_id or url
    extra = {"model": named} if named is not None else {}
    rejected = _UNSUPPORTED_KWARGS.get(key)
    if rejected:
        if stream:
            raise ValueError(f"Model {key!r} is not served by text-generation-inference: it cannot stream.")
        _drop_rejected(parameters, rejected, key)
    while True:
        body = dumps({"inputs": prompt, "parameters": drop_none(parameters), "stream": stream, **extra})
        try:
            response = yield target.request(body, stream=stream, url=url)
            break
        except BadRequestError as error:
            # A model served without TGI rejects the TGI-only generation kwargs: remember which, and
            # ask once more without them (later calls drop them up front, with a warning).
            found = _MODEL_KWARGS.search(error.server_message or "")
            if found is None or stream or rejected:
                raise
            rejected = {name.strip().strip("'\"") for name in found.group(1).split(",")} | set(_TGI_ONLY)
            with _unsupported_lock:
                _UNSUPPORTED_KWARGS[key] = rejected
            _drop_rejected(parameters, rejected, key, warn=False)
            details = False
    if stream:
        events: EventStream[Any] = EventStream(_no_parser, url=url, provider=provider)
        events.parse, events.is_final = _tgi_event_parser(events, details)
        return events
    data = decode_json(response, provider)
    if isinstance(data, list):
        data = data[0] if data else {}
    if isinstance(data, dict):
        response.usage = tgi_usage(data.get("details"))
    output = TextGenerationOutput.from_dict(data if isinstance(data, dict) else {"generated_text": str(data)})
    return output if details else output.generated_text


def _drop_rejected(parameters: dict[str, Any], rejected: set[str], key: str, warn: bool = True) -> None:
    dropped = [name for name in rejected if parameters.get(name) not in (None, False, [])]
    for name in rejected:
        parameters.pop(name, None)
    if warn and dropped:
        warnings.warn(
            f"Model {key!r} is not served by text-generation-inference: ignoring {sorted(dropped)}.",
            UserWarning,
            stacklevel=5,
        )


def _no_parser(data: bytes) -> None:
    return None


def _tgi_event_parser(events: EventStream[Any], details: bool) -> tuple[Any, Any]:
    """(parse, is_final) for a TGI stream: the last event is the one that carries `generated_text`
    (and the details: its token count is the stream's usage)."""
    from_dict = TextGenerationStreamOutput.from_dict
    url, provider = events.url, events.provider
    seen_final = [False]

    def parse(data: bytes) -> Any:
        event = loads(data)
        if type(event) is not dict or event.get("error") is not None:
            raise stream_error(
                event if type(event) is dict else {"error": repr(data[:200])}, url=url, provider=provider
            )
        if event.get("generated_text") is not None:
            seen_final[0] = True
            events.usage = tgi_usage(event.get("details"))
        output = from_dict(event)
        return output if details else output.token.text

    return parse, lambda _item: seen_final[0]


def _completions(
    target: Target, prompt: str, parameters: dict[str, Any], details: bool, stream: bool, model_id: str | None
) -> Flow:
    body_model: str | None
    if target.provider is None:
        url = completions_url(target.base)
        body_model = "dummy" if model_id is None or is_url(model_id) else model_id
    else:
        url = target.url()
        body_model = target.model_id
    payload: dict[str, Any] = {
        "model": body_model,
        "prompt": prompt,
        **_openai_parameters(parameters),
        "stream": stream,
    }
    if stream and stream_reports_usage(target):
        payload["stream_options"] = {"include_usage": True}  # its usage-only chunk is never handed out
    if target.route is not None and target.route.payload_hook is not None:
        payload = target.route.payload_hook(payload, body_model or "")
    provider = target.provider_id
    response = yield target.request(dumps(payload), stream=stream, url=url)
    if stream:
        events: EventStream[Any] = EventStream(_no_parser, url=url, provider=provider, ends=_carries_details)
        events.parse = _completion_chunk_parser(events, details)
        return events
    data = decode_json(response, provider)
    response.usage = openai_usage(data)
    choice = _first_choice(data)
    output = TextGenerationOutput.from_dict(
        {
            "generated_text": _choice_text(choice),
            "details": {"finish_reason": choice.get("finish_reason"), "seed": parameters.get("seed")},
        }
    )
    return output if details else output.generated_text


def _carries_details(item: Any) -> bool:
    """A streamed item with details (the last one carries them); plain text cannot tell."""
    return getattr(item, "details", None) is not None


def _openai_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """TGI names → OpenAI completions names, for servers that speak only the latter."""
    mapped = dict(parameters)
    if "max_new_tokens" in mapped and mapped["max_new_tokens"] is not None:
        mapped["max_tokens"] = mapped.pop("max_new_tokens")
    for name in ("details", "decoder_input_details", "return_full_text", "watermark", "do_sample"):
        mapped.pop(name, None)
    if not mapped.get("stop"):
        mapped.pop("stop", None)
    return drop_none(mapped)


def _choice_text(choice: dict[str, Any]) -> str:
    """A completion's text; providers that serve text generation through their chat route (hyperbolic)
    answer with a chat message instead."""
    text = choice.get("text")
    if text is None and isinstance(choice.get("message"), dict):
        text = choice["message"].get("content")
    return text or ""


def _first_choice(data: Any) -> dict[str, Any]:
    choices = data.get("choices") if isinstance(data, dict) else None
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return choices[0]
    from omniinfer.errors import MalformedResponseError

    raise MalformedResponseError(f"Expected a completions object with `choices`, got {str(data)[:200]!r}")


def _completion_chunk_parser(events: EventStream[Any], details: bool) -> Any:
    index = 0
    generated: list[str] = []
    url, provider = events.url, events.provider

    def parse(data: bytes) -> Any:
        nonlocal index
        chunk = loads(data)
        if type(chunk) is not dict or chunk.get("error") is not None:
            raise stream_error(
                chunk if type(chunk) is dict else {"error": repr(data[:200])}, url=url, provider=provider
            )
        if chunk.get("usage") is not None:
            events.usage = openai_usage(chunk)
        choices = chunk.get("choices") or []
        if not choices:
            return None
        choice = choices[0]
        text = choice.get("text") or ""
        if not details:
            return text
        index += 1
        generated.append(text)
        finish = choice.get("finish_reason")
        return TextGenerationStreamOutput.from_dict(
            {
                "index": index,
                "token": {"id": 0, "text": text, "logprob": None, "special": False},
                "generated_text": "".join(generated) if finish else None,
                "details": {"finish_reason": finish, "generated_tokens": index} if finish else None,
            }
        )

    return parse
