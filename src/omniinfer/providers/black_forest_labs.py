"""black-forest-labs: text-to-image as a job. The answer names a polling URL (on the provider's own
host, polled without credentials); the finished job names the image file."""

from __future__ import annotations

from typing import Any

from omniinfer._core.records import Response
from omniinfer.providers._files import Step, download_at, pick
from omniinfer.providers._jobs import Pending, failed, poll
from omniinfer.providers._payload import json_body, renamed
from omniinfer.providers._spec import Prepared, Provider, ProviderCall, native
from omniinfer.tasks._common import decode_json

_FAILED = frozenset({"Error", "Failed", "Content Moderated", "Request Moderated", "Task not found"})


def _text_to_image(call: ProviderCall) -> Prepared:
    parameters = renamed(call.parameters, {"num_inference_steps": "steps", "guidance_scale": "guidance"})
    return json_body(call, {"prompt": call.inputs, **parameters})


def _sample(call: ProviderCall) -> Any:
    def check(data: Any, response: Response) -> Any:
        status = data.get("status") if isinstance(data, dict) else None
        if status == "Ready":
            return download_at(call, data, ("result", "sample"), response)
        if status in _FAILED:
            raise failed(call, response, f"{status}: {data.get('details') or data.get('result')}")
        return Pending(status)

    return check


def _job(call: ProviderCall, response: Response) -> Step:
    data = decode_json(response, call.target.provider_id)
    polling_url = pick(data, ("polling_url",), call, response)
    return (yield from poll(call, str(polling_url), _sample(call), interval=1.0, authenticated=False))


BLACK_FOREST_LABS = Provider(
    "black-forest-labs",
    "https://api.us1.bfl.ai",
    {"text-to-image": native("/v1/{model}", _text_to_image, _job)},
    direct_auth=lambda key: {"X-Key": key},
)
