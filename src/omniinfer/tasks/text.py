"""Text in, labels or text out: classification, tagging, masks, question answering, rewriting.

Each flow checks its arguments before anything is sent, then runs the generic task flow with the
task's parameters (named as in the Hugging Face task specs) and its response reader.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from omniinfer._core.context import ClientContext
from omniinfer.tasks._common import check_text, check_texts
from omniinfer.tasks._runner import Flow, TaskCall, run_task
from omniinfer.tasks._shapes import first, labels_and_scores, list_of, one_or_list, unnest
from omniinfer.types import (
    FillMaskOutputElement,
    QuestionAnsweringOutputElement,
    SummarizationOutput,
    TextClassificationOutputElement,
    TokenClassificationOutputElement,
    TranslationOutput,
    ZeroShotClassificationOutputElement,
)


def text_task(
    ctx: ClientContext,
    task: str,
    text: Any,
    parameters: dict[str, Any],
    model: str | None,
    parse: Callable[[Any], Any],
    argument: str = "text",
) -> Flow:
    """The shape most text tasks share: one text in, `{"inputs": text, "parameters": P}` out."""
    check_text(text, argument)
    return (yield from run_task(ctx, TaskCall(task, text, parameters, parse=parse, argument=argument), model))


def text_classification(
    ctx: ClientContext,
    text: str,
    *,
    model: str | None = None,
    top_k: int | None = None,
    function_to_apply: Literal["sigmoid", "softmax", "none"] | None = None,
) -> Flow:
    parameters = {"function_to_apply": function_to_apply, "top_k": top_k}
    parse = unnest(list_of(TextClassificationOutputElement))
    return (yield from text_task(ctx, "text-classification", text, parameters, model, parse))


def token_classification(
    ctx: ClientContext,
    text: str,
    *,
    model: str | None = None,
    aggregation_strategy: Literal["none", "simple", "first", "average", "max"] | None = None,
    ignore_labels: list[str] | None = None,
    stride: int | None = None,
) -> Flow:
    parameters = {"aggregation_strategy": aggregation_strategy, "ignore_labels": ignore_labels, "stride": stride}
    parse = list_of(TokenClassificationOutputElement)
    return (yield from text_task(ctx, "token-classification", text, parameters, model, parse))


def fill_mask(
    ctx: ClientContext,
    text: str,
    *,
    model: str | None = None,
    targets: list[str] | None = None,
    top_k: int | None = None,
) -> Flow:
    parameters = {"targets": targets, "top_k": top_k}
    return (yield from text_task(ctx, "fill-mask", text, parameters, model, list_of(FillMaskOutputElement)))


def summarization(
    ctx: ClientContext,
    text: str,
    *,
    model: str | None = None,
    clean_up_tokenization_spaces: bool | None = None,
    generate_parameters: dict[str, Any] | None = None,
    truncation: Literal["do_not_truncate", "longest_first", "only_first", "only_second"] | None = None,
) -> Flow:
    parameters = {
        "clean_up_tokenization_spaces": clean_up_tokenization_spaces,
        "generate_parameters": generate_parameters,
        "truncation": truncation,
    }
    return (yield from text_task(ctx, "summarization", text, parameters, model, first(SummarizationOutput)))


def translation(
    ctx: ClientContext,
    text: str,
    *,
    model: str | None = None,
    src_lang: str | None = None,
    tgt_lang: str | None = None,
    clean_up_tokenization_spaces: bool | None = None,
    truncation: Literal["do_not_truncate", "longest_first", "only_first", "only_second"] | None = None,
    generate_parameters: dict[str, Any] | None = None,
) -> Flow:
    # A language pair is all or nothing: the model cannot guess the missing side.
    if src_lang is not None and tgt_lang is None:
        raise ValueError("You cannot specify `src_lang` without specifying `tgt_lang`.")
    if src_lang is None and tgt_lang is not None:
        raise ValueError("You cannot specify `tgt_lang` without specifying `src_lang`.")
    parameters = {
        "src_lang": src_lang,
        "tgt_lang": tgt_lang,
        "clean_up_tokenization_spaces": clean_up_tokenization_spaces,
        "truncation": truncation,
        "generate_parameters": generate_parameters,
    }
    return (yield from text_task(ctx, "translation", text, parameters, model, first(TranslationOutput)))


def zero_shot_classification(
    ctx: ClientContext,
    text: str,
    candidate_labels: list[str] | None = None,
    *,
    multi_label: bool | None = False,
    hypothesis_template: str | None = None,
    model: str | None = None,
) -> Flow:
    labels = check_texts(candidate_labels, "candidate_labels")
    parameters = {"candidate_labels": labels, "multi_label": multi_label, "hypothesis_template": hypothesis_template}
    parse = labels_and_scores(ZeroShotClassificationOutputElement)
    return (yield from text_task(ctx, "zero-shot-classification", text, parameters, model, parse))


def question_answering(
    ctx: ClientContext,
    question: str,
    context: str,
    *,
    model: str | None = None,
    align_to_words: bool | None = None,
    doc_stride: int | None = None,
    handle_impossible_answer: bool | None = None,
    max_answer_len: int | None = None,
    max_question_len: int | None = None,
    max_seq_len: int | None = None,
    top_k: int | None = None,
) -> Flow:
    check_text(question, "question")
    check_text(context, "context")
    parameters = {
        "align_to_words": align_to_words,
        "doc_stride": doc_stride,
        "handle_impossible_answer": handle_impossible_answer,
        "max_answer_len": max_answer_len,
        "max_question_len": max_question_len,
        "max_seq_len": max_seq_len,
        "top_k": top_k,
    }
    # One answer comes back as an object, several (top_k > 1) as a list: both are returned as sent.
    call = TaskCall(
        "question-answering",
        {"question": question, "context": context},
        parameters,
        parse=one_or_list(QuestionAnsweringOutputElement),
    )
    return (yield from run_task(ctx, call, model))
