"""Outputs of the text tasks: classification, extraction, question answering, rewriting."""

from __future__ import annotations

from typing import Any

from omniinfer.types._base import BaseInferenceType
from omniinfer.types._classification import ClassificationOutput


class TextClassificationOutputElement(ClassificationOutput):
    """One predicted class of a text: `label`, `score`."""


class ZeroShotClassificationOutputElement(ClassificationOutput):
    """One candidate label of a text and its `score`."""


class TokenClassificationOutputElement(BaseInferenceType):
    """One tagged span: `entity_group` (aggregated) or `entity` (per token), `score`, `word`, and
    its character offsets `start`, `end`."""

    end: int
    score: float
    start: int
    word: str
    entity: str | None
    entity_group: str | None


class FillMaskOutputElement(BaseInferenceType):
    """One candidate for the mask: the token (`token`, `token_str`), the completed `sequence`, `score`."""

    score: float
    sequence: str
    token: int
    token_str: Any


class QuestionAnsweringOutputElement(BaseInferenceType):
    """An answer found in the context, its `score` and character offsets `start`, `end`."""

    answer: str
    end: int
    score: float
    start: int


class TableQuestionAnsweringOutputElement(BaseInferenceType):
    """The `answer`, the `cells` it comes from and their `coordinates` ([row, column]), and the
    `aggregator` applied (e.g. "AVERAGE", or None)."""

    answer: str
    cells: list[str]
    coordinates: list[list[int]]
    aggregator: str | None


class SummarizationOutput(BaseInferenceType):
    """The summary (`summary_text`)."""

    summary_text: str


class TranslationOutput(BaseInferenceType):
    """The translation (`translation_text`)."""

    translation_text: str
