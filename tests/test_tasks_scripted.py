"""hf-inference behaviour without a recording (scripted Hub and router), malformed answers, the
provider-hook contract, and the optional heavy imports."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image

import omniinfer
from clients import Runner
from fixture_server import FixtureServer
from omniinfer import MalformedResponseError
from probes import loaded_after

HUB = "huggingface.co"
ROUTER = "router.huggingface.co"


def _png(color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), color).save(buffer, format="PNG")
    return buffer.getvalue()


def _model(hub: FixtureServer, model: str, task: str) -> None:
    hub.add("GET", f"/api/models/{model}", host=HUB, json={"id": model, "pipeline_tag": task, "tags": [task]})


@pytest.mark.parametrize(
    ("method", "args", "task"),
    [
        ("text_to_video", ("a cat",), "text-to-video"),
        ("image_to_video", (_png(),), "image-to-video"),
    ],
)
def test_tasks_hf_inference_does_not_serve(hub: FixtureServer, method: str, args: tuple[Any, ...], task: str) -> None:
    with Runner("sync", "org/model", provider="hf-inference") as run, pytest.raises(ValueError) as caught:
        run(method, *args)
    message = str(caught.value)
    assert f"Task {task!r} not supported for provider 'hf-inference'" in message
    assert "Available tasks:" in message and "'text-classification'" in message
    assert [r for r in hub.requests if r.method == "POST"] == []


def test_recommended_model_when_none_is_given(hub: FixtureServer, kind: str) -> None:
    hub.add("GET", "/api/tasks", host=HUB, json={"fill-mask": {"widgetModels": ["google-bert/bert-base-uncased"]}})
    _model(hub, "google-bert/bert-base-uncased", "fill-mask")
    answer = [{"score": 0.5, "token": 1, "token_str": "capital", "sequence": "paris is the capital"}]
    hub.add("POST", "/hf-inference/models/google-bert/bert-base-uncased", host=ROUTER, json=answer)
    with Runner(kind, provider="hf-inference") as run:
        out = run("fill_mask", "paris is the [MASK]")
    # Every declared field is present (None when not sent), as in the reference client.
    assert out == [{**answer[0], "fill_mask_output_token_str": None}]
    assert type(out[0]) is omniinfer.FillMaskOutputElement
    assert [(r.method, r.path) for r in hub.requests] == [
        ("GET", "/api/tasks"),
        ("GET", "/api/models/google-bert/bert-base-uncased"),
        ("POST", "/hf-inference/models/google-bert/bert-base-uncased"),
    ]


def test_model_of_another_task_is_refused_before_the_call(hub: FixtureServer) -> None:
    _model(hub, "org/classifier", "text-classification")
    with Runner("sync", "org/classifier", provider="hf-inference") as run, pytest.raises(ValueError, match="fill-mask"):
        run("fill_mask", "a [MASK]")
    assert [r.method for r in hub.requests] == ["GET"]


def test_image_to_image_raw_and_json_forms_ask_for_png(hub: FixtureServer, kind: str) -> None:
    _model(hub, "org/i2i", "image-to-image")
    hub.add(
        "POST", "/hf-inference/models/org/i2i", host=ROUTER, body=_png("blue"), headers={"Content-Type": "image/png"}
    )
    with Runner(kind, "org/i2i", provider="hf-inference", token="hf_token") as run:
        plain = run("image_to_image", _png())
        prompted = run("image_to_image", _png(), "blue", num_inference_steps=5, seed=3)
    assert isinstance(plain, Image.Image) and plain.getpixel((0, 0)) == (0, 0, 255)
    assert isinstance(prompted, Image.Image)
    raw, as_json = [r for r in hub.requests if r.method == "POST"]
    assert raw.body == _png() and raw.headers["content-type"] == "image/png"
    assert raw.headers["accept"] == as_json.headers["accept"] == "image/png"
    assert raw.headers["authorization"] == "Bearer hf_token"
    assert as_json.headers["content-type"] == "application/json"
    assert as_json.json() == {
        "inputs": base64.b64encode(_png()).decode(),
        "parameters": {"prompt": "blue", "num_inference_steps": 5, "seed": 3},
    }


@pytest.mark.parametrize(
    ("method", "args", "task", "answer", "body"),
    [
        (
            "question_answering",
            ("Who?", "Clara lives here."),
            "question-answering",
            {"answer": "Clara", "score": 0.9, "start": 0, "end": 5},
            {"inputs": {"question": "Who?", "context": "Clara lives here."}, "parameters": {}},
        ),
        (
            "tabular_classification",
            ({"x": ["1", "2"]},),
            "tabular-classification",
            [1, 0],
            {"inputs": None, "parameters": {}, "table": {"x": ["1", "2"]}},
        ),
        (  # the seed's table lists it for hf-inference: the same body as tabular-classification
            "tabular_regression",
            ({"x": ["1", "2"]},),
            "tabular-regression",
            [110.5, 7.25],
            {"inputs": None, "parameters": {}, "table": {"x": ["1", "2"]}},
        ),
    ],
)
def test_scripted_hf_inference_tasks(
    hub: FixtureServer, kind: str, method: str, args: tuple[Any, ...], task: str, answer: Any, body: Any
) -> None:
    # One model id per task: Hub answers are cached per process, keyed by host and path.
    model = f"org/{task}-model"
    _model(hub, model, task)
    hub.add("POST", f"/hf-inference/models/{model}", host=ROUTER, json=answer)
    with Runner(kind, model, provider="hf-inference") as run:
        out = run(method, *args)
    assert out == answer
    [sent] = [r for r in hub.requests if r.method == "POST"]
    assert sent.json() == body


@pytest.mark.parametrize(
    ("method", "args", "answer"),
    [
        ("text_classification", ("x",), {"label": "a"}),
        ("text_classification", ("x",), ["a", "b"]),
        ("token_classification", ("x",), {"entity": "PER"}),
        ("zero_shot_classification", ("x", ["a", "b"]), {"labels": ["a", "b"], "scores": [1.0]}),
        ("zero_shot_classification", ("x", ["a", "b"]), {"sequence": "x"}),
        ("summarization", ("x",), []),
        ("translation", ("x",), "Bonjour"),
        ("sentence_similarity", ("a", ["b"]), ["high"]),
        ("feature_extraction", ("x",), [[1.0, 2.0], [3.0]]),
        ("feature_extraction", ("x",), {"embedding": [1.0]}),
        ("tabular_regression", ({"a": ["1"]},), {"value": 1}),
        ("table_question_answering", ({"a": ["1"]}, "q"), [1, 2]),
        ("object_detection", (b"\x89PNG\r\n\x1a\n",), {"label": "cat"}),
        ("image_segmentation", (b"\x89PNG\r\n\x1a\n",), [{"label": "a", "mask": "not base64 png"}]),
        ("audio_to_audio", (b"RIFF",), [{"label": "a", "blob": 12}]),
        ("automatic_speech_recognition", (b"RIFF",), ["text"]),
    ],
)
def test_malformed_answers_are_typed_errors(
    fixture_server: FixtureServer, method: str, args: tuple[Any, ...], answer: Any
) -> None:
    fixture_server.add("POST", "/endpoint", json=answer)
    with Runner("sync", fixture_server.url + "/endpoint") as run, pytest.raises(MalformedResponseError) as caught:
        run(method, *args)
    assert caught.value.url is not None and caught.value.url.endswith("/endpoint")


def test_image_answer_that_is_not_an_image(fixture_server: FixtureServer) -> None:
    fixture_server.add("POST", "/endpoint", body=b"<html>oops</html>", headers={"Content-Type": "text/html"})
    with Runner("sync", fixture_server.url + "/endpoint") as run, pytest.raises(MalformedResponseError, match="image"):
        run("image_to_image", _png())


def test_provider_hooks_receive_the_task_inputs(monkeypatch: pytest.MonkeyPatch, fixture_server: FixtureServer) -> None:
    """What another provider's `prepare` hook sees: text for text tasks, a loaded Blob for binary
    inputs, and the task's parameters by their spec names with None removed."""
    from omniinfer._core.inputs import Blob
    from omniinfer.providers import REGISTRY, Prepared, Provider, ProviderCall, TaskRoute

    seen: list[ProviderCall] = []

    def prepare(call: ProviderCall) -> Prepared:
        seen.append(call)
        return Prepared({"ok": True})

    tasks = {t: TaskRoute("/run", protocol="hf", prepare=prepare) for t in ("image-classification", "translation")}
    monkeypatch.setitem(REGISTRY, "test-provider", Provider("test-provider", fixture_server.url, tasks))
    monkeypatch.setenv("HF_ENDPOINT", fixture_server.host_url(HUB))
    mapping = {"test-provider": {"status": "live", "providerId": "p/m"}}
    fixture_server.add("GET", "/api/models/org/hooks-model", host=HUB, json={"inferenceProviderMapping": mapping})
    fixture_server.add("POST", "/run", json=[{"label": "a", "score": 1.0}], times=1)
    fixture_server.add("POST", "/run", json=[{"translation_text": "Salut"}], times=1)
    with Runner("sync", "org/hooks-model", provider="test-provider", api_key="key") as run:
        assert run("image_classification", _png(), top_k=2)[0].label == "a"
        assert run("translation", "Hi", src_lang="en", tgt_lang="fr").translation_text == "Salut"
    image_call, text_call = seen
    assert isinstance(image_call.inputs, Blob) and image_call.inputs.mime == "image/png"
    assert image_call.parameters == {"top_k": 2}
    assert text_call.inputs == "Hi" and text_call.parameters == {"src_lang": "en", "tgt_lang": "fr"}


def test_heavy_libraries_are_imported_only_by_the_tasks_that_need_them() -> None:
    code = (
        "import omniinfer, omniinfer.client, omniinfer.async_client; "
        "import omniinfer.tasks.vision, omniinfer.tasks.embeddings, omniinfer.tasks.media"
    )
    assert loaded_after(code, ("numpy", "PIL")) == []
