"""What is known about the answer behind a result: who answered, how fast, after how many tries.

Typed outputs carry it as `.response_meta` (so do the elements of a list result, and streams);
the drivers fill it in as they go.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from omniinfer._core import telemetry
from omniinfer._core.logs import logger
from omniinfer._core.records import Request

if TYPE_CHECKING:
    from omniinfer._core.context import ClientContext
    from omniinfer._core.usage import Usage

DEBUG = 10  # logging.DEBUG, without importing logging at import time

T = TypeVar("T")

_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "cf-ray")


class ResponseMeta:
    """`provider` that answered, provider-side `model` id, `url`, `status`, `request_id`, `attempts`
    (how many times the final request was sent), `providers_tried` (in order, with fallback),
    `headers` (response headers, lower-cased), `usage` (the call's token counts, when the server
    reported them; a stream's once it ended), and timings in seconds since the call began:
    `time_to_first_byte`, `time_to_first_token` (streams), `elapsed` (the whole call; for a
    stream, until its end)."""

    __slots__ = (
        "_last",
        "_started",
        "_totals",
        "_trace",
        "attempts",
        "elapsed",
        "headers",
        "last_event",
        "model",
        "provider",
        "providers_tried",
        "request_id",
        "status",
        "time_to_first_byte",
        "time_to_first_token",
        "url",
        "usage",
    )

    def __init__(
        self, ctx: ClientContext | None = None, task: str | None = None, arguments: dict[str, Any] | None = None
    ) -> None:
        self._started = time.perf_counter()
        self._last: Request | None = None
        self._totals = None if ctx is None else ctx.usage
        # The call's OpenTelemetry span and metrics, when the application configured them.
        self._trace = None if task is None or ctx is None else telemetry.begin(task, arguments or {}, ctx)
        self.usage: Usage | None = None
        self.providers_tried: list[str] = []
        self.last_event: Any = None  # a stream's last item handed out (its id, model, finish reasons)
        self.provider: str | None = None
        self.model: str | None = None
        self.url: str | None = None
        self.status: int | None = None
        self.request_id: str | None = None
        self.attempts = 0
        self.headers: dict[str, str] = {}
        self.time_to_first_byte: float | None = None
        self.time_to_first_token: float | None = None
        self.elapsed: float | None = None

    def sent(self, request: Request) -> None:
        # A retry sends the very same Request object again; a new one (a poll, a download) restarts.
        self.attempts = self.attempts + 1 if request is self._last else 1
        self._last = request
        log = logger()
        if log.isEnabledFor(DEBUG):  # the URL only: headers hold the token
            log.debug("%s %s (provider %s, attempt %d)", request.method, request.url, request.provider, self.attempts)
        if request.provider != "hub":
            self.provider = request.provider
            self.model = request.model or self.model
            if request.provider is not None and request.provider not in self.providers_tried:
                self.providers_tried.append(request.provider)

    def received(self, status: int, headers: dict[str, str], url: str) -> None:
        self.status, self.headers, self.url = status, headers, url
        request_id = None
        for name in _REQUEST_ID_HEADERS:
            if name in headers:
                request_id = headers[name]
                break
        self.request_id = request_id
        if self.time_to_first_byte is None:
            self.time_to_first_byte = time.perf_counter() - self._started

    def first_token(self) -> None:
        if self.time_to_first_token is None:
            self.time_to_first_token = time.perf_counter() - self._started

    def finished(self, result: Any = None) -> None:
        """The call ended well (a stream: its end marker arrived): count its usage, end its span."""
        self.elapsed = time.perf_counter() - self._started
        # The request (its body, its headers) is not kept alive by every result: results are often
        # kept by the thousand, and each live object makes the garbage collector's passes longer.
        self._last = None
        if self.usage is not None and self._totals is not None:
            self._totals.add(self.usage)
        trace, self._trace = self._trace, None
        if trace is not None:
            telemetry.end(trace, self, result)

    def failed(self, error: BaseException) -> None:
        """The call (or its stream) raised `error`, or (GeneratorExit) a stream was closed before its end."""
        if self.elapsed is None:
            self.elapsed = time.perf_counter() - self._started
        self._last = None
        trace, self._trace = self._trace, None
        if trace is not None:
            telemetry.end(trace, self, None, None if isinstance(error, GeneratorExit) else error)

    def __repr__(self) -> str:
        return (
            f"ResponseMeta(provider={self.provider!r}, model={self.model!r}, status={self.status}, "
            f"request_id={self.request_id!r}, attempts={self.attempts}, elapsed={self.elapsed})"
        )


# The metadata of the last call made in this thread (sync) or task (async), whatever its result's type.
_LAST: ContextVar[ResponseMeta | None] = ContextVar("omniinfer_last_response_meta", default=None)


def last_response_meta() -> ResponseMeta | None:
    """The `ResponseMeta` of the last call made in this thread or asyncio task, for results that cannot
    carry it themselves (a `str` from `text_generation`, bytes, images, arrays)."""
    return _LAST.get()


def started(meta: ResponseMeta) -> ResponseMeta:
    """Record `meta` as this context's last call (a stream's, as soon as it is handed out)."""
    _LAST.set(meta)
    return meta


def attach(result: Any, meta: ResponseMeta) -> Any:
    """Hang `meta` on a typed result (or on each typed element of a list result)."""
    meta.finished(result)
    _LAST.set(meta)
    typed = _typed_base()
    if isinstance(result, typed):
        result.__dict__["_response_meta"] = meta
    elif isinstance(result, list):
        for item in result:
            if isinstance(item, typed):
                item.__dict__["_response_meta"] = meta
    return result


_TYPED_BASE: list[type] = []


def _typed_base() -> type:
    """The typed outputs' base class, imported on the first result rather than with this module (it
    brings `dataclasses`, ~15 ms) and kept: an import statement per call costs ~2 µs."""
    if not _TYPED_BASE:
        from omniinfer.types._base import BaseInferenceType

        _TYPED_BASE.append(BaseInferenceType)
    return _TYPED_BASE[0]


class Stream(Generic[T]):
    """The iterator a streamed call returns: the items, plus `response_meta` and `close()`."""

    __slots__ = ("_items", "response_meta")

    def __init__(self, items: Iterator[T], meta: ResponseMeta) -> None:
        self._items = items
        self.response_meta = started(meta)

    def __iter__(self) -> Iterator[T]:
        # `for` loops take the generator itself: no extra Python call per streamed token.
        return self._items

    def __next__(self) -> T:
        return next(self._items)

    def close(self) -> None:
        """Stop reading: the connection is closed rather than reused."""
        close = getattr(self._items, "close", None)
        if close is not None:
            close()


class AsyncStream(Generic[T]):
    """The async iterator a streamed call returns on the async client."""

    __slots__ = ("_items", "response_meta")

    def __init__(self, items: AsyncIterator[T], meta: ResponseMeta) -> None:
        self._items = items
        self.response_meta = started(meta)

    def __aiter__(self) -> AsyncIterator[T]:
        # `async for` takes the generator itself: no extra coroutine per streamed token.
        return self._items

    async def __anext__(self) -> T:
        return await self._items.__anext__()

    async def aclose(self) -> None:
        aclose = getattr(self._items, "aclose", None)
        if aclose is not None:
            await aclose()
