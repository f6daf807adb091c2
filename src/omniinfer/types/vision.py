"""Outputs (and the size inputs) of the image, video and document tasks."""

from __future__ import annotations

from typing import Any

from omniinfer.types._base import BaseInferenceType
from omniinfer.types._classification import ClassificationOutput


class ImageClassificationOutputElement(ClassificationOutput):
    """One predicted class of an image: `label`, `score`."""


class ZeroShotImageClassificationOutputElement(ClassificationOutput):
    """One candidate label of an image and its `score`."""


class ImageSegmentationOutputElement(BaseInferenceType):
    """One segment: `label`, `score` (None for some subtasks) and `mask`, a `PIL.Image.Image`."""

    label: str
    mask: Any
    score: float | None


class ImageToTextOutput(BaseInferenceType):
    """The caption (`generated_text`)."""

    generated_text: Any


class ObjectDetectionBoundingBox(BaseInferenceType):
    """A box in pixels: `xmin`, `ymin` (top left), `xmax`, `ymax` (bottom right)."""

    xmax: int
    xmin: int
    ymax: int
    ymin: int


class ObjectDetectionOutputElement(BaseInferenceType):
    """One detected object: `label`, `score` and its `box`."""

    box: ObjectDetectionBoundingBox
    label: str
    score: float


class VisualQuestionAnsweringOutputElement(BaseInferenceType):
    """One answer about an image and its `score`."""

    answer: str | None
    score: float


class DocumentQuestionAnsweringOutputElement(BaseInferenceType):
    """One answer read from a document image: `answer`, `score` and its word span (`start`, `end`)."""

    answer: str
    end: int | None
    score: float | None
    start: int | None


class ImageToImageTargetSize(BaseInferenceType):
    """The size of the image to produce, in pixels."""

    height: int
    width: int


class ImageToVideoTargetSize(BaseInferenceType):
    """The size of the video to produce, in pixels."""

    height: int
    width: int
