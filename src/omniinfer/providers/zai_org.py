"""zai-org: OpenAI-compatible chat, and text-to-image as a job polled on the submission host."""

from __future__ import annotations

from typing import Any

from omniinfer._core.records import Response
from omniinfer.providers._files import Step, download_at, pick
from omniinfer.providers._jobs import Pending, failed, settle
from omniinfer.providers._payload import json_body, pop_size
from omniinfer.providers._spec import Prepared, Provider, ProviderCall, native
from omniinfer.providers.openai_style import chat
from omniinfer.tasks._common import decode_json


def _text_to_image(call: ProviderCall) -> Prepared:
    parameters = dict(call.parameters)
    size = pop_size(parameters)
    body: dict[str, Any] = {"model": call.target.model_id, "prompt": call.inputs}
    if size is not None:
        body["size"] = f"{size[0]}x{size[1]}"
    return json_body(call, {**body, **parameters})


def _image(call: ProviderCall) -> Any:
    def check(data: Any, response: Response) -> Any:
        status = data.get("task_status") if isinstance(data, dict) else None
        if status == "SUCCESS":
            return download_at(call, data, ("image_result", 0, "url"), response)
        if status == "FAIL":
            raise failed(call, response, data.get("error") or data.get("message") or "FAIL")
        return Pending(status)

    return check


def _job(call: ProviderCall, response: Response) -> Step:
    data = decode_json(response, call.target.provider_id)
    job_id = pick(data, ("id",), call, response)
    url = f"{call.target.base}/api/paas/v4/async-result/{job_id}"
    return (yield from settle(call, data, response, _image(call), url, interval=5.0, authenticated=True))


ZAI_ORG = Provider(
    "zai-org",
    "https://api.z.ai",
    {
        "conversational": chat("/api/paas/v4/chat/completions"),
        "text-to-image": native("/api/paas/v4/async/images/generations", _text_to_image, _job),
    },
    extra_headers={"Accept-Language": "en-US,en", "x-source-channel": "hugging_face"},
)
