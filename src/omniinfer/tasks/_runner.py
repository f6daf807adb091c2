"""The one flow every non-chat task runs: load binary inputs, resolve the target, build the body
(the Hugging Face task form, or the provider's own through its hooks), send, and return the raw
output (bytes, or JSON-decoded data) for the task to turn into its typed result."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from omniinfer._core.context import ClientContext
from omniinfer._core.inputs import Blob, load
from omniinfer._core.jsonutil import dumps
from omniinfer._core.records import Request, Response
from omniinfer.providers import ProviderCall
from omniinfer.routing import resolve
from omniinfer.tasks._common import decode_json, drop_none

Flow = Generator[Request, Response, Any]


@dataclass(slots=True)
class TaskCall:
    """One task invocation, before it knows where it goes.

    `binary`: `inputs` is binary content in any accepted form (loaded before the call; the name in
    `argument` is used in errors). `output`: "json" or "bytes". `accept`: an Accept header to send.
    """

    task: str
    inputs: Any
    parameters: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] | None = None
    binary: bool = False
    output: str = "json"
    accept: str | None = None
    argument: str = "inputs"


def run_task(ctx: ClientContext, call: TaskCall, model: str | None) -> Flow:
    inputs = call.inputs
    if call.binary:
        inputs = yield from load(inputs, call.argument)
    target = yield from resolve(ctx, call.task, model or ctx.model)
    parameters = drop_none(call.parameters)
    extra = dict(call.extra or {})
    headers = {"accept": call.accept} if call.accept and not _has_accept(target.headers) else {}
    route = target.route
    provider_call = ProviderCall(call.task, inputs, parameters, extra, target)
    if route is not None and route.prepare is not None:
        prepared = route.prepare(provider_call)
        url = prepared.url or target.url()
        body, content_type = _encode(prepared.body)
        headers.update(prepared.headers or {})
    else:
        url = target.url()
        body, content_type = hf_task_body(call.task, inputs, parameters, extra)
    headers["content-type"] = content_type
    response = yield target.request(body, url=url, extra_headers=headers)
    if route is not None and route.result is not None:
        return (yield from route.result(provider_call, response))
    if call.output == "bytes":
        return response.body
    return decode_json(response, target.provider_id)


def _has_accept(headers: dict[str, str]) -> bool:
    return any(name.lower() == "accept" for name in headers)


def _encode(body: dict[str, Any] | bytes) -> tuple[bytes, str]:
    if isinstance(body, bytes):
        return body, "application/octet-stream"
    return dumps(body), "application/json"


def hf_task_body(task: str, inputs: Any, parameters: dict[str, Any], extra: dict[str, Any]) -> tuple[bytes, str]:
    """The Hugging Face task body: raw bytes for a binary input with no parameters, else JSON
    `{"inputs", "parameters", **extra}` (base64 for binary inputs; feature extraction puts its
    parameters at the top level)."""
    if isinstance(inputs, Blob):
        if not parameters and not extra:
            return inputs.data, inputs.mime or "application/octet-stream"
        return dumps({"inputs": inputs.b64(), "parameters": parameters, **extra}), "application/json"
    if task == "feature-extraction":
        return dumps({"inputs": inputs, **parameters, **extra}), "application/json"
    return dumps({"inputs": inputs, "parameters": parameters, **extra}), "application/json"
