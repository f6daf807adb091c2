"""Outputs of the audio tasks: classification, audio-to-audio, speech recognition."""

from __future__ import annotations

from typing import Any

from omniinfer.types._base import BaseInferenceType
from omniinfer.types._classification import ClassificationOutput


class AudioClassificationOutputElement(ClassificationOutput):
    """One predicted class of an audio clip: `label`, `score`."""


class AudioToAudioOutputElement(BaseInferenceType):
    """One output track: `label`, `content_type` (MIME type) and `blob` (the audio, as bytes)."""

    blob: Any
    content_type: str
    label: str


class AutomaticSpeechRecognitionOutputChunk(BaseInferenceType):
    """A piece of the transcript with its `timestamp` ([start, end] in seconds)."""

    text: str
    timestamp: list[float]


class AutomaticSpeechRecognitionOutput(BaseInferenceType):
    """The transcript (`text`) and, when the server gives them, timestamped `chunks`."""

    text: str
    chunks: list[AutomaticSpeechRecognitionOutputChunk] | None
