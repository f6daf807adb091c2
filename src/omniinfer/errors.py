"""Every error omniinfer raises, in one tree.

    InferenceError (an OSError)             root of everything raised by a call on the wire
    ├── InferenceHTTPError (alias HfHubHTTPError)   the server answered with a non-2xx status; `e.response`
    │   ├── BadRequestError (also ValueError)       400
    │   ├── AuthenticationError                     401
    │   ├── PermissionDeniedError                   403
    │   ├── NotFoundError                           404
    │   ├── RateLimitError                          429
    │   ├── ServerError                             5xx
    │   └── TextGenerationError                     a TGI error body (`error_type`), also mid-stream
    │       ├── ValidationError, GenerationError, OverloadedError,
    │       └── IncompleteGenerationError, UnknownError
    ├── InferenceTimeoutError (also TimeoutError)    connect, read, first token or whole-call deadline
    ├── InferenceConnectionError (also ConnectionError)  no connection, or it broke mid-answer
    │   └── ProtocolError                            the peer broke HTTP/1.1 framing, or a size limit
    ├── IncompleteStreamError                        a stream ended without its terminator
    ├── JobFailedError                               a provider's job (image, video...) reported failure
    ├── LocalEngineCrashError                        llama.cpp crashed on the model in a test process
    └── MalformedResponseError                       a 2xx answer we cannot decode
        └── ResponseTooLargeError                    a body or event past its size limit

Bad arguments raise ValueError/TypeError/FileNotFoundError before any request is sent.
Every error pickles with its fields. No message or repr ever holds the caller's token: messages
are built from the URL, the provider, the status and the server's own words, and `redact` scrubs
the token from those too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class ErrorRequest:
    """The request an HTTP error answers: `method` and `url` (headers stay out: they hold the token)."""

    def __init__(self, method: str | None, url: str | None) -> None:
        self.method = method
        self.url = url

    def __repr__(self) -> str:
        return f"<ErrorRequest [{self.method} {self.url}]>"


class ErrorHeaders(Mapping[str, str]):
    """Response headers, read case-insensitively (`headers["Content-Type"]` as in requests/httpx)."""

    def __init__(self, headers: Mapping[str, str] | None = None) -> None:
        self._lower = {str(k).lower(): str(v) for k, v in (headers or {}).items()}

    def __getitem__(self, name: str) -> str:
        return self._lower[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._lower

    def __iter__(self) -> Iterator[str]:
        return iter(self._lower)

    def __len__(self) -> int:
        return len(self._lower)

    def __repr__(self) -> str:
        return f"ErrorHeaders({self._lower!r})"


class ErrorResponse:
    """What the server answered, kept on every HTTP error as `e.response`.

    It reads like the `requests`/`httpx` response the reference client's errors carry:
    `status_code`, `headers` (case-insensitive), `content` (bytes, capped at 64 KiB), `text`,
    `json()`, `url`, `request` (`method`, `url`), `reason` / `reason_phrase`, `ok` / `is_success`.
    """

    def __init__(
        self,
        status_code: int,
        headers: Mapping[str, str] | None = None,
        content: bytes = b"",
        url: str | None = None,
        request: ErrorRequest | None = None,
    ) -> None:
        self.status_code = status_code
        self.headers = headers if isinstance(headers, ErrorHeaders) else ErrorHeaders(headers)
        self.content = content
        self.url = url
        self.request = request if request is not None else ErrorRequest(None, url)

    @property
    def encoding(self) -> str:
        content_type = self.headers.get("content-type", "")
        for part in content_type.split(";")[1:]:
            name, _, value = part.strip().partition("=")
            if name.lower() == "charset" and value:
                return value.strip('"')
        return "utf-8"

    @property
    def text(self) -> str:
        try:
            return self.content.decode(self.encoding, "replace")
        except LookupError:  # a charset Python does not know
            return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body decoded as JSON (ValueError when it is not JSON)."""
        from omniinfer._core.jsonutil import loads

        return loads(self.content)

    @property
    def reason(self) -> str:
        from http import HTTPStatus

        try:
            return HTTPStatus(self.status_code).phrase
        except ValueError:
            return ""

    reason_phrase = reason

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 400

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def __repr__(self) -> str:
        return f"<ErrorResponse [{self.status_code}]>"


class InferenceError(OSError):
    """Root of the errors raised by an inference call (an `OSError`, as in the reference client).

    `provider` and `url` say where the call went (None where unknown). Every error pickles with its
    fields (`pickle.loads(pickle.dumps(e))`), so it can cross process boundaries.
    """

    # What the server answered, on HTTP errors; None on the others (timeouts, broken connections),
    # as on the reference's errors, which all have the attribute.
    response: Any = None
    request: Any = None

    def __init__(self, message: str = "", *, url: str | None = None, provider: str | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.provider = provider

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    def append_to_message(self, additional_message: str) -> None:
        """Add text to the message (as the reference's `HfHubHTTPError.append_to_message`)."""
        self.args = (str(self) + additional_message, *self.args[1:])


class InferenceHTTPError(InferenceError):
    """The server answered with a non-2xx status (or sent an error event inside a stream).

    Built by the client with the answer; also constructible by hand as in the reference:
    `HfHubHTTPError("message")` or `HfHubHTTPError("message", response=response)`.

    Attributes: `response` (an `ErrorResponse`: `status_code`, `headers`, `text`, `json()`, `url`,
    `request`), `request` (the same as `response.request`), `status_code`, `url`, `provider`,
    `request_id` (from the server's headers, if any), `server_message` (the server's own words),
    `headers` (response headers) and `body` (the raw response body, capped at 64 KiB).
    """

    def __init__(
        self,
        message: str = "",
        response: Any = None,
        *,
        server_message: str | None = None,
        status_code: int | None = None,
        url: str | None = None,
        provider: str | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        method: str | None = None,
    ) -> None:
        if response is None and status_code is not None:
            response = ErrorResponse(status_code, headers, body or b"", url, ErrorRequest(method, url))
        if response is not None:
            status_code = status_code if status_code is not None else getattr(response, "status_code", None)
            if url is None and getattr(response, "url", None) is not None:
                url = str(response.url)
            if headers is None:
                headers = ErrorHeaders(getattr(response, "headers", None) or {})
            if body is None:
                content = getattr(response, "content", b"")
                body = content if isinstance(content, bytes) else b""
            if request_id is None:
                request_id = next((headers[h] for h in _REQUEST_ID_HEADERS if h in headers), None)
        super().__init__(message, url=url, provider=provider)
        self.response = response
        self.request = getattr(response, "request", None)
        self.status_code = status_code
        self.request_id = request_id
        self.server_message = server_message
        self.headers: Mapping[str, str] = headers if headers is not None else ErrorHeaders()
        self.body = body or b""


_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "x-amzn-trace-id", "cf-ray", "x-amz-cf-id")


HfHubHTTPError = InferenceHTTPError  # the reference client's name, for code that catches it


class BadRequestError(InferenceHTTPError, ValueError):
    """HTTP 400: the server rejected the arguments."""


class AuthenticationError(InferenceHTTPError):
    """HTTP 401: the token is missing, wrong or expired."""


class PermissionDeniedError(InferenceHTTPError):
    """HTTP 403: the token may not use this model or provider."""


class NotFoundError(InferenceHTTPError):
    """HTTP 404: no such model, route or endpoint."""


class RateLimitError(InferenceHTTPError):
    """HTTP 429: too many requests."""


class ServerError(InferenceHTTPError):
    """HTTP 5xx: the server failed."""


class TextGenerationError(InferenceHTTPError):
    """A text-generation server (TGI protocol) reported an error, in the body or inside a stream."""


class ValidationError(TextGenerationError):
    """The server found the generation parameters invalid."""


class GenerationError(TextGenerationError):
    """The generation failed on the server."""


class OverloadedError(TextGenerationError):
    """The server is overloaded."""


class IncompleteGenerationError(TextGenerationError):
    """The generation stopped before it was complete."""


class UnknownError(TextGenerationError):
    """An error event the client does not know the type of."""


class InferenceTimeoutError(InferenceError, TimeoutError):
    """A deadline passed: connecting, waiting for data, for the first token, or for the whole call."""


class InferenceConnectionError(InferenceError, ConnectionError):
    """The connection could not be made, or broke before the answer was complete."""


class ProtocolError(InferenceConnectionError):
    """The peer broke HTTP/1.1: a malformed status line, header, chunk or encoding, or a head, line or
    header past the parser's limits. Raised at once, never after waiting or looping."""


class IncompleteStreamError(InferenceError):
    """A stream ended without its terminator: what was received is not the whole answer."""


class JobFailedError(InferenceError):
    """A provider's asynchronous job (image, video, ...) ended in failure; the message is the provider's."""


class LocalEngineCrashError(InferenceError):
    """The `local` provider's engine (llama.cpp, native code) crashed on the model in a test process,
    so the model was not loaded in the caller's. `signal_name` says how it died (SIGILL: built for
    CPU features this machine lacks), `fix_command` is the command that reinstalls it portably."""

    def __init__(
        self,
        message: str = "",
        *,
        signal_name: str = "",
        model: str = "",
        fix_command: str = "",
        url: str | None = None,
        provider: str | None = "local",
    ) -> None:
        super().__init__(message, url=url, provider=provider)
        self.signal_name = signal_name
        self.model = model
        self.fix_command = fix_command


class MalformedResponseError(InferenceError):
    """A successful answer whose body cannot be decoded as the task's output."""


class ResponseTooLargeError(MalformedResponseError):
    """A body (after decoding) or a server-sent event beyond its size limit: reading on would only
    exhaust memory. The limits: `OMNIINFER_MAX_RESPONSE_BYTES`, `OMNIINFER_MAX_EVENT_BYTES`."""


def redact(text: str, secret: str | None) -> str:
    """`text` with every occurrence of `secret` replaced, so a token never leaks into a message."""
    if secret and len(secret) >= 4 and secret in text:
        return text.replace(secret, "***")
    return text
