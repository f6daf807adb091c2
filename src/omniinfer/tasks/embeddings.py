"""Sentence embeddings and similarity (hf-inference serves both on `/models/{id}/pipeline/{task}`)."""

from __future__ import annotations

from typing import Any, Literal

from omniinfer._core.context import ClientContext
from omniinfer._core.optional import require
from omniinfer.tasks._common import check_text, check_texts
from omniinfer.tasks._runner import Flow, TaskCall, run_task
from omniinfer.tasks._shapes import numbers


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
) -> Flow:
    check_text(text, "text")
    parameters = {
        "normalize": normalize,
        "prompt_name": prompt_name,
        "truncate": truncate,
        "truncation_direction": truncation_direction,
    }
    call = TaskCall("feature-extraction", text, parameters, parse=_float32_array, argument="text")
    return (yield from run_task(ctx, call, model))


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
