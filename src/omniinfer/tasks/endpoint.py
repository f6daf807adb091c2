"""Endpoint utilities: `health_check` (GET `<url>/health`) and `get_endpoint_info` (GET `<url>/info`).

They speak to one dedicated endpoint or local server (TGI, TEI, llama.cpp, an Inference Endpoint),
never to a provider: the model must be a URL. The Hugging Face client also accepts them only with
`provider="hf-inference"`; here the default provider (None or "auto") works too, since a URL model
goes to its URL whatever the provider.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from omniinfer._core.context import ClientContext, is_url
from omniinfer._core.records import Request, Response
from omniinfer.errors import InferenceConnectionError, InferenceHTTPError, InferenceTimeoutError, MalformedResponseError
from omniinfer.routing import endpoint_target
from omniinfer.tasks._common import decode_json

Flow = Generator[Request, Response, Any]

_ENDPOINT_PROVIDERS = (None, "auto", "hf-inference")


def health_check(ctx: ClientContext, model: str | None = None) -> Flow:
    """True when `<url>/health` answers 200; False for any other answer, a refused connection or a timeout."""
    url = _endpoint_url(ctx, model, "Health check")
    if not is_url(url):
        raise ValueError(
            f"Health check needs the URL of an endpoint or a local server (e.g. 'http://localhost:8080'), "
            f"got the model id {url!r}: it only works with URLs."
        )
    try:
        response = yield _get(ctx, url, "health")
    except (InferenceHTTPError, InferenceConnectionError, InferenceTimeoutError):
        # A health check answers the question rather than raising: an endpoint that is down, refuses
        # the connection or does not answer in time is simply not healthy.
        return False
    return response.status == 200


def get_endpoint_info(ctx: ClientContext, *, model: str | None = None) -> Flow:
    """The JSON object of `<url>/info` (model id, dtype, limits... as the server describes itself)."""
    url = _endpoint_url(ctx, model, "Getting endpoint info")
    if not is_url(url):
        raise ValueError(
            f"Getting endpoint info needs the URL of an endpoint or a local server (e.g. "
            f"'http://localhost:8080'), got the model id {url!r}: deploy the model to an Inference "
            f"Endpoint (or run it locally) and pass its URL as `model`."
        )
    response = yield _get(ctx, url, "info")
    info = decode_json(response, None)
    if not isinstance(info, dict):
        raise MalformedResponseError(
            f"Expected a JSON object from {response.url}, got {type(info).__name__}", url=response.url
        )
    return info


def _endpoint_url(ctx: ClientContext, model: str | None, what: str) -> str:
    provider = ctx.provider
    if isinstance(provider, list) or provider not in _ENDPOINT_PROVIDERS:
        raise ValueError(
            f"{what} is only supported on 'hf-inference' provider (or with a URL model), got {provider!r}."
        )
    chosen = model or ctx.model
    if chosen is None:
        raise ValueError("Model id not provided: pass the endpoint URL as `model` (to the client or the call).")
    if not isinstance(chosen, str):
        raise TypeError(f"`model` must be an endpoint URL (str), got {type(chosen).__name__}")
    return chosen


def _get(ctx: ClientContext, url: str, path: str) -> Request:
    """A GET to `<url>/<path>` with the endpoint's headers (the token included, as for its calls)."""
    target = endpoint_target(ctx, url)
    headers = {name: value for name, value in target.headers.items() if name.lower() != "content-type"}
    # Not retried: a health check must say "down" at once, not after the retry policy's waits.
    return Request("GET", f"{target.base}/{path}", headers, None, False, None, target.secret, retryable=False)
