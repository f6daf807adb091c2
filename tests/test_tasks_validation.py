"""Bad arguments are refused before anything is sent, with an error that names the argument."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from clients import Runner
from fixture_server import FixtureServer

PNG = b"\x89PNG\r\n\x1a\n" + bytes(16)
TABLE = {"a": ["1", "2"]}

# (method, args, kwargs, error type, pattern the message must match)
BAD_CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any], type[Exception], str]] = [
    ("translation", ("hi",), {"src_lang": "en"}, ValueError, "tgt_lang"),
    ("translation", ("hi",), {"tgt_lang": "fr"}, ValueError, "src_lang"),
    ("zero_shot_classification", ("hi",), {}, ValueError, "candidate_labels"),
    ("zero_shot_classification", ("hi", []), {}, ValueError, "candidate_labels"),
    ("zero_shot_classification", ("hi", "a,b"), {}, ValueError, "candidate_labels"),
    ("zero_shot_classification", ("hi", ["a", 1]), {}, TypeError, "candidate_labels"),
    ("zero_shot_image_classification", (PNG, ["only"]), {}, ValueError, "at least 2"),
    ("zero_shot_image_classification", (PNG,), {}, ValueError, "candidate_labels"),
    ("image_classification", ("/no/such/file.png",), {}, FileNotFoundError, "`image`"),
    ("image_classification", (Path("/no/such/file.png"),), {}, FileNotFoundError, "no such file"),
    ("audio_classification", ("not a path nor a url",), {}, FileNotFoundError, "`audio`"),
    ("audio_classification", (12,), {}, ValueError, "`audio` must be bytes"),
    ("object_detection", ({"image": "x"},), {}, ValueError, "`image`"),
    ("image_to_text", (io.StringIO("text"),), {}, ValueError, "binary mode"),
    ("automatic_speech_recognition", ("data:audio/wav;base64",), {}, ValueError, "malformed data: URL"),
    ("text_classification", (b"bytes",), {}, ValueError, "`text` must be text"),
    ("text_classification", (Path("x.txt"),), {}, ValueError, "`text`"),
    ("summarization", (42,), {}, TypeError, "`text` must be a str"),
    ("fill_mask", (None,), {}, TypeError, "`text`"),
    ("feature_extraction", (b"x",), {}, ValueError, "`text`"),
    ("question_answering", ("q", b"context"), {}, ValueError, "`context`"),
    ("question_answering", (1, "context"), {}, TypeError, "`question`"),
    ("sentence_similarity", ("a", []), {}, ValueError, "other_sentences"),
    ("sentence_similarity", ("a", "b"), {}, ValueError, "other_sentences"),
    ("table_question_answering", ({"a": "not a list"}, "q"), {}, ValueError, "`table`"),
    ("table_question_answering", ({"a": ["1"], "b": ["1", "2"]}, "q"), {}, ValueError, "same length"),
    ("table_question_answering", (TABLE, b"q"), {}, ValueError, "`query`"),
    ("tabular_classification", ([["1", "2"]],), {}, ValueError, "`table`"),
    ("tabular_regression", ({},), {}, ValueError, "`table`"),
    ("visual_question_answering", (PNG, None), {}, TypeError, "`question`"),
    ("document_question_answering", (PNG, b"q"), {}, ValueError, "`question`"),
    ("image_to_image", (PNG,), {"target_size": {"width": 10}}, ValueError, "target_size"),
    ("image_to_image", (PNG, b"prompt"), {}, ValueError, "`prompt`"),
    ("image_to_video", (PNG,), {"target_size": (10, 10)}, ValueError, "target_size"),
    ("text_to_image", (b"prompt",), {}, ValueError, "`prompt`"),
    ("text_to_video", (None,), {}, TypeError, "`prompt`"),
    ("text_to_speech", (["hello"],), {}, TypeError, "`text`"),
]


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "error", "match"), BAD_CALLS, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_CALLS)]
)
def test_refused_before_any_request(
    fixture_server: FixtureServer,
    kind: str,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    with Runner(kind, fixture_server.url + "/endpoint") as run, pytest.raises(error, match=match):
        run(method, *args, **kwargs)
    assert fixture_server.requests == []


def test_missing_file_error_is_raised_before_provider_resolution(hub: FixtureServer) -> None:
    # No Hub call either: the input is checked first.
    with Runner("sync", "org/model", provider="hf-inference") as run, pytest.raises(FileNotFoundError):
        run("image_classification", "missing.png")
    assert hub.requests == []
