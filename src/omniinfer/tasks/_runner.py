"""The one flow every non-chat task runs: load binary inputs, resolve the target, build the body
(the Hugging Face task form, or the provider's own through its hooks), send, and turn the raw output
(bytes, or JSON-decoded data) into the task's typed result."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from omniinfer._core.context import ClientContext
from omniinfer._core.inputs import Blob, load
from omniinfer._core.jsonutil import dumps
from omniinfer._core.records import Request, Response
from omniinfer.errors import InferenceError, MalformedResponseError
from omniinfer.providers import ProviderCall
from omniinfer.providers._jobs import job_deadline
from omniinfer.routing import destination, resolve
from omniinfer.tasks._common import decode_json, drop_none, preview

Flow = Generator[Request, Response, Any]

# (loaded inputs, parameters without None) -> the Hugging Face JSON body, for the few tasks whose
# body is not the standard `{"inputs", "parameters"}` form (document and visual question answering).
HfBody = Callable[[Any, dict[str, Any]], dict[str, Any]]


@dataclass(slots=True)
class TaskCall:
    """One task invocation, before it knows where it goes.

    `binary`: `inputs` is binary content in any accepted form (loaded before the call; the name in
    `argument` is used in errors). `output`: "json" or "bytes". `accept`: an Accept header to send.
    `parse`: raw output -> typed result; a shape it cannot read becomes MalformedResponseError.
    `hf_body`: the Hugging Face body when it is not the standard form (always sent as JSON).
    """

    task: str
    inputs: Any
    parameters: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] | None = None
    binary: bool = False
    output: str = "json"
    accept: str | None = None
    argument: str = "inputs"
    parse: Callable[[Any], Any] | None = None
    hf_body: HfBody | None = None


def run_task(ctx: ClientContext, call: TaskCall, model: str | None) -> Flow:
    inputs = call.inputs
    if call.binary:
        inputs = yield from load(inputs, call.argument)
    where, named = destination(ctx, model)
    target = yield from resolve(ctx, call.task, where)
    parameters = drop_none(call.parameters)
    extra = dict(call.extra or {})
    if named is not None and not (isinstance(inputs, Blob) and not parameters and not extra):
        extra = {"model": named, **extra}  # the endpoint's model; a raw binary body has no room for it
    headers = {"accept": call.accept} if call.accept and not _has_accept(target.headers) else {}
    route = target.route
    provider_call = ProviderCall(call.task, inputs, parameters, extra, target, job_deadline(ctx.timeout))
    if route is not None and route.prepare is not None:
        prepared = route.prepare(provider_call)
        url = prepared.url or target.url()
        body, content_type = _encode(prepared.body)
        headers.update(prepared.headers or {})
    else:
        url = target.url()
        if call.hf_body is not None:
            body, content_type = dumps(merge_extra(call.hf_body(inputs, parameters), extra)), "application/json"
        else:
            body, content_type = hf_task_body(call.task, inputs, parameters, extra)
    headers.setdefault("content-type", content_type)  # a provider may set its own (multipart)
    response = yield target.request(body, url=url, extra_headers=headers)
    if route is not None and route.result is not None:
        raw = yield from route.result(provider_call, response)
    elif call.output == "bytes":
        raw = response.body
    else:
        raw = decode_json(response, target.provider_id)
    if call.parse is None:
        return raw
    try:
        return call.parse(raw)
    except InferenceError:  # already typed (and an OSError, which the next clause would rewrap)
        raise
    except (KeyError, IndexError, TypeError, ValueError, OSError) as exc:
        # OSError: Pillow's "cannot identify image file" for a body that is not an image.
        raise MalformedResponseError(
            f"Unexpected {call.task} answer from {response.url}: {exc} (got {preview(raw)})",
            url=response.url,
            provider=target.provider_id,
        ) from None


def binary_task(
    ctx: ClientContext,
    task: str,
    content: Any,
    argument: str,
    parameters: dict[str, Any],
    model: str | None,
    parse: Callable[[Any], Any],
    hf_body: HfBody | None = None,
) -> Flow:
    """The shape the binary-input tasks share: content in any accepted form, loaded before the call."""
    call = TaskCall(task, content, parameters, binary=True, argument=argument, parse=parse, hf_body=hf_body)
    return (yield from run_task(ctx, call, model))


def _has_accept(headers: dict[str, str]) -> bool:
    return any(name.lower() == "accept" for name in headers)


def _encode(body: dict[str, Any] | bytes) -> tuple[bytes, str]:
    if isinstance(body, bytes):
        return body, "application/octet-stream"
    return dumps(body), "application/json"


def merge_extra(body: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    return {**body, **extra} if extra else body


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
