"""The `{label, score}` shape that every classification task answers with."""

from __future__ import annotations

from omniinfer.types._base import BaseInferenceType


class ClassificationOutput(BaseInferenceType):
    """A predicted class (`label`) and its probability (`score`)."""

    label: str
    score: float
