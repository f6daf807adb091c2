"""Task types are dataclasses and dicts at once, as the reference client's; every generated type of
the reference is exported. Compared with the installed huggingface_hub when there is one."""

from __future__ import annotations

import dataclasses
import json
import pickle
import typing
from typing import Any

import pytest

import omniinfer
import omniinfer.types as types_module
from clients import Runner
from fixture_server import FixtureServer
from omniinfer.types import (
    AudioToAudioOutputElement,
    ChatCompletionInputGrammarType,
    ChatCompletionOutput,
    ChatCompletionOutputUsage,
    ChatCompletionStreamOutput,
    ObjectDetectionOutputElement,
    TextClassificationOutputElement,
    TextToImageParameters,
)
from samples import DONE, HI, ROUTE, completion

# Answers as servers send them, each parsed by both clients' types.
SAMPLES: list[tuple[str, Any]] = [
    ("TextClassificationOutputElement", [{"label": "POSITIVE", "score": 0.9}, {"label": "NEGATIVE", "score": 0.1}]),
    (
        "ObjectDetectionOutputElement",
        [{"label": "cat", "score": 0.8, "box": {"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4}}],
    ),
    ("AutomaticSpeechRecognitionOutput", {"text": "hi", "chunks": [{"text": "hi", "timestamp": [0.0, 0.5]}]}),
    ("AudioToAudioOutputElement", [{"label": "speech", "content-type": "audio/flac", "blob": "AAA"}]),
    ("TokenClassificationOutputElement", [{"entity_group": "PER", "score": 0.9, "word": "Ann", "start": 0, "end": 3}]),
    ("ChatCompletionOutputUsage", {"completion_tokens": 1, "prompt_tokens": 2, "total_tokens": 3, "extra": True}),
    (
        "TextGenerationOutput",
        {"generated_text": "x", "details": {"finish_reason": "length", "generated_tokens": 1, "tokens": []}},
    ),
    ("ChatCompletionStreamOutputUsage", {"completion_tokens": 1}),
]


def _reference() -> Any:
    return pytest.importorskip("huggingface_hub.inference._generated.types")


def _reference_classes(reference: Any) -> dict[str, type]:
    return {
        name: obj
        for name, obj in vars(reference).items()
        if isinstance(obj, type) and dataclasses.is_dataclass(obj) and name != "BaseInferenceType"
    }


# --- names and fields -----------------------------------------------------------------------------


def test_every_type_is_exported_at_both_levels() -> None:
    names = [n for n in types_module.__all__ if n != "BaseInferenceType"]
    assert len(names) >= 169  # 149 classes and 20 aliases of huggingface_hub 0.33.4 and 2.x
    for name in names:
        assert getattr(omniinfer, name) is getattr(types_module, name)
    assert set(names) <= set(dir(omniinfer))
    assert ChatCompletionInputGrammarType is not None and dataclasses.is_dataclass(TextToImageParameters)


def test_names_and_fields_match_the_installed_reference() -> None:
    reference = _reference()
    ours = set(types_module.__all__)
    exported = {n for n in dir(reference) if not n.startswith("_") and n != "BaseInferenceType"}
    exported -= {n for n in exported if isinstance(getattr(reference, n), typing.types.ModuleType)}  # type: ignore[attr-defined]
    assert exported - ours == set()
    for name, ref_cls in _reference_classes(reference).items():
        ref_fields = dataclasses.fields(ref_cls)
        our_fields = {f.name: f for f in dataclasses.fields(getattr(types_module, name))}
        names = [f.name for f in ref_fields]
        assert [n for n in our_fields if n in names] == names, name  # same order, newer fields may be added
        for field in ref_fields:
            required = field.default is dataclasses.MISSING
            assert (our_fields[field.name].default is dataclasses.MISSING) == required, (name, field.name)


# --- behaviour, side by side with the reference ---------------------------------------------------


def _views(value: Any) -> dict[str, Any]:
    items = value if isinstance(value, list) else [value]
    return {
        "len": [len(item) for item in items],
        # The reference puts fields it set to None after the others; ours keep field order. Same
        # keys, same JSON object; only the key order of the text can differ.
        "keys": [sorted(item) for item in items],
        "json": json.dumps(items, sort_keys=True, default=str),
        "repr": [repr(item) for item in items],
        "asdict": [dataclasses.asdict(item) for item in items],
        "fields": [[f.name for f in dataclasses.fields(item)] for item in items],
        "in": [["label" in item, "score" in item, "nope" in item] for item in items],
    }


@pytest.mark.parametrize(("name", "payload"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_parsed_objects_read_as_the_references(name: str, payload: Any) -> None:
    reference = _reference()
    ours = getattr(types_module, name).parse_obj(payload)
    theirs = getattr(reference, name).parse_obj(payload)
    assert _views(ours) == _views(theirs)
    first_ours, first_theirs = (ours[0], theirs[0]) if isinstance(ours, list) else (ours, theirs)
    assert (first_ours == dict(first_ours)) == (first_theirs == dict(first_theirs))
    changed = dataclasses.replace(first_ours, **{dataclasses.fields(first_ours)[0].name: "changed"})
    changed_theirs = dataclasses.replace(first_theirs, **{dataclasses.fields(first_theirs)[0].name: "changed"})
    assert dict(changed) == dict(changed_theirs) and type(changed) is type(first_ours)


def test_equality_is_field_by_field_within_a_class_as_in_the_reference() -> None:
    reference = _reference()
    a = {"label": "x", "score": 0.5, "extra": 1}
    b = {"label": "x", "score": 0.5, "extra": 2}
    ours = TextClassificationOutputElement.parse_obj(a) == TextClassificationOutputElement.parse_obj(b)
    ref_cls = reference.TextClassificationOutputElement
    assert ours == (ref_cls.parse_obj(a) == ref_cls.parse_obj(b))
    assert TextClassificationOutputElement.parse_obj(a) == {"label": "x", "score": 0.5, "extra": 1}


def test_construction_as_a_dataclass() -> None:
    usage = ChatCompletionOutputUsage(1, 2, 3)  # positional, in field order
    assert usage == {"completion_tokens": 1, "prompt_tokens": 2, "total_tokens": 3}
    assert usage.total_tokens == 3 == usage["total_tokens"]
    element = TextClassificationOutputElement(label="a", score=0.5)
    element.score = 0.7
    assert element["score"] == 0.7 and dataclasses.astuple(element) == ("a", 0.7)
    with pytest.raises(TypeError):
        ChatCompletionOutputUsage(1)  # type: ignore[call-arg]
    box = ObjectDetectionOutputElement.parse_obj_as_instance({"label": "cat", "score": 1, "box": {"xmin": 1}})
    assert box.box.xmax is None and len(box.box) == 4  # every declared field present
    audio = AudioToAudioOutputElement.parse_obj_as_instance({"label": "a", "Content-Type": "audio/wav"})
    assert audio.content_type == "audio/wav" and "Content-Type" not in audio


def test_types_pickle() -> None:
    out = ChatCompletionOutput.parse_obj_as_instance(completion("hi", service_tier="default"))
    copy = pickle.loads(pickle.dumps(out))
    assert copy == out and dict(copy) == dict(out) and type(copy.choices[0]) is type(out.choices[0])
    assert copy.service_tier == "default"


# --- over the wire, both clients ------------------------------------------------------------------


def test_chat_output_over_the_wire(fixture_server: FixtureServer, kind: str) -> None:
    answer = completion("four")
    answer["choices"][0]["message"]["reasoning_content"] = "2 + 2"
    fixture_server.add("POST", ROUTE, json=answer)
    with Runner(kind, fixture_server.url) as run:
        out = run("chat_completion", HI)
    message = out.choices[0].message
    assert (message.reasoning, message.reasoning_content, message.tool_calls) == ("2 + 2", "2 + 2", None)
    assert list(message)[:5] == ["role", "content", "reasoning", "tool_call_id", "tool_calls"]
    as_dict = dataclasses.asdict(out)
    assert as_dict["choices"][0]["message"]["content"] == "four" and as_dict["usage"] is None
    assert "object" not in as_dict and out.object == "chat.completion"  # not a declared field: kept as extra
    assert json.loads(json.dumps(out))["choices"][0]["logprobs"] is None


def test_stream_deltas_over_the_wire(fixture_server: FixtureServer, kind: str) -> None:
    chunks = [
        {"id": "1", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"reasoning": "think"}}]},
        {"id": "1", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"reasoning_content": "more"}}]},
        {"id": "1", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"content": "done"}}]},
    ]
    fixture_server.add("POST", ROUTE, sse=[*chunks, DONE])
    with Runner(kind, fixture_server.url) as run:
        out = run("chat_completion", HI, stream=True)
    assert all(type(c) is ChatCompletionStreamOutput for c in out)
    assert [c.choices[0].delta.reasoning for c in out] == ["think", "more", None]
    assert [c.choices[0].delta.content for c in out] == [None, None, "done"]
    assert out[0].choices[0].delta.reasoning_content == "think"
    assert [f.name for f in dataclasses.fields(out[0])] == [
        "choices",
        "created",
        "id",
        "model",
        "system_fingerprint",
        "usage",
    ]
