"""Every error omniinfer raises, in one tree.

    InferenceError                          root of everything raised by a call on the wire
    ├── InferenceHTTPError (alias HfHubHTTPError)   the server answered with a non-2xx status
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
    └── MalformedResponseError                       a 2xx answer we cannot decode
        └── ResponseTooLargeError                    a body or event past its size limit

Bad arguments raise ValueError/TypeError/FileNotFoundError before any request is sent.
No message or repr ever holds the caller's token: messages are built from the URL, the provider,
the status and the server's own words, and `redact` scrubs the token from those too.
"""

from __future__ import annotations

from collections.abc import Mapping


class InferenceError(Exception):
    """Root of the errors raised by an inference call.

    `provider` and `url` say where the call went (None where unknown).
    """

    def __init__(self, message: str, *, url: str | None = None, provider: str | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.provider = provider


class InferenceHTTPError(InferenceError):
    """The server answered with a non-2xx status.

    Attributes: `status_code`, `url`, `provider`, `request_id` (from the server's headers, if any),
    `server_message` (the server's own words), `headers` (response headers, names lower-cased) and
    `body` (the raw response body, capped at 64 KiB).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        url: str | None = None,
        provider: str | None = None,
        request_id: str | None = None,
        server_message: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        super().__init__(message, url=url, provider=provider)
        self.status_code = status_code
        self.request_id = request_id
        self.server_message = server_message
        self.headers: Mapping[str, str] = headers or {}
        self.body = body


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
