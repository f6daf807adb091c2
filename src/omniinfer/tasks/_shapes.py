"""Readers for the response shapes the tasks share. Each raises KeyError/TypeError/ValueError on a
shape it cannot read; `run_task` turns that into MalformedResponseError naming the task and URL."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, TypeVar

from omniinfer.types._base import BaseInferenceType

T = TypeVar("T", bound=BaseInferenceType)


def _object(cls: type[T], item: Any) -> T:
    if not isinstance(item, dict):
        raise TypeError(f"expected a JSON object for {cls.__name__}, got {type(item).__name__}")
    return cls.from_dict(item)


def list_of(cls: type[T]) -> Callable[[Any], list[T]]:
    """A JSON array of objects."""

    def parse(data: Any) -> list[T]:
        if not isinstance(data, list):
            raise TypeError(f"expected a JSON array, got {type(data).__name__}")
        return [_object(cls, item) for item in data]

    return parse


def one(cls: type[T]) -> Callable[[Any], T]:
    """A JSON object."""
    return lambda data: _object(cls, data)


def first(cls: type[T]) -> Callable[[Any], T]:
    """The first object of an array (`[{"summary_text": ...}]`), or a lone object."""

    def parse(data: Any) -> T:
        if isinstance(data, list):
            if not data:
                raise ValueError("empty array")
            data = data[0]
        return _object(cls, data)

    return parse


def one_or_list(cls: type[T]) -> Callable[[Any], T | list[T]]:
    """An object, or an array of them (question answering with top_k > 1)."""
    return lambda data: list_of(cls)(data) if isinstance(data, list) else _object(cls, data)


def unnest(parse: Callable[[Any], list[T]]) -> Callable[[Any], list[T]]:
    """Pipelines answer one list per input (`[[...]]`); a single input gives a nested list."""

    def unwrap(data: Any) -> list[T]:
        if isinstance(data, list) and data and isinstance(data[0], list):
            data = data[0]
        return parse(data)

    return unwrap


def labels_and_scores(cls: type[T]) -> Callable[[Any], list[T]]:
    """Zero-shot classification: `{"labels": [...], "scores": [...]}` zipped into elements, or
    already a list of `{label, score}`."""

    def parse(data: Any) -> list[T]:
        if isinstance(data, list):
            return list_of(cls)(data)
        if not isinstance(data, dict):
            raise TypeError(f"expected a JSON object, got {type(data).__name__}")
        labels, scores = data["labels"], data["scores"]
        if not isinstance(labels, list) or not isinstance(scores, list) or len(labels) != len(scores):
            raise ValueError("`labels` and `scores` must be arrays of the same length")
        return [cls.from_dict({"label": label, "score": score}) for label, score in zip(labels, scores, strict=True)]

    return parse


def numbers(data: Any) -> list[float]:
    """A JSON array of numbers (sentence similarity, tabular regression)."""
    if not isinstance(data, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in data):
        raise TypeError("expected a JSON array of numbers")
    return [float(x) for x in data]


def labels(data: Any) -> list[Any]:
    """A JSON array of labels (tabular classification), kept as sent (models may use numbers)."""
    if not isinstance(data, list) or not all(isinstance(x, (str, int, float)) for x in data):
        raise TypeError("expected a JSON array of labels")
    return data


def b64_bytes(value: Any) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"expected base64 text, got {type(value).__name__}")
    return base64.b64decode(value, validate=False)
