"""fal-ai: JSON bodies on `/{model}`, results as file URLs to download; `Key` auth for direct keys."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from omniinfer._core.records import Request, Response
from omniinfer.providers._spec import Prepared, Provider, ProviderCall, TaskRoute
from omniinfer.tasks._common import decode_json

Step = Generator[Request, Response, Any]


def _download(url: str) -> Step:
    """Result files are plain downloads: no credentials go with them."""
    response = yield Request("GET", url, {"user-agent": "omniinfer"}, None, False, "fal-ai", None)
    return response.body


def _text_to_image_body(call: ProviderCall) -> Prepared:
    parameters = dict(call.parameters)
    if "width" in parameters and "height" in parameters:
        parameters["image_size"] = {"width": parameters.pop("width"), "height": parameters.pop("height")}
    return Prepared({"prompt": call.inputs, **parameters})


def _first_image(call: ProviderCall, response: Response) -> Step:
    data = decode_json(response, "fal-ai")
    try:
        url = data["images"][0]["url"]
    except (KeyError, IndexError, TypeError):
        from omniinfer.errors import MalformedResponseError

        raise MalformedResponseError(
            f"fal-ai answered without `images[0].url`: {str(data)[:200]!r}",
            url=response.url,
            provider="fal-ai",
        ) from None
    return (yield from _download(url))


FAL_AI = Provider(
    "fal-ai",
    "https://fal.run",
    {
        "text-to-image": TaskRoute("/{model}", prepare=_text_to_image_body, result=_first_image, protocol="hf"),
    },
    direct_auth=lambda key: {"authorization": f"Key {key}"},
)
