"""Building a provider's request body: renamed parameters, size forms, LoRA adapters, extras."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omniinfer._core.inputs import Blob
from omniinfer.providers._spec import Prepared, ProviderCall
from omniinfer.tasks._common import merge

DEFAULT_HUB_URL = "https://huggingface.co"


def renamed(parameters: dict[str, Any], names: Mapping[str, str | None]) -> dict[str, Any]:
    """A copy of `parameters` with keys renamed (`None`: dropped); the order of the others is kept."""
    out: dict[str, Any] = {}
    for key, value in parameters.items():
        if key not in names:
            out[key] = value
        elif names[key] is not None:
            out[str(names[key])] = value
    return out


def json_body(
    call: ProviderCall, body: dict[str, Any], url: str | None = None, headers: dict[str, str] | None = None
) -> Prepared:
    """The JSON request, with the task's extra payload merged in (nested dicts merged)."""
    return Prepared(merge(body, call.extra), url, headers)


def pop_size(parameters: dict[str, Any]) -> tuple[Any, Any] | None:
    """(width, height) taken out of `parameters` when both are given (else left in place)."""
    if "width" in parameters and "height" in parameters:
        return parameters.pop("width"), parameters.pop("height")
    return None


def target_size_as_width_height(parameters: dict[str, Any]) -> dict[str, Any]:
    """image_to_image's `target_size={"width", "height"}` spread as `width`/`height`."""
    size = parameters.pop("target_size", None)
    if isinstance(size, dict):
        parameters.update({k: size[k] for k in ("width", "height") if size.get(k) is not None})
    return parameters


def input_url(call: ProviderCall, default_mime: str) -> str:
    """The binary input as a URL a provider fetches itself: the caller's http(s) URL, else a data URL."""
    blob = call.inputs
    if not isinstance(blob, Blob):
        raise TypeError(f"{call.task} on {call.target.provider_id} needs binary input, got {type(blob).__name__}")
    return blob.as_url(default_mime)


def lora_weights_path(call: ProviderCall) -> str | None:
    """The adapter file the Hub mapping names for this model, as a download URL on the Hub."""
    entry = call.target.mapping
    if entry is None or not entry.adapter_weights_path or not call.target.hf_model:
        return None
    from omniinfer.providers import hub_url

    return f"{hub_url()}/{call.target.hf_model}/resolve/main/{entry.adapter_weights_path}"


def prompt_body(call: ProviderCall) -> Prepared:
    """`{"prompt": <text>, ...parameters}`: the plainest provider body."""
    return json_body(call, {"prompt": call.inputs, **call.parameters})
