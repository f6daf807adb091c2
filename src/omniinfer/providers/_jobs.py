"""Provider jobs: the request is accepted, the result comes later. One polling loop for all of them.

The loop yields `Sleep` between polls (the async client keeps its event loop free): the provider's
usual interval, or what a `Retry-After` header on the last answer asks for. It stops at the job's
deadline, the client's `timeout` (its total, else its per-read bound) or else `DEFAULT_JOB_TIMEOUT`
seconds, counted from the start of the call, and then raises InferenceTimeoutError.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from omniinfer._core.records import Request, Response, Sleep, Timeout
from omniinfer.errors import InferenceTimeoutError, JobFailedError
from omniinfer.providers._spec import ProviderCall
from omniinfer.tasks._common import decode_json

Step = Generator[Any, Any, Any]

DEFAULT_JOB_TIMEOUT = 600.0  # seconds; video generation routinely takes minutes
_MAX_RETRY_AFTER = 60.0


def job_deadline(timeout: Timeout) -> float:
    """The monotonic instant at which a job started now is given up."""
    seconds = timeout.total if timeout.total is not None else timeout.read
    return time.monotonic() + (seconds if seconds is not None else DEFAULT_JOB_TIMEOUT)


@dataclass(frozen=True, slots=True)
class Pending:
    """A job answer saying "not yet"; `status` is the provider's word for it (shown on timeout)."""

    status: Any = None


# (decoded job answer, the answer) -> Pending, or the job's result: a value, or a generator when
# the result still needs requests (fetching the output, downloading a file).
Check = Callable[[Any, Response], Any]


def settle(
    call: ProviderCall,
    data: Any,
    response: Response,
    check: Check,
    url: str,
    *,
    interval: float,
    authenticated: bool,
) -> Step:
    """The result of a job whose submission answer (`data`) may already be final; else poll `url`."""
    return (yield from _follow(call, check(data, response), response, url, check, interval, authenticated))


def poll(call: ProviderCall, url: str, check: Check, *, interval: float, authenticated: bool) -> Step:
    """Poll `url` (first after one `interval`) until `check` says the job is done."""
    return (yield from _follow(call, Pending(), None, url, check, interval, authenticated))


def _follow(
    call: ProviderCall,
    outcome: Any,
    response: Response | None,
    url: str,
    check: Check,
    interval: float,
    authenticated: bool,
) -> Step:
    """`authenticated`: send the call's headers (its credentials) with each poll; only for URLs on
    the host the job was submitted to (see `rebase`). A URL the provider chose gets none."""
    provider = call.target.provider_id
    deadline = call.deadline if call.deadline is not None else time.monotonic() + DEFAULT_JOB_TIMEOUT
    headers, secret = _credentials(call) if authenticated else (_plain_headers(call), None)
    while isinstance(outcome, Pending):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _unfinished(provider, outcome, url)
        yield Sleep(min(_wait(response, interval), remaining))
        try:
            response = yield Request("GET", url, headers, None, False, provider, secret)
        except InferenceTimeoutError as error:  # the call's own deadline ran out while polling
            raise _unfinished(provider, outcome, url) from error
        outcome = check(decode_json(response, provider), response)
    if isinstance(outcome, Generator):
        return (yield from outcome)
    return outcome


def _unfinished(provider: str | None, outcome: Pending, url: str) -> InferenceTimeoutError:
    return InferenceTimeoutError(
        f"The {provider} job did not finish before the deadline (last status: {outcome.status!r}); "
        f"raise the client's `timeout` to wait longer. Polled: {url}",
        url=url,
        provider=provider,
    )


def _wait(response: Response | None, interval: float) -> float:
    """The provider's `Retry-After` (seconds) when it gives one, else the usual interval."""
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return min(max(float(value), 0.0), _MAX_RETRY_AFTER) if value is not None else interval
    except ValueError:  # an HTTP date: not worth parsing for a poll
        return interval


def fetch_json(call: ProviderCall, url: str) -> Step:
    """GET a JSON document of the job on the host it was submitted to, with the call's credentials;
    returns (decoded document, answer)."""
    headers, secret = _credentials(call)
    provider = call.target.provider_id
    response = yield Request("GET", url, headers, None, False, provider, secret)
    return decode_json(response, provider), response


def failed(call: ProviderCall, response: Response, reason: Any) -> JobFailedError:
    """The provider reports that the job failed: there is nothing to wait for."""
    return JobFailedError(
        f"The {call.target.provider_id} job failed: {reason}",
        url=response.url,
        provider=call.target.provider_id,
    )


def rebase(url: str, base: str, suffix: str = "", query: str = "") -> str:
    """`url`'s path on `base`, plus `suffix` and `?query`.

    A job's follow-up URLs (status, result) name the provider's own host; polling them on the host
    the job was submitted to keeps the credentials on that host and keeps a router or a private
    gateway in the loop. A URL that already points under `base` (a gateway that rewrites the URLs
    it passes on) is kept as it is.
    """
    parts, root = urlsplit(url), urlsplit(base.rstrip("/"))
    if (parts.scheme, parts.netloc) == (root.scheme, root.netloc) and parts.path.startswith(root.path + "/"):
        target = f"{root.scheme}://{root.netloc}{parts.path}"
    else:
        target = base.rstrip("/") + parts.path
    return target + suffix + (f"?{query}" if query else "")


def _credentials(call: ProviderCall) -> tuple[dict[str, str], str | None]:
    """The submission's headers (credentials, billing, user headers) for a GET on the same host."""
    return {k: v for k, v in call.target.headers.items() if k.lower() != "content-type"}, call.target.secret


def _plain_headers(call: ProviderCall) -> dict[str, str]:
    return {"user-agent": call.target.headers.get("user-agent", "omniinfer"), "content-type": "application/json"}
