"""Small pieces every task flow uses: dropping unset parameters, merging extra payload, decoding."""

from __future__ import annotations

from typing import Any, TypeVar

from omniinfer._core.http_errors import server_message
from omniinfer._core.jsonutil import JSONDecodeError, loads
from omniinfer._core.records import Response
from omniinfer.errors import InferenceHTTPError, MalformedResponseError

T = TypeVar("T")


def drop_none(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters with None values removed, recursively through nested dicts."""
    return {k: drop_none(v) if type(v) is dict else v for k, v in params.items() if v is not None}


def merge(base: dict[str, Any], extra: dict[str, Any] | None) -> dict[str, Any]:
    """`extra` merged into `base`: nested dicts merged, other keys replaced."""
    if not extra:
        return base
    for key, value in extra.items():
        current = base.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            base[key] = merge(dict(current), value)
        else:
            base[key] = value
    return base


def decode_json(response: Response, provider: str | None) -> Any:
    """The JSON body of a 2xx answer; a body that is not JSON, or a 200 that carries an error
    object instead of a result, becomes a typed error rather than a KeyError later."""
    try:
        payload = loads(response.body)
    except (JSONDecodeError, ValueError):
        snippet = response.body[:200].decode("utf-8", "replace")
        raise MalformedResponseError(
            f"Expected JSON from {response.url}, "
            f"got {response.headers.get('content-type', 'no content type')}: "
            f"{snippet!r}",
            url=response.url,
            provider=provider,
        ) from None
    if isinstance(payload, dict) and payload.get("error") is not None and len(payload) <= 3:
        message = server_message(payload) or "error"
        raise InferenceHTTPError(
            f"{response.status} answer from {response.url} carries an error: {message}",
            status_code=response.status,
            url=response.url,
            provider=provider,
            server_message=message,
            headers=response.headers,
            body=response.body[:65536],
        )
    return payload


def expect(value: Any, kind: type[T], what: str, response: Response, provider: str | None) -> T:
    if not isinstance(value, kind):
        raise MalformedResponseError(
            f"Unexpected answer from {response.url}: expected {what}, got {type(value).__name__}",
            url=response.url,
            provider=provider,
        )
    return value
