"""Sentence embeddings and similarity (hf-inference serves both on `/models/{id}/pipeline/{task}`).

feature_extraction also speaks to OpenAI-compatible servers (llama.cpp, vLLM, ...): a URL that
text_generation would address with the OpenAI protocol (`.../v1`) gets `POST .../v1/embeddings`,
built and read by the same table row as the providers that serve OpenAI-style embeddings.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Literal
from urllib.parse import urlsplit

from omniinfer._core.context import ClientContext, is_url
from omniinfer._core.jsonutil import dumps
from omniinfer._core.optional import require
from omniinfer.errors import MalformedResponseError
from omniinfer.providers import ProviderCall
from omniinfer.providers.openai_style import embeddings
from omniinfer.routing import endpoint_target
from omniinfer.tasks._common import check_text, check_texts, drop_none
from omniinfer.tasks._runner import Flow, TaskCall, run_task
from omniinfer.tasks._shapes import numbers
from omniinfer.tasks.text_generation import endpoint_protocol

_OPENAI_EMBEDDINGS = embeddings()


def _float32_array(data: Any) -> Any:
    if not isinstance(data, list):
        raise TypeError(f"expected nested arrays of numbers, got {type(data).__name__}")
    numpy = require("numpy", "feature_extraction")
    # A ragged or non-numeric answer raises ValueError here, reported as a malformed response.
    return numpy.array(data, dtype="float32")


def feature_extraction(
    ctx: ClientContext,
    text: str,
    *,
    normalize: bool | None = None,
    prompt_name: str | None = None,
    truncate: bool | None = None,
    truncation_direction: Literal["Left", "Right"] | None = None,
    model: str | None = None,
    dimensions: int | None = None,
    encoding_format: Literal["float", "base64"] | None = None,
) -> Flow:
    if dimensions is not None and (isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1):
        raise ValueError(f"`dimensions` must be a whole number >= 1, got {dimensions!r}")
    if encoding_format not in (None, "float", "base64"):
        raise ValueError(f'`encoding_format` must be "float" or "base64", got {encoding_format!r}')
    parameters = {
        "dimensions": dimensions,
        "encoding_format": encoding_format,
        "normalize": normalize,
        "prompt_name": prompt_name,
        "truncate": truncate,
        "truncation_direction": truncation_direction,
    }
    base = _openai_endpoint(ctx, model)
    if base is not None:
        return (yield from _openai_embeddings(ctx, base, text, parameters, model))
    check_text(text, "text")
    call = TaskCall("feature-extraction", text, parameters, parse=_float32_array, argument="text")
    return (yield from run_task(ctx, call, model))


def _openai_endpoint(ctx: ClientContext, model: str | None) -> str | None:
    """The OpenAI-compatible URL this call goes to, or None for the Hugging Face routes.

    As for chat, a Hub id given to the call names the model on the client's URL; a URL given to
    the call replaces the client's."""
    for candidate in (model, ctx.model):
        if is_url(candidate):
            assert candidate is not None
            return candidate if _speaks_openai(candidate) else None
    return None


def _speaks_openai(url: str) -> bool:
    return endpoint_protocol(url) == "completions" or urlsplit(url).path.rstrip("/").endswith("/embeddings")


def embeddings_url(base: str) -> str:
    """`.../v1` -> `.../v1/embeddings`; a URL naming a route of the API is pointed at its embeddings route."""
    base = re.sub(r"(/chat)?/completions$", "", base.rstrip("/"))
    if base.endswith("/embeddings"):
        return base
    return base + "/embeddings" if base.endswith("/v1") else base + "/v1/embeddings"


def _openai_embeddings(ctx: ClientContext, base: str, text: Any, parameters: dict[str, Any], model: str | None) -> Flow:
    inputs: str | list[str]
    if isinstance(text, (list, tuple)):
        inputs = check_texts(text, "text")  # the OpenAI API embeds several texts in one call
    else:
        check_text(text, "text")
        inputs = text
    body_model = model if model is not None and not is_url(model) else "dummy"
    target = replace(endpoint_target(ctx, base), model_id=body_model)
    call = ProviderCall("feature-extraction", inputs, drop_none(parameters), {}, target)
    route = _OPENAI_EMBEDDINGS
    assert route.prepare is not None and route.result is not None
    prepared = route.prepare(call)
    url = embeddings_url(base)
    response = yield target.request(dumps(prepared.body), url=url, extra_headers=prepared.headers)
    vectors = yield from route.result(call, response)
    try:
        return _float32_array(vectors)
    except (TypeError, ValueError) as exc:
        raise MalformedResponseError(
            f"Unexpected feature-extraction answer from {response.url}: {exc}", url=response.url
        ) from None


def sentence_similarity(
    ctx: ClientContext,
    sentence: str,
    other_sentences: list[str],
    *,
    model: str | None = None,
) -> Flow:
    check_text(sentence, "sentence")
    others = check_texts(other_sentences, "other_sentences")
    call = TaskCall("sentence-similarity", {"source_sentence": sentence, "sentences": others}, parse=numbers)
    return (yield from run_task(ctx, call, model))
