"""Small pieces every task flow uses: dropping unset parameters, merging extra payload, decoding."""

from __future__ import annotations

from typing import Any, TypeVar

from omniinfer._core.http_errors import server_message
from omniinfer._core.jsonutil import JSONDecodeError, loads
from omniinfer._core.records import Response
from omniinfer.errors import InferenceHTTPError, MalformedResponseError

T = TypeVar("T")


def preview(value: Any, limit: int = 200) -> str:
    """A short repr of an unexpected answer, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


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


# A 2xx body made only of these keys is an error report, not a result (a job's status, which also
# has `id`/`status`, is left to the job flow to judge).
_ERROR_KEYS = frozenset(
    {"error", "error_type", "errors", "message", "detail", "code", "type", "estimated_time", "warnings"}
)


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
    if isinstance(payload, dict) and payload.get("error") is not None and payload.keys() <= _ERROR_KEYS:
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


def check_text(value: Any, argument: str) -> None:
    """Text tasks take text: refuse binary content (a common mix-up) with ValueError, other types
    with TypeError, before anything is sent."""
    if isinstance(value, str):
        return
    from omniinfer._core.inputs import is_binary_input

    if is_binary_input(value):
        raise ValueError(f"`{argument}` must be text (str): this task does not take binary input")
    raise TypeError(f"`{argument}` must be a str, got {type(value).__name__}")


def check_texts(values: Any, argument: str) -> list[str]:
    """A non-empty list (or tuple) of str."""
    if isinstance(values, str) or not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"`{argument}` must be a non-empty list of str")
    for value in values:
        if not isinstance(value, str):
            raise TypeError(f"`{argument}` must hold str only, got {type(value).__name__}")
    return list(values)
