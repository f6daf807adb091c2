"""Retries, as a flow transformer: the policy decides, the drivers only sleep and resend.

What is retried: connection failures, timeouts before the request was sent (connecting), and the
answers 408, 429 and 5xx. A timeout once a POST was sent is not: the server may be processing it,
and a resend could run (and bill) it twice — unless the caller opted in (`resend_after_timeout`,
set by an explicit `max_retries=` or `Timeout(...)`). Never a 4xx other than 408/429, and never a
stream once its first byte reached the caller (a stream's 2xx answer returns its EventStream,
after which nothing is resent). Waits grow exponentially with full jitter, and follow the server's
`Retry-After` / `retry-after-ms` when it sends one, within a cap. The whole-call deadline
(`Timeout.total`) bounds retries too: no wait starts that would outlive it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Generator, Mapping
from typing import Any

from omniinfer._core.logs import logger
from omniinfer._core.records import Request, Response, Sleep
from omniinfer._core.timeouts import may_have_been_processed
from omniinfer.errors import InferenceConnectionError, InferenceError, InferenceHTTPError, InferenceTimeoutError

Flow = Generator[Request | Sleep, Response | None, Any]


class RetryPolicy:
    """How many times, and how long to wait. `backoff_base`: seconds before the first retry (before
    jitter); `retry_after_cap`: a server asking for a longer wait than this is not waited for;
    `resend_after_timeout`: resend a POST that timed out after it was sent."""

    __slots__ = ("backoff_base", "backoff_max", "max_retries", "resend_after_timeout", "retry_after_cap")

    def __init__(
        self,
        max_retries: int = 2,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        retry_after_cap: float = 60.0,
        resend_after_timeout: bool = False,
    ) -> None:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be a whole number >= 0, got {max_retries!r}")
        self.max_retries = max_retries
        self.resend_after_timeout = resend_after_timeout
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_cap = retry_after_cap

    def __repr__(self) -> str:
        return f"RetryPolicy(max_retries={self.max_retries}, resend_after_timeout={self.resend_after_timeout})"


def is_retryable(error: BaseException) -> bool:
    if isinstance(error, InferenceHTTPError):
        status = error.status_code
        return status is not None and (status in (408, 429) or 500 <= status < 600)
    return isinstance(error, (InferenceConnectionError, InferenceTimeoutError))


def server_wait(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait (`retry-after-ms`, `Retry-After` seconds or HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    import email.utils  # only for the rare date form: it costs ~10 ms to import

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def retry_delay(
    policy: RetryPolicy, attempt: int, error: BaseException, deadline: float | None, request: Request
) -> float | None:
    """Seconds to wait before attempt `attempt + 1` of `request`, or None to give up and raise `error`."""
    if attempt >= policy.max_retries or not is_retryable(error):
        return None
    if not policy.resend_after_timeout and may_have_been_processed(error, request):
        return None
    asked = server_wait(error.headers) if isinstance(error, InferenceHTTPError) else None
    if asked is not None:
        if asked > policy.retry_after_cap:
            return None
        delay = asked
    else:
        delay = random.uniform(0, min(policy.backoff_max, policy.backoff_base * 2**attempt))
    if deadline is not None and time.monotonic() + delay >= deadline:
        return None  # waiting would outlive the call's deadline: raise now
    return delay


def retrying(flow: Flow, policy: RetryPolicy, deadline: float | None) -> Flow:
    """`flow`, with each of its requests sent again after a failure the policy retries."""
    if policy.max_retries == 0:
        return (yield from flow)
    try:
        item = next(flow)
        while True:
            if isinstance(item, Sleep):
                item = flow.send((yield item))
                continue
            attempt = 0
            while True:
                try:
                    response = yield item
                except InferenceError as error:
                    delay = retry_delay(policy, attempt, error, deadline, item) if item.retryable else None
                    if delay is None:
                        item = flow.throw(error)
                        break
                    attempt += 1
                    logger().debug(
                        "retrying %s %s in %.2fs (attempt %d): %s", item.method, item.url, delay, attempt + 1, error
                    )
                    yield Sleep(delay)
                    continue
                item = flow.send(response)
                break
    except StopIteration as stop:
        return stop.value
