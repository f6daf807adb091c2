"""Turn a non-2xx answer (or an error event inside a stream) into the typed error it stands for."""

from __future__ import annotations

from typing import Any

from omniinfer._core.jsonutil import JSONDecodeError, loads
from omniinfer._core.records import Request, Response
from omniinfer.errors import (
    _REQUEST_ID_HEADERS,
    AuthenticationError,
    BadRequestError,
    ErrorRequest,
    ErrorResponse,
    GenerationError,
    IncompleteGenerationError,
    InferenceHTTPError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TextGenerationError,
    UnknownError,
    ValidationError,
    redact,
)

_BODY_CAP = 64 * 1024
_MESSAGE_CAP = 2000

_BY_STATUS: dict[int, type[InferenceHTTPError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}

_BY_TGI_TYPE: dict[str, type[TextGenerationError]] = {
    "validation": ValidationError,
    "generation": GenerationError,
    "incomplete_generation": IncompleteGenerationError,
    "overloaded": OverloadedError,
}


def server_message(payload: Any) -> str | None:
    """The server's own words from an error body, whatever shape it comes in."""
    if isinstance(payload, dict):
        for key in ("error", "message", "detail", "errors", "error_message"):
            value = payload.get(key)
            if value is None:
                continue
            if isinstance(value, str):
                return value
            nested = server_message(value)
            if nested:
                return nested
            return str(value)
    if isinstance(payload, list):
        parts = [m for m in (server_message(item) for item in payload) if m]
        return "; ".join(parts) if parts else None
    return None


def _decode(body: bytes) -> Any:
    try:
        return loads(body)
    except (JSONDecodeError, ValueError):
        return None


def error_from_response(request: Request, response: Response) -> InferenceHTTPError:
    payload = _decode(response.body)
    message = server_message(payload) if payload is not None else None
    if message is None:
        message = response.headers.get("x-error-message")
    if message is None and response.body:
        text = response.body[:_MESSAGE_CAP].decode("utf-8", "replace").strip()
        if not text.lstrip().startswith("<"):  # an HTML error page says nothing useful in one line
            message = text
    tgi_type = payload.get("error_type") if isinstance(payload, dict) else None
    if isinstance(tgi_type, str):
        cls: type[InferenceHTTPError] = _BY_TGI_TYPE.get(tgi_type, UnknownError)
    elif response.status >= 500:
        cls = ServerError
    else:
        cls = _BY_STATUS.get(response.status, InferenceHTTPError)
    request_id = next((response.headers[h] for h in _REQUEST_ID_HEADERS if h in response.headers), None)
    where = f" (provider: {request.provider})" if request.provider else ""
    text = f"{response.status} error from {response.url}{where}"
    if request_id:
        text += f" [request id: {request_id}]"
    if message:
        text += f": {message[:_MESSAGE_CAP]}"
    text = redact(text, request.secret)
    body = response.body[:_BODY_CAP]
    secret = request.secret
    if secret and len(secret) >= 4 and secret.encode() in body:  # a server that echoes the token back
        body = body.replace(secret.encode(), b"***")
    return cls(
        text,
        ErrorResponse(response.status, response.headers, body, response.url, ErrorRequest(request.method, request.url)),
        server_message=redact(message, request.secret) if message else None,
        provider=request.provider,
        request_id=request_id,
    )


def stream_error(payload: dict[str, Any], *, url: str, provider: str | None) -> TextGenerationError:
    """An `{"error": ...}` event inside a 200 stream; its `response` is the 200 answer, its body the event."""
    from omniinfer._core.jsonutil import dumps

    message = server_message(payload) or "unknown error"
    kind = payload.get("error_type")
    cls = _BY_TGI_TYPE.get(kind, UnknownError) if isinstance(kind, str) else UnknownError
    where = f" (provider: {provider})" if provider else ""
    return cls(
        f"Error event in the stream from {url}{where}: {message}",
        ErrorResponse(200, {"content-type": "application/json"}, dumps(payload), url, ErrorRequest("POST", url)),
        provider=provider,
        server_message=message,
    )
