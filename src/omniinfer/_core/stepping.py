"""What both drivers do between two I/O operations: the policy, written once.

A driver only sends requests, reads bodies and sleeps; everything it decides — the deadline, which
answers are errors, which redirects to follow and with which headers — comes from here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import Any
from urllib.parse import urljoin, urlsplit

from omniinfer._core.context import ClientContext
from omniinfer._core.fallback import with_fallback
from omniinfer._core.http_errors import error_from_response
from omniinfer._core.records import Request, Response, Sleep, Timeout
from omniinfer._core.retry import retrying
from omniinfer.errors import InferenceTimeoutError

Flow = Generator[Request | Sleep, Response | None, Any]

_MAX_REDIRECTS = 5
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_SECRET_HEADERS = ("authorization", "x-key", "api-key", "x-api-key", "cookie")


def deadline_of(timeout: Timeout) -> float | None:
    return None if timeout.total is None else time.monotonic() + timeout.total


def guarded(factory: Callable[[ClientContext], Flow], ctx: ClientContext, deadline: float | None) -> Flow:
    """The flow `factory(ctx)` inside the client's provider fallback and retry policy, with only the
    layers this client uses: each is a generator that every step of every call passes through (a
    bulk job's client retries nothing itself, and most clients have no fallback list)."""
    flow = with_fallback(factory, ctx) if ctx.fallback else factory(ctx)
    return retrying(flow, ctx.retry, deadline) if ctx.retry.max_retries else flow


def wait_budget(
    deadline: float | None, limit: float | None, expired: type[Exception] = InferenceTimeoutError
) -> float | None:
    """How long one wait for I/O may last: the tighter of its own limit and what is left before the
    call's deadline; `expired` is raised once the deadline has passed."""
    if deadline is None:
        return limit
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("Deadline exceeded")
    return left if limit is None else min(left, limit)


def sleep_for(item: Sleep, deadline: float | None) -> float:
    """How long to sleep for a polling wait; the deadline check itself raises in the flow's next
    request, so a poll never sleeps past the deadline."""
    if deadline is None:
        return item.seconds
    return max(0.0, min(item.seconds, deadline - time.monotonic()))


def redirect_target(request: Request, response: Response, hops: int) -> Request | None:
    """The request to send next for a redirect of a GET, or None when the answer is final.

    Credentials never cross to another host, nor go from https to cleartext http: a redirect off the
    original host, or down to http, drops them.
    """
    if response.status not in _REDIRECT_STATUSES or request.method != "GET" or hops >= _MAX_REDIRECTS:
        return None
    location = response.headers.get("location")
    if not location:
        return None
    url = urljoin(request.url, location)
    if urlsplit(url).scheme not in ("http", "https"):
        return None
    headers = request.headers
    secret = request.secret
    before, after = urlsplit(request.url), urlsplit(url)
    if after.netloc != before.netloc or (before.scheme == "https" and after.scheme != "https"):
        headers = {k: v for k, v in headers.items() if k.lower() not in _SECRET_HEADERS}
        secret = None
    return Request("GET", url, headers, None, request.stream, request.provider, secret)


def after_answer(flow: Flow, request: Request, response: Response, streaming: bool, hops: int) -> tuple[Any, int]:
    """The flow's next item once `response` arrived, and the redirect count: a started stream or a
    2xx goes to the flow (which returns its EventStream, or goes on), a redirect is followed."""
    if streaming:
        return flow.send(response), hops
    if 200 <= response.status < 300:
        return flow.send(response), 0
    follow = redirect_target(request, response, hops)
    if follow is not None:
        return follow, hops + 1
    # Anything else is thrown in as a typed error (so a flow may catch it, as the non-TGI fallback
    # does). StopIteration carries the flow's result.
    return flow.throw(error_from_response(request, response)), 0
