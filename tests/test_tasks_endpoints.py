"""Every task against a URL endpoint (a dedicated deployment or a local server), with scripted
answers: the body each task sends, its typed result, and both clients giving identical results."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from PIL import Image

import omniinfer
from clients import Runner
from fixture_server import FixtureServer
from omniinfer.types import BaseInferenceType


def _png(color: str = "red", size: tuple[int, int] = (3, 2)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


PNG = _png()
PNG_B64 = base64.b64encode(PNG).decode()
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28)
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(16)
TABLE = {"a": ["1", "2"], "b": ["3", "4"]}
LABEL_SCORES = [{"label": "x", "score": 0.75}, {"label": "y", "score": 0.25}]


@dataclass
class Case:
    method: str
    args: tuple[Any, ...]
    answer: Any  # JSON (dict/list) or raw bytes
    sent: Any  # expected body: JSON, or bytes for a raw body
    expected: Any  # the expected result (compared after normalizing images and arrays)
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.method + ("-params" if self.kwargs else "")


CASES = [
    Case("audio_classification", (WAV,), LABEL_SCORES, WAV, LABEL_SCORES),
    Case(
        "audio_classification",
        (WAV,),
        LABEL_SCORES,
        {"inputs": base64.b64encode(WAV).decode(), "parameters": {"top_k": 2}},
        LABEL_SCORES,
        {"top_k": 2},
    ),
    Case(
        "audio_to_audio",
        (WAV,),
        [{"label": "s1", "content-type": "audio/wav", "blob": base64.b64encode(b"abc").decode()}],
        WAV,
        [{"label": "s1", "content_type": "audio/wav", "blob": b"abc"}],  # the key normalized, as the reference does
    ),
    Case(
        "automatic_speech_recognition",
        (WAV,),
        {"text": "hi", "chunks": [{"text": "hi", "timestamp": [0.0, 0.5]}]},
        {"inputs": base64.b64encode(WAV).decode(), "parameters": {"return_timestamps": True}},
        {"text": "hi", "chunks": [{"text": "hi", "timestamp": [0.0, 0.5]}]},
        {"extra_body": {"return_timestamps": True}},
    ),
    Case(
        "document_question_answering",
        (PNG, "total?"),
        [{"answer": "42", "score": 0.5, "start": 1, "end": 1}],
        {"inputs": {"question": "total?", "image": PNG_B64}, "parameters": {"top_k": 1, "lang": "en"}},
        [{"answer": "42", "score": 0.5, "start": 1, "end": 1}],
        {"top_k": 1, "lang": "en"},
    ),
    Case(
        "feature_extraction",
        ("hi",),
        [[0.5, 1.5]],
        {"inputs": "hi", "normalize": True, "truncation_direction": "Left"},
        np.array([[0.5, 1.5]], dtype=np.float32),
        {"normalize": True, "truncation_direction": "Left"},
    ),
    Case(
        "fill_mask",
        ("Paris is the [MASK] of France.",),
        [{"score": 0.9, "token": 3007, "token_str": "capital", "sequence": "paris is the capital of france."}],
        {"inputs": "Paris is the [MASK] of France.", "parameters": {"targets": ["capital"], "top_k": 1}},
        [{"score": 0.9, "token": 3007, "token_str": "capital", "sequence": "paris is the capital of france."}],
        {"targets": ["capital"], "top_k": 1},
    ),
    Case("image_classification", (PNG,), LABEL_SCORES, PNG, LABEL_SCORES),
    Case(
        "image_segmentation",
        (PNG,),
        [{"label": "cat", "score": 0.5, "mask": base64.b64encode(_png("white", (4, 4))).decode()}],
        {"inputs": PNG_B64, "parameters": {"threshold": 0.5, "subtask": "semantic"}},
        [{"label": "cat", "score": 0.5, "mask": _png("white", (4, 4))}],
        {"threshold": 0.5, "subtask": "semantic"},
    ),
    Case(
        "image_to_image",
        (PNG, "make it blue"),
        _png("blue"),
        {
            "inputs": PNG_B64,
            "parameters": {"prompt": "make it blue", "target_size": {"width": 8, "height": 4}, "strength": 0.5},
        },
        _png("blue"),
        {"target_size": {"width": 8, "height": 4}, "strength": 0.5},
    ),
    Case("image_to_text", (PNG,), [{"generated_text": "a red square"}], PNG, {"generated_text": "a red square"}),
    Case(
        "image_to_video",
        (PNG,),
        MP4,
        {"inputs": PNG_B64, "parameters": {"prompt": "zoom", "num_frames": 8, "seed": 1}},
        MP4,
        {"prompt": "zoom", "num_frames": 8, "seed": 1},
    ),
    Case(
        "object_detection",
        (PNG,),
        [{"label": "cat", "score": 0.9, "box": {"xmin": 0, "ymin": 0, "xmax": 2, "ymax": 1}}],
        {"inputs": PNG_B64, "parameters": {"threshold": 0.8}},
        [{"label": "cat", "score": 0.9, "box": {"xmin": 0, "ymin": 0, "xmax": 2, "ymax": 1}}],
        {"threshold": 0.8},
    ),
    Case(
        "question_answering",
        ("Who?", "Clara lives here."),
        {"answer": "Clara", "score": 0.9, "start": 0, "end": 5},
        {"inputs": {"question": "Who?", "context": "Clara lives here."}, "parameters": {}},
        {"answer": "Clara", "score": 0.9, "start": 0, "end": 5},
    ),
    Case(
        "question_answering",
        ("Who?", "Clara lives here."),
        [
            {"answer": "Clara", "score": 0.9, "start": 0, "end": 5},
            {"answer": "here", "score": 0.1, "start": 12, "end": 16},
        ],
        {"inputs": {"question": "Who?", "context": "Clara lives here."}, "parameters": {"top_k": 2}},
        [
            {"answer": "Clara", "score": 0.9, "start": 0, "end": 5},
            {"answer": "here", "score": 0.1, "start": 12, "end": 16},
        ],
        {"top_k": 2},
    ),
    Case(
        "sentence_similarity",
        ("a", ["b", "c"]),
        [0.5, 1],
        {"inputs": {"source_sentence": "a", "sentences": ["b", "c"]}, "parameters": {}},
        [0.5, 1.0],
    ),
    Case(
        "summarization",
        ("long text",),
        [{"summary_text": "short"}],
        {"inputs": "long text", "parameters": {"generate_parameters": {"max_length": 5}, "truncation": "only_first"}},
        {"summary_text": "short"},
        {"generate_parameters": {"max_length": 5}, "truncation": "only_first"},
    ),
    Case(
        "table_question_answering",
        (TABLE, "sum of a?"),
        {"answer": "SUM > 1, 2", "coordinates": [[0, 0], [1, 0]], "cells": ["1", "2"], "aggregator": "SUM"},
        {"inputs": {"query": "sum of a?", "table": TABLE}, "parameters": {"sequential": True, "padding": "longest"}},
        {"answer": "SUM > 1, 2", "coordinates": [[0, 0], [1, 0]], "cells": ["1", "2"], "aggregator": "SUM"},
        {"sequential": True, "padding": "longest"},
    ),
    Case(
        "tabular_classification",
        (TABLE,),
        ["good", "bad"],
        {"inputs": None, "parameters": {}, "table": TABLE},
        ["good", "bad"],
    ),
    Case("tabular_regression", (TABLE,), [1.5, 2], {"inputs": None, "parameters": {}, "table": TABLE}, [1.5, 2.0]),
    Case(
        "text_classification",
        ("I like you",),
        [LABEL_SCORES],
        {"inputs": "I like you", "parameters": {"top_k": 2, "function_to_apply": "softmax"}},
        LABEL_SCORES,
        {"top_k": 2, "function_to_apply": "softmax"},
    ),
    Case(
        "text_classification", ("I like you",), LABEL_SCORES, {"inputs": "I like you", "parameters": {}}, LABEL_SCORES
    ),
    Case("text_to_image", ("a cat",), PNG, {"inputs": "a cat", "parameters": {"seed": 3}}, PNG, {"seed": 3}),
    Case(
        "text_to_speech",
        ("hello",),
        WAV,
        {"inputs": "hello", "parameters": {"do_sample": True, "voice": "en"}},
        WAV,
        {"do_sample": True, "extra_body": {"voice": "en"}},
    ),
    Case(
        "text_to_video",
        ("a cat",),
        MP4,
        {"inputs": "a cat", "parameters": {"num_frames": 8, "negative_prompt": ["blur"], "fps": 4}},
        MP4,
        {"num_frames": 8, "negative_prompt": ["blur"], "extra_body": {"fps": 4}},
    ),
    Case(
        "token_classification",
        ("Sarah lives here",),
        [{"entity_group": "PER", "score": 0.9, "word": "Sarah", "start": 0, "end": 5}],
        {"inputs": "Sarah lives here", "parameters": {"aggregation_strategy": "simple", "ignore_labels": ["O"]}},
        [{"entity_group": "PER", "score": 0.9, "word": "Sarah", "start": 0, "end": 5}],
        {"aggregation_strategy": "simple", "ignore_labels": ["O"]},
    ),
    Case(
        "translation",
        ("Hello",),
        [{"translation_text": "Bonjour"}],
        {"inputs": "Hello", "parameters": {"src_lang": "en", "tgt_lang": "fr"}},
        {"translation_text": "Bonjour"},
        {"src_lang": "en", "tgt_lang": "fr"},
    ),
    Case(
        "visual_question_answering",
        (PNG, "Which color?"),
        [{"answer": "red", "score": 0.9}],
        {"inputs": PNG_B64, "parameters": {"top_k": 1}, "question": "Which color?", "image": PNG_B64},
        [{"answer": "red", "score": 0.9}],
        {"top_k": 1},
    ),
    Case(
        "zero_shot_classification",
        ("I like it", ["x", "y"]),
        {"sequence": "I like it", "labels": ["x", "y"], "scores": [0.75, 0.25]},
        {"inputs": "I like it", "parameters": {"candidate_labels": ["x", "y"], "multi_label": False}},
        LABEL_SCORES,
    ),
    Case(
        "zero_shot_classification",
        ("I like it", ["x", "y"]),
        LABEL_SCORES,  # the newer list form is read too
        {
            "inputs": "I like it",
            "parameters": {"candidate_labels": ["x", "y"], "multi_label": True, "hypothesis_template": "About {}."},
        },
        LABEL_SCORES,
        {"multi_label": True, "hypothesis_template": "About {}."},
    ),
    Case(
        "zero_shot_image_classification",
        (PNG, ["x", "y"]),
        LABEL_SCORES,
        {"inputs": PNG_B64, "parameters": {"candidate_labels": ["x", "y"]}},
        LABEL_SCORES,
    ),
]

# The output type of each task, by method (images, arrays and bytes are checked by value).
ELEMENT_TYPES = {
    "audio_classification": omniinfer.AudioClassificationOutputElement,
    "audio_to_audio": omniinfer.AudioToAudioOutputElement,
    "automatic_speech_recognition": omniinfer.AutomaticSpeechRecognitionOutput,
    "document_question_answering": omniinfer.DocumentQuestionAnsweringOutputElement,
    "fill_mask": omniinfer.FillMaskOutputElement,
    "image_classification": omniinfer.ImageClassificationOutputElement,
    "image_segmentation": omniinfer.ImageSegmentationOutputElement,
    "image_to_text": omniinfer.ImageToTextOutput,
    "object_detection": omniinfer.ObjectDetectionOutputElement,
    "question_answering": omniinfer.QuestionAnsweringOutputElement,
    "summarization": omniinfer.SummarizationOutput,
    "table_question_answering": omniinfer.TableQuestionAnsweringOutputElement,
    "text_classification": omniinfer.TextClassificationOutputElement,
    "token_classification": omniinfer.TokenClassificationOutputElement,
    "translation": omniinfer.TranslationOutput,
    "visual_question_answering": omniinfer.VisualQuestionAnsweringOutputElement,
    "zero_shot_classification": omniinfer.ZeroShotClassificationOutputElement,
    "zero_shot_image_classification": omniinfer.ZeroShotImageClassificationOutputElement,
}


def comparable(value: Any) -> Any:
    """A plain value to compare: images as their PNG encoding, arrays as nested lists."""
    if isinstance(value, Image.Image):
        buffer = io.BytesIO()
        value.save(buffer, format="PNG")
        return ("image", value.size, buffer.getvalue())
    if isinstance(value, np.ndarray):
        return ("array", str(value.dtype), value.tolist())
    if isinstance(value, BaseInferenceType):  # declared fields the server did not send read None
        return {k: comparable(v) for k, v in value.items() if v is not None or k not in value._names}
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [comparable(v) for v in value]
    return value


def _serve(server: FixtureServer, case: Case) -> str:
    if isinstance(case.answer, bytes):
        server.add("POST", "/endpoint", body=case.answer, headers={"Content-Type": "application/octet-stream"})
    else:
        server.add("POST", "/endpoint", json=case.answer)
    return server.url + "/endpoint"


def _run(kind: str, server: FixtureServer, case: Case) -> Any:
    with Runner(kind, _serve(server, case)) as run:
        return run(case.method, *case.args, **case.kwargs)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_endpoint_request_and_result(fixture_server: FixtureServer, case: Case) -> None:
    out = _run("sync", fixture_server, case)
    [sent] = fixture_server.requests
    assert (sent.method, sent.path) == ("POST", "/endpoint")
    if isinstance(case.sent, bytes):
        assert sent.body == case.sent
        assert sent.headers["content-type"] != "application/json"
    else:
        assert sent.headers["content-type"] == "application/json"
        assert sent.json() == case.sent
    expected = case.expected
    if isinstance(expected, bytes) and case.method in ("image_to_image", "text_to_image"):
        assert isinstance(out, Image.Image)
        expected = Image.open(io.BytesIO(expected))
    if case.method == "image_segmentation":
        expected = [{**item, "mask": Image.open(io.BytesIO(item["mask"]))} for item in expected]
    assert comparable(out) == comparable(expected)
    element_type = ELEMENT_TYPES.get(case.method)
    if element_type is not None:
        for item in out if isinstance(out, list) else [out]:
            assert type(item) is element_type
    if case.method == "object_detection":
        assert type(out[0].box) is omniinfer.ObjectDetectionBoundingBox
    if case.method == "automatic_speech_recognition":
        assert type(out.chunks[0]) is omniinfer.AutomaticSpeechRecognitionOutputChunk


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_sync_and_async_clients_agree(fixture_server: FixtureServer, case: Case) -> None:
    sync_out = _run("sync", fixture_server, case)
    async_out = _run("async", fixture_server, case)
    assert comparable(sync_out) == comparable(async_out)
    assert type(sync_out) is type(async_out)
    first, second = fixture_server.requests
    assert (first.path, first.body, first.headers["content-type"]) == (
        second.path,
        second.body,
        second.headers["content-type"],
    )


TASK_METHODS = {
    "audio_classification", "audio_to_audio", "automatic_speech_recognition", "document_question_answering",
    "feature_extraction", "fill_mask", "image_classification", "image_segmentation", "image_to_image",
    "image_to_text", "image_to_video", "object_detection", "question_answering", "sentence_similarity",
    "summarization", "table_question_answering", "tabular_classification", "tabular_regression",
    "text_classification", "text_to_image", "text_to_speech", "text_to_video", "token_classification",
    "translation", "visual_question_answering", "zero_shot_classification", "zero_shot_image_classification",
}  # fmt: skip


def test_every_task_method_is_covered() -> None:
    from omniinfer import AsyncInferenceClient, InferenceClient

    assert {case.method for case in CASES} == TASK_METHODS
    for method in TASK_METHODS:
        assert callable(getattr(InferenceClient, method)) and callable(getattr(AsyncInferenceClient, method))
        assert getattr(InferenceClient, method).__doc__, method


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_model_given_to_a_call_stays_on_the_clients_endpoint(
    fixture_server: FixtureServer, kind: str, case: Case
) -> None:
    # A client made for an endpoint sends every task there; `model=` names the model in the body.
    with Runner(kind, _serve(fixture_server, case)) as run:
        run(case.method, *case.args, model="org/served-model", **case.kwargs)
    [sent] = fixture_server.requests
    assert (sent.host, sent.path) == ("", "/endpoint")  # the fixture server itself, not a mounted host
    if isinstance(case.sent, bytes):
        assert sent.body == case.sent  # a raw binary body has no room for it
    else:
        assert sent.json() == {**case.sent, "model": "org/served-model"}


@pytest.mark.parametrize("route", ["", "/v1"], ids=["tgi", "openai"])
def test_text_generation_with_a_model_stays_on_the_base_url(
    fixture_server: FixtureServer, kind: str, route: str
) -> None:
    if route:
        completion = {"choices": [{"index": 0, "text": " there", "finish_reason": "stop"}]}
        fixture_server.add("POST", "/v1/completions", json=completion)
    else:
        fixture_server.add("POST", "/", json=[{"generated_text": " there"}])
    with Runner(kind, base_url=fixture_server.url + route) as run:
        assert run("text_generation", "hi", model="m") == " there"
    [sent] = fixture_server.requests
    assert sent.path == (route + "/completions" if route else "/")
    assert sent.json()["model"] == "m"
