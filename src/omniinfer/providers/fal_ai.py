"""fal-ai: JSON bodies on `/{model}`, results as file URLs to download; `Key` auth for direct keys.

Quick tasks answer at once (`https://fal.run`). Long ones go through fal's queue
(`https://queue.fal.run`, or `?_subdomain=queue` through the router): the answer names the request,
whose status is polled, with the call's credentials, on the host it was submitted to.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from omniinfer._core.inputs import Blob
from omniinfer._core.paths import model_path
from omniinfer._core.records import Response
from omniinfer.providers._files import Step, download_at, file_at, malformed, pick
from omniinfer.providers._jobs import Pending, fetch_json, poll, rebase
from omniinfer.providers._payload import input_url, json_body, lora_weights_path, pop_size
from omniinfer.providers._spec import Prepared, Provider, ProviderCall, native
from omniinfer.tasks._common import decode_json

QUEUE_URL = "https://queue.fal.run"
_LORA_BASE_MODEL = "stabilityai/stable-diffusion-xl-base-1.0"  # what `fal-ai/lora` applies adapters to


def queue_url() -> str:
    """The direct queue host; `OMNIINFER_BASE_URL_FAL_AI_QUEUE` overrides it (read per request)."""
    from omniinfer.providers import env_name

    return os.environ.get(env_name("fal-ai", "_QUEUE"), QUEUE_URL).rstrip("/")


def _with_lora(call: ProviderCall, body: dict[str, Any]) -> dict[str, Any]:
    weights = lora_weights_path(call)
    if weights is not None:
        body["loras"] = [{"path": weights, "scale": 1}]
        if call.target.model_id == "fal-ai/lora":
            body["model_name"] = _LORA_BASE_MODEL
    return body


def _image_size(parameters: dict[str, Any]) -> dict[str, Any]:
    """fal wants one `image_size` object, not separate width and height."""
    size = pop_size(parameters)
    if size is not None:
        parameters["image_size"] = {"width": size[0], "height": size[1]}
    target = parameters.pop("target_size", None)
    if isinstance(target, dict):
        parameters["image_size"] = target
    return parameters


def _queued(body: Callable[[ProviderCall], dict[str, Any]]) -> Callable[[ProviderCall], Prepared]:
    """A queue task's request: the same body, sent to the queue host."""

    def prepare(call: ProviderCall) -> Prepared:
        target = call.target
        url = (
            target.url() + "?_subdomain=queue"
            if target.routed
            else f"{queue_url()}/{model_path(target.model_id or '')}"
        )
        return json_body(call, body(call), url)

    return prepare


def _text_to_image(call: ProviderCall) -> Prepared:
    return json_body(call, _with_lora(call, {"prompt": call.inputs, **_image_size(dict(call.parameters))}))


def _speech_recognition(call: ProviderCall) -> Prepared:
    blob = call.inputs
    if not isinstance(blob, Blob):
        raise TypeError(f"automatic-speech-recognition on fal-ai needs audio, got {type(blob).__name__}")
    # A URL is fetched by fal itself; content goes inline (fal reads the format from the bytes).
    audio = blob.url or f"data:audio/mpeg;base64,{blob.b64()}"
    return json_body(call, {"audio_url": audio, **call.parameters})


def _text_to_speech(call: ProviderCall) -> Prepared:
    return json_body(call, {"text": call.inputs, **call.parameters})


def _text_to_video(call: ProviderCall) -> dict[str, Any]:
    return _with_lora(call, {"prompt": call.inputs, **call.parameters})


def _image_to_image(call: ProviderCall) -> dict[str, Any]:
    image = input_url(call, "image/png")
    return _with_lora(call, {"image_url": image, "image_urls": [image], **_image_size(dict(call.parameters))})


def _image_to_video(call: ProviderCall) -> dict[str, Any]:
    return _with_lora(call, {"image_url": input_url(call, "image/png"), **call.parameters})


def _image_segmentation(call: ProviderCall) -> dict[str, Any]:
    return {"image_url": input_url(call, "image/png"), **call.parameters, "sync_mode": True}


def _mask(call: ProviderCall, data: Any, response: Response) -> Step:
    """The segmentation answer as the task's raw shape: one mask, base64-encoded."""
    import base64

    mask = yield from download_at(call, data, ("image", "url"), response)
    return [{"label": "mask", "mask": base64.b64encode(mask).decode()}]


def _file(*path: str | int) -> Callable[[ProviderCall, Any, Response], Step]:
    def read(call: ProviderCall, data: Any, response: Response) -> Step:
        return (yield from download_at(call, data, path, response))

    return read


def _queue_result(read: Callable[[ProviderCall, Any, Response], Step]) -> Any:
    """Result hook of a queue task: poll the request's status until COMPLETED, fetch its result,
    then `read` the output out of it."""

    def result(call: ProviderCall, response: Response) -> Step:
        data = decode_json(response, call.target.provider_id)
        if not isinstance(data, dict) or not data.get("request_id"):
            raise malformed(call, response, "a `request_id` for the queued request", data)
        request_url = str(pick(data, ("response_url",), call, response))
        routed = call.target.routed
        base = call.target.base if routed else queue_url()
        query = "_subdomain=queue" if routed else ""

        def check(status: Any, answer: Response) -> Any:
            state = status.get("status") if isinstance(status, dict) else None
            return fetch_json(call, rebase(request_url, base, "", query)) if state == "COMPLETED" else Pending(state)

        output, answer = yield from poll(
            call, rebase(request_url, base, "/status", query), check, interval=0.5, authenticated=True
        )
        return (yield from read(call, output, answer))

    return result


FAL_AI = Provider(
    "fal-ai",
    "https://fal.run",
    {
        "automatic-speech-recognition": native("/{model}", _speech_recognition),
        "text-to-image": native("/{model}", _text_to_image, file_at("images", 0, "url")),
        "text-to-speech": native("/{model}", _text_to_speech, file_at("audio", "url")),
        "text-to-video": native("/{model}", _queued(_text_to_video), _queue_result(_file("video", "url"))),
        "image-to-image": native("/{model}", _queued(_image_to_image), _queue_result(_file("images", 0, "url"))),
        "image-to-video": native("/{model}", _queued(_image_to_video), _queue_result(_file("video", "url"))),
        "image-segmentation": native("/{model}", _queued(_image_segmentation), _queue_result(_mask)),
    },
    direct_auth=lambda key: {"authorization": f"Key {key}"},
)
