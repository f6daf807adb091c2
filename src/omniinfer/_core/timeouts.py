"""What a timeout means: whether the request may already have been processed, and the message.

The transports raise `InferenceTimeoutError` where a wait ran out; `ConnectTimeoutError` when it
ran out before the request could be sent (connecting, opening a proxy tunnel), which is always safe
to send again. The drivers then restate the error with the limit the caller set, so that
`timeout=30` reads "timed out after 30s" whatever phase ran out.
"""

from __future__ import annotations

import time

from omniinfer._core.records import Request, Timeout
from omniinfer.errors import InferenceTimeoutError


class ConnectTimeoutError(InferenceTimeoutError):
    """No connection within the connect timeout: the request was never sent."""


def timed_out_once_sent(error: BaseException) -> bool:
    """A timeout once the request was (at least partly) sent: the server may be working on it."""
    return isinstance(error, InferenceTimeoutError) and not isinstance(error, ConnectTimeoutError)


def may_have_been_processed(error: BaseException, request: Request) -> bool:
    """A timeout once the request was sent, for a method that changes things: a resend could run
    (and bill) it twice."""
    return timed_out_once_sent(error) and request.method not in ("GET", "HEAD", "OPTIONS")


def restated(
    error: InferenceTimeoutError, timeout: Timeout, deadline: float | None, first_piece: bool = False
) -> InferenceTimeoutError:
    """`error` with a message naming the limit that ran out, in the caller's terms.

    `first_piece`: the wait was for a stream's first piece (bounded by `first_token` when set).
    """
    limit: float | None
    if deadline is not None and time.monotonic() >= deadline - 0.005 and timeout.total is not None:
        limit, what = timeout.total, "for the whole call"
    elif isinstance(error, ConnectTimeoutError):
        limit, what = timeout.connect, "connecting"
    elif first_piece and timeout.first_token is not None:
        limit, what = timeout.first_token, "waiting for the first token"
    else:
        limit, what = timeout.read, "waiting for the answer"
    if limit is None:  # a limit of the transport's own (a proxy tunnel, a local model)
        return error
    if not timeout.stream_total and timeout.total is not None:
        what = ""  # a plain number: one limit, whatever phase ran out
    else:
        what = f" ({what})"
    url = error.url or ""
    again = type(error)(
        f"Inference call timed out after {limit:g}s{what}: {url}".rstrip(": "), url=error.url, provider=error.provider
    )
    again.__cause__ = None
    again.__suppress_context__ = True
    return again
