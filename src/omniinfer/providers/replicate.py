"""replicate: every task is a prediction. `Prefer: wait` asks replicate to answer once the output
is ready; a prediction still running when that wait ends is polled on the submission host."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omniinfer._core.paths import model_path
from omniinfer._core.records import Response
from omniinfer.providers._files import Step, download, malformed
from omniinfer.providers._jobs import Pending, failed, rebase, settle
from omniinfer.providers._payload import DEFAULT_HUB_URL, input_url, json_body
from omniinfer.providers._spec import Prepared, Provider, ProviderCall, native
from omniinfer.tasks._common import decode_json

_FAILED = frozenset({"failed", "canceled", "aborted"})


def _prediction(call: ProviderCall, inputs: dict[str, Any]) -> Prepared:
    """`{"input": ...}` on the model's route, or with `version` for an `owner/model:version` id."""
    model_id = call.target.model_id or ""
    if call.target.mapping is not None and call.target.mapping.adapter_weights_path:
        inputs["lora_weights"] = f"{DEFAULT_HUB_URL}/{call.target.hf_model}"
    body: dict[str, Any] = {"input": inputs}
    if ":" in model_id:
        body["version"] = model_id.split(":", 1)[1]
        url = f"{call.target.base}/v1/predictions"
    else:
        url = f"{call.target.base}/v1/models/{model_path(model_id)}/predictions"
    return json_body(call, body, url, {"Prefer": "wait"})


def _prompt(call: ProviderCall) -> Prepared:
    return _prediction(call, {"prompt": call.inputs, **call.parameters})


def _text(call: ProviderCall) -> Prepared:
    return _prediction(call, {"text": call.inputs, **call.parameters})


def _audio(call: ProviderCall) -> Prepared:
    return _prediction(call, {"audio": input_url(call, "audio/wav"), **call.parameters})


def _image(call: ProviderCall) -> Prepared:
    # Models name their image input differently; each reads the one it knows.
    image = input_url(call, "image/jpeg")
    return _prediction(
        call, {"image": image, "images": [image], "input_image": image, "input_images": [image], **call.parameters}
    )


def _file(call: ProviderCall, output: Any, response: Response) -> Step:
    """A URL, or a list whose first item is one."""
    url = output[0] if isinstance(output, list) and output else output
    return (yield from download(call, url, response))


def _transcript(call: ProviderCall, output: Any, response: Response) -> Step:
    """Text as a string, a list of strings, or a dict naming it (or a file holding it)."""
    if isinstance(output, list) and all(isinstance(part, str) for part in output):
        output = "".join(output)
    if isinstance(output, dict):
        text = output.get("transcription") or output.get("translation")
        if text is None and output.get("txt_file"):
            text = (yield from download(call, output["txt_file"], response)).decode("utf-8", "replace")
        output = text
    if not isinstance(output, str):
        raise malformed(call, response, "a transcription", output)
    return {"text": output}


def _predicted(read: Callable[[ProviderCall, Any, Response], Step]) -> Any:
    def result(call: ProviderCall, response: Response) -> Step:
        data = decode_json(response, call.target.provider_id)

        def check(prediction: Any, answer: Response) -> Any:
            if not isinstance(prediction, dict):
                raise malformed(call, answer, "a prediction object", prediction)
            status = prediction.get("status")
            if prediction.get("output") is not None:
                return read(call, prediction["output"], answer)
            if status in _FAILED:
                raise failed(call, answer, prediction.get("error") or status)
            if status == "succeeded":
                raise malformed(call, answer, "an `output`", prediction)
            return Pending(status)

        urls = data.get("urls") if isinstance(data, dict) else None
        get = urls.get("get") if isinstance(urls, dict) else None
        url = rebase(str(get), call.target.base) if get else f"{call.target.base}/v1/predictions/{data.get('id')}"
        return (yield from settle(call, data, response, check, url, interval=1.0, authenticated=True))

    return result


_ROUTE = "/v1/models/{model}/predictions"  # or /v1/predictions for a pinned version: see _prediction

REPLICATE = Provider(
    "replicate",
    "https://api.replicate.com",
    {
        "text-to-image": native(_ROUTE, _prompt, _predicted(_file)),
        "text-to-speech": native(_ROUTE, _text, _predicted(_file)),
        "text-to-video": native(_ROUTE, _prompt, _predicted(_file)),
        "automatic-speech-recognition": native(_ROUTE, _audio, _predicted(_transcript)),
        "image-to-image": native(_ROUTE, _image, _predicted(_file)),
    },
)
