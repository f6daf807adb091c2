"""The plain records that flows and drivers exchange: what to send, what came back, how long to wait.

Nothing here performs I/O. A flow yields `Request` (or `Sleep`) and receives `Response`; when the
last request is a stream, the flow returns an `EventStream` that the driver feeds with body bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

if TYPE_CHECKING:
    from omniinfer._core.usage import Usage

T = TypeVar("T")

# Plain classes and NamedTuples rather than dataclasses: `import dataclasses` (and the inspect module
# it pulls in) would be a third of `import omniinfer`.


class Request:
    """One HTTP request, fully built. `secret` is the token carried in `headers` (if any), kept so
    that error messages can be scrubbed of it and it never follows a redirect to another host."""

    __slots__ = ("body", "headers", "method", "model", "provider", "retryable", "secret", "stream", "url")

    def __init__(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None = None,
        stream: bool = False,
        provider: str | None = None,
        secret: str | None = None,
        model: str | None = None,
        retryable: bool = True,
    ) -> None:
        self.model = model  # the provider-side model id, for the response's metadata
        self.retryable = retryable  # False: a failure goes straight to the flow (health checks)
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.stream = stream
        self.provider = provider
        self.secret = secret

    def __repr__(self) -> str:  # headers stay out: they hold the token
        return f"Request({self.method} {self.url}, provider={self.provider!r}, stream={self.stream})"


class Response:
    """An HTTP answer. `headers` has lower-cased names. For a 2xx stream `body` is empty and the
    bytes reach the flow's `EventStream` instead."""

    __slots__ = ("body", "headers", "status", "url", "usage")

    def __init__(self, status: int, headers: dict[str, str], body: bytes, url: str) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.url = url
        self.usage: Usage | None = None  # set by the flow that read the answer's token counts

    def __repr__(self) -> str:
        return f"Response({self.status} {self.url}, {len(self.body)} bytes)"

    def json(self) -> Any:
        from omniinfer._core.jsonutil import loads

        return loads(self.body)


class Sleep(NamedTuple):
    """Yielded by polling flows: the driver waits (without blocking an event loop) and sends None."""

    seconds: float


class Timeout(NamedTuple):
    """Deadlines of one call, in seconds (None: no limit).

    `connect` bounds opening a connection, `read` bounds each wait for data, `first_token` bounds
    the wait for the first event of a stream, `total` bounds the whole call, retries included.
    `stream_total`: whether `total` still bounds a stream once its first piece has arrived (False
    for a plain number: a long generation is never cut while its tokens keep coming).
    """

    connect: float | None = None
    read: float | None = None
    first_token: float | None = None
    total: float | None = None
    stream_total: bool = True

    @classmethod
    def of(cls, value: float | Timeout | None) -> Timeout:
        """A plain number `n` means what the Hugging Face guide says: the call gives up after `n`
        seconds. It bounds the whole of a call that is not streamed (retries included); for a
        stream it bounds the wait for the answer to start and each wait between chunks, never the
        stream's whole length. Use `Timeout(...)` to set each phase."""
        if value is None:
            return _NO_TIMEOUT
        if isinstance(value, Timeout):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"timeout must be a positive number of seconds or a Timeout, got {value!r}")
        seconds = float(value)
        return cls(connect=seconds, read=seconds, total=seconds, stream_total=False)


_NO_TIMEOUT = Timeout()


class EventStream(Generic[T]):
    """How to turn a server-sent-event body into results; pure, fed by the drivers.

    `parse` maps one `data:` payload (bytes) to an item, or None to skip it; it raises on an error
    event. Reading stops at `data: [DONE]`, or at the first item for which `is_final` says so (TGI
    streams end with the event that carries `generated_text`).

    The stream is complete when the HTTP body ended cleanly — its framing (the chunked terminator,
    the announced length) says the server finished — even without `[DONE]`: real providers
    (Cerebras) end with a chunk that carries `finish_reason` and nothing more. A body delimited only
    by the connection closing proves nothing by its end, so it must show a sign: `[DONE]`, the
    final item, or a last item `ends` recognises as the last one. Otherwise, IncompleteStreamError.
    A body cut by the network (a chunked body without its terminator, a reset) fails in the
    transport with InferenceConnectionError before it gets here.

    The token counts the parser reads (the usage-only final chunk, TGI's details) it leaves in
    `usage`, for the call's metadata.
    """

    __slots__ = (
        "_decoder",
        "_last",
        "_opening",
        "done",
        "ends",
        "error",
        "is_final",
        "parse",
        "provider",
        "url",
        "usage",
    )

    def __init__(
        self,
        parse: Callable[[bytes], T | None],
        *,
        url: str,
        provider: str | None,
        is_final: Callable[[T], bool] | None = None,
        ends: Callable[[T], bool] | None = None,
    ) -> None:
        from omniinfer._core.sse import SSEDecoder

        self.parse = parse
        self.is_final = is_final
        self.ends = ends
        self._last: T | None = None  # judged by `ends` only once the body has ended
        self.done = False
        self.error: BaseException | None = None
        self.url = url
        self.provider = provider
        self.usage: Usage | None = None
        self._decoder = SSEDecoder()
        self._opening: bytes | None = b""  # the body's first bytes until an event arrives (for errors)

    def consume(self, piece: bytes) -> list[T]:
        """The items completed by one piece of the body. An error raised while parsing is kept in
        `error` (for the driver to raise once the items before it have been handed out)."""
        if self.done:
            return []
        payloads = self._decoder.feed(piece)
        if self._opening is not None:
            self._opening = None if payloads else (self._opening + piece)[:300]
        return self._parse_all(payloads)

    def finish(self, clean: bool = False) -> list[T]:
        """The body ended (`clean`: its framing proved the server finished it): the last items, then
        IncompleteStreamError if nothing shows the answer is whole."""
        if self.done:
            return []
        pending = self._decoder.close()
        if pending:
            self._opening = None
        items = self._parse_all(pending)
        if self.done or self.error is not None:
            return items
        if self._opening is None:  # events came: a cleanly framed end, or a last item that says so
            last, ends = self._last, self.ends
            if clean or (last is not None and ends is not None and ends(last)):
                self.done = True
                return items
            what = "ended before its end marker: the answer is incomplete"
        elif self._opening:  # not an event stream at all (e.g. a JSON answer to a stream request)
            what = f"held no server-sent events; the body began with {self._opening[:200]!r}"
        else:
            what = "was empty: no event came"
        from omniinfer.errors import IncompleteStreamError

        self.error = IncompleteStreamError(f"The stream from {self.url} {what}", url=self.url, provider=self.provider)
        return items

    def _parse_all(self, payloads: list[bytes]) -> list[T]:
        items: list[T] = []
        parse, is_final = self.parse, self.is_final
        try:
            for data in payloads:
                if data == b"[DONE]":
                    self.done = True
                    break
                item = parse(data)
                if item is not None:
                    items.append(item)
                    if is_final is not None and is_final(item):
                        self.done = True
                        break
            if items:
                self._last = items[-1]
        except Exception as exc:  # handed to the caller after the items that came before it
            from omniinfer.errors import InferenceError, MalformedResponseError

            if not isinstance(exc, InferenceError):
                wrapped = MalformedResponseError(
                    f"Undecodable event in the stream from {self.url}: {exc}",
                    url=self.url,
                    provider=self.provider,
                )
                wrapped.__cause__ = exc
                exc = wrapped
            self.error = exc
            self.done = True
        return items


FlowItem = Request | Sleep
