"""Audio in (classification, separation, transcription) and speech out."""

from __future__ import annotations

from typing import Any, Literal

from omniinfer._core.context import ClientContext
from omniinfer._core.inputs import BinaryInput
from omniinfer.tasks._common import check_text
from omniinfer.tasks._runner import Flow, TaskCall, binary_task, run_task
from omniinfer.tasks._shapes import b64_bytes, list_of, one
from omniinfer.types import (
    AudioClassificationOutputElement,
    AudioToAudioOutputElement,
    AutomaticSpeechRecognitionOutput,
)


def audio_classification(
    ctx: ClientContext,
    audio: BinaryInput,
    *,
    model: str | None = None,
    top_k: int | None = None,
    function_to_apply: Literal["sigmoid", "softmax", "none"] | None = None,
) -> Flow:
    parameters = {"function_to_apply": function_to_apply, "top_k": top_k}
    parse = list_of(AudioClassificationOutputElement)
    return (yield from binary_task(ctx, "audio-classification", audio, "audio", parameters, model, parse))


def _tracks(data: Any) -> list[AudioToAudioOutputElement]:
    tracks = list_of(AudioToAudioOutputElement)(data)
    for track in tracks:
        track["blob"] = b64_bytes(track.get("blob"))
    return tracks


def audio_to_audio(ctx: ClientContext, audio: BinaryInput, *, model: str | None = None) -> Flow:
    return (yield from binary_task(ctx, "audio-to-audio", audio, "audio", {}, model, _tracks))


def automatic_speech_recognition(
    ctx: ClientContext,
    audio: BinaryInput,
    *,
    model: str | None = None,
    extra_body: dict[str, Any] | None = None,
) -> Flow:
    parse = one(AutomaticSpeechRecognitionOutput)
    task = "automatic-speech-recognition"
    return (yield from binary_task(ctx, task, audio, "audio", dict(extra_body or {}), model, parse))


def text_to_speech(
    ctx: ClientContext,
    text: str,
    *,
    model: str | None = None,
    do_sample: bool | None = None,
    early_stopping: bool | Literal["never"] | None = None,
    epsilon_cutoff: float | None = None,
    eta_cutoff: float | None = None,
    max_length: int | None = None,
    max_new_tokens: int | None = None,
    min_length: int | None = None,
    min_new_tokens: int | None = None,
    num_beam_groups: int | None = None,
    num_beams: int | None = None,
    penalty_alpha: float | None = None,
    temperature: float | None = None,
    top_k: int | None = None,
    top_p: float | None = None,
    typical_p: float | None = None,
    use_cache: bool | None = None,
    extra_body: dict[str, Any] | None = None,
) -> Flow:
    check_text(text, "text")
    parameters = {
        "do_sample": do_sample,
        "early_stopping": early_stopping,
        "epsilon_cutoff": epsilon_cutoff,
        "eta_cutoff": eta_cutoff,
        "max_length": max_length,
        "max_new_tokens": max_new_tokens,
        "min_length": min_length,
        "min_new_tokens": min_new_tokens,
        "num_beam_groups": num_beam_groups,
        "num_beams": num_beams,
        "penalty_alpha": penalty_alpha,
        "temperature": temperature,
        "top_k": top_k,
        "top_p": top_p,
        "typical_p": typical_p,
        "use_cache": use_cache,
        **(extra_body or {}),  # provider-specific keys travel with the parameters
    }
    call = TaskCall("text-to-speech", text, parameters, output="bytes", argument="text")
    return (yield from run_task(ctx, call, model))
