"""Text generation outputs (the TGI protocol; OpenAI completions are converted to these)."""

from __future__ import annotations

from omniinfer.types._base import BaseInferenceType


class TextGenerationOutputPrefillToken(BaseInferenceType):
    id: int
    logprob: float | None
    text: str


class TextGenerationOutputToken(BaseInferenceType):
    id: int
    logprob: float | None
    special: bool
    text: str


class TextGenerationOutputBestOfSequence(BaseInferenceType):
    finish_reason: str
    generated_text: str
    generated_tokens: int
    prefill: list[TextGenerationOutputPrefillToken]
    tokens: list[TextGenerationOutputToken]
    seed: int | None
    top_tokens: list[list[TextGenerationOutputToken]] | None


class TextGenerationOutputDetails(BaseInferenceType):
    finish_reason: str
    generated_tokens: int
    prefill: list[TextGenerationOutputPrefillToken]
    tokens: list[TextGenerationOutputToken]
    best_of_sequences: list[TextGenerationOutputBestOfSequence] | None
    seed: int | None
    top_tokens: list[list[TextGenerationOutputToken]] | None


class TextGenerationOutput(BaseInferenceType):
    """The answer of `text_generation(..., details=True)`."""

    generated_text: str
    details: TextGenerationOutputDetails | None


class TextGenerationStreamOutputStreamDetails(BaseInferenceType):
    finish_reason: str
    generated_tokens: int
    input_length: int | None
    seed: int | None


class TextGenerationStreamOutputToken(BaseInferenceType):
    id: int
    logprob: float | None
    special: bool
    text: str


class TextGenerationStreamOutput(BaseInferenceType):
    """One event of `text_generation(..., stream=True, details=True)`."""

    index: int
    token: TextGenerationStreamOutputToken
    details: TextGenerationStreamOutputStreamDetails | None
    generated_text: str | None
    top_tokens: list[TextGenerationStreamOutputToken] | None


__all__ = [
    "TextGenerationOutput",
    "TextGenerationOutputBestOfSequence",
    "TextGenerationOutputDetails",
    "TextGenerationOutputPrefillToken",
    "TextGenerationOutputToken",
    "TextGenerationStreamOutput",
    "TextGenerationStreamOutputStreamDetails",
    "TextGenerationStreamOutputToken",
]
