"""Images (and document scans) in, labels, boxes, masks, captions or answers out.

The image may be given in any form `omniinfer._core.inputs.load` accepts; it is loaded (a URL is
downloaded, without credentials) before the call, and sent as raw bytes when the task has no
parameters, else base64 inside the JSON body.
"""

from __future__ import annotations

from typing import Any, Literal

from omniinfer._core.context import ClientContext
from omniinfer._core.inputs import BinaryInput, Blob
from omniinfer._core.optional import image_from_bytes
from omniinfer.tasks._common import check_text, check_texts
from omniinfer.tasks._runner import Flow, binary_task
from omniinfer.tasks._shapes import b64_bytes, first, list_of
from omniinfer.types import (
    DocumentQuestionAnsweringOutputElement,
    ImageClassificationOutputElement,
    ImageSegmentationOutputElement,
    ImageToTextOutput,
    ObjectDetectionOutputElement,
    VisualQuestionAnsweringOutputElement,
    ZeroShotImageClassificationOutputElement,
)


def image_classification(
    ctx: ClientContext,
    image: BinaryInput,
    *,
    model: str | None = None,
    function_to_apply: Literal["sigmoid", "softmax", "none"] | None = None,
    top_k: int | None = None,
) -> Flow:
    parameters = {"function_to_apply": function_to_apply, "top_k": top_k}
    parse = list_of(ImageClassificationOutputElement)
    return (yield from binary_task(ctx, "image-classification", image, "image", parameters, model, parse))


def _segments(data: Any) -> list[ImageSegmentationOutputElement]:
    segments = list_of(ImageSegmentationOutputElement)(data)
    for segment in segments:
        # Masks travel as base64 PNG; callers get images.
        segment["mask"] = image_from_bytes(b64_bytes(segment.get("mask")))
    return segments


def image_segmentation(
    ctx: ClientContext,
    image: BinaryInput,
    *,
    model: str | None = None,
    mask_threshold: float | None = None,
    overlap_mask_area_threshold: float | None = None,
    subtask: Literal["instance", "panoptic", "semantic"] | None = None,
    threshold: float | None = None,
) -> Flow:
    parameters = {
        "mask_threshold": mask_threshold,
        "overlap_mask_area_threshold": overlap_mask_area_threshold,
        "subtask": subtask,
        "threshold": threshold,
    }
    return (yield from binary_task(ctx, "image-segmentation", image, "image", parameters, model, _segments))


def image_to_text(ctx: ClientContext, image: BinaryInput, *, model: str | None = None) -> Flow:
    return (yield from binary_task(ctx, "image-to-text", image, "image", {}, model, first(ImageToTextOutput)))


def object_detection(
    ctx: ClientContext,
    image: BinaryInput,
    *,
    model: str | None = None,
    threshold: float | None = None,
) -> Flow:
    parse = list_of(ObjectDetectionOutputElement)
    return (yield from binary_task(ctx, "object-detection", image, "image", {"threshold": threshold}, model, parse))


def zero_shot_image_classification(
    ctx: ClientContext,
    image: BinaryInput,
    candidate_labels: list[str] | None = None,
    *,
    model: str | None = None,
    hypothesis_template: str | None = None,
) -> Flow:
    labels = check_texts(candidate_labels, "candidate_labels")
    if len(labels) < 2:
        raise ValueError("`candidate_labels` must hold at least 2 labels to compare.")
    parameters = {"candidate_labels": labels, "hypothesis_template": hypothesis_template}
    parse = list_of(ZeroShotImageClassificationOutputElement)
    return (yield from binary_task(ctx, "zero-shot-image-classification", image, "image", parameters, model, parse))


def visual_question_answering(
    ctx: ClientContext,
    image: BinaryInput,
    question: str,
    *,
    model: str | None = None,
    top_k: int | None = None,
) -> Flow:
    check_text(question, "question")

    def body(blob: Blob, parameters: dict[str, Any]) -> dict[str, Any]:
        # The image is sent twice: as "inputs" for the task spec, as "image" for the pipeline.
        return {"inputs": blob.b64(), "parameters": parameters, "question": question, "image": blob.b64()}

    parse = list_of(VisualQuestionAnsweringOutputElement)
    task = "visual-question-answering"
    return (yield from binary_task(ctx, task, image, "image", {"top_k": top_k}, model, parse, body))


def document_question_answering(
    ctx: ClientContext,
    image: BinaryInput,
    question: str,
    *,
    model: str | None = None,
    doc_stride: int | None = None,
    handle_impossible_answer: bool | None = None,
    lang: str | None = None,
    max_answer_len: int | None = None,
    max_question_len: int | None = None,
    max_seq_len: int | None = None,
    top_k: int | None = None,
    word_boxes: list[list[float] | str] | None = None,
) -> Flow:
    check_text(question, "question")
    parameters = {
        "doc_stride": doc_stride,
        "handle_impossible_answer": handle_impossible_answer,
        "lang": lang,
        "max_answer_len": max_answer_len,
        "max_question_len": max_question_len,
        "max_seq_len": max_seq_len,
        "top_k": top_k,
        "word_boxes": word_boxes,
    }

    def body(blob: Blob, parameters: dict[str, Any]) -> dict[str, Any]:
        return {"inputs": {"question": question, "image": blob.b64()}, "parameters": parameters}

    parse = list_of(DocumentQuestionAnsweringOutputElement)
    task = "document-question-answering"
    return (yield from binary_task(ctx, task, image, "image", parameters, model, parse, body))
