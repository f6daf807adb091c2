"""wavespeed: image and video generation as jobs; the answer names a result URL, polled on the
submission host until the job lists its output files."""

from __future__ import annotations

from typing import Any

from omniinfer._core.records import Response
from omniinfer.providers._files import Step, download_at, pick
from omniinfer.providers._jobs import Pending, failed, rebase, settle
from omniinfer.providers._payload import input_url, json_body, prompt_body
from omniinfer.providers._spec import Prepared, Provider, ProviderCall, native
from omniinfer.tasks._common import decode_json


def _image_body(call: ProviderCall) -> Prepared:
    return json_body(call, {"image": input_url(call, "image/jpeg"), **call.parameters})


def _output(call: ProviderCall) -> Any:
    def check(data: Any, response: Response) -> Any:
        job = pick(data, ("data",), call, response)
        status = job.get("status") if isinstance(job, dict) else None
        if status == "completed":
            return download_at(call, job, ("outputs", 0), response)
        if status == "failed":
            raise failed(call, response, job.get("error") or "no reason given")
        return Pending(status)

    return check


def _job(call: ProviderCall, response: Response) -> Step:
    data = decode_json(response, call.target.provider_id)
    url = rebase(str(pick(data, ("data", "urls", "get"), call, response)), call.target.base)
    return (yield from settle(call, data, response, _output(call), url, interval=0.5, authenticated=True))


_ROUTE = "/api/v3/{model}"

WAVESPEED = Provider(
    "wavespeed",
    "https://api.wavespeed.ai",
    {
        "text-to-image": native(_ROUTE, prompt_body, _job),
        "text-to-video": native(_ROUTE, prompt_body, _job),
        "image-to-image": native(_ROUTE, _image_body, _job),
        "image-to-video": native(_ROUTE, _image_body, _job),
    },
)
