"""The job loop: rows in, one record out per row, at the pace the limiter and the concurrency allow.

One dispatcher reads the rows (streamed: it reads the next row only when a request slot is free) and
starts one task per row; each task waits for the limiter, calls the client's task method, retries what
is worth retrying (a 429 after the shared pause, 5xx/timeouts/connection failures after a backoff) and
emits its record. A row that cannot be called (bad input, a non-retryable error) gets a record with the
error; nothing a row does stops the others.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from omniinfer._core.meta import last_response_meta
from omniinfer._core.retry import is_retryable, server_wait
from omniinfer.bulk.limiter import Limiter
from omniinfer.bulk.pacing import Concurrency
from omniinfer.bulk.readers import BAD_ROW
from omniinfer.bulk.tasks import Binder, result_fields
from omniinfer.errors import InferenceError, InferenceHTTPError, OverloadedError

BACKOFF_BASE_S = 0.25
BACKOFF_MAX_S = 8.0

Emit = Callable[[dict[str, Any]], "Awaitable[None] | None"]


@dataclass(slots=True)
class Counters:
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    requests: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


class Progress:
    """What the engine tells about each row (the CLI draws it; the default says nothing)."""

    def row(self, record: Mapping[str, Any], counters: Counters) -> None:
        pass

    def skipped(self, counters: Counters) -> None:
        pass

    def close(self) -> None:
        pass


class _Gate:
    """At most `concurrency.limit` rows in flight; only the dispatcher ever waits here."""

    __slots__ = ("_waiter", "active", "concurrency")

    def __init__(self, concurrency: Concurrency) -> None:
        self.concurrency = concurrency
        self.active = 0
        self._waiter: asyncio.Future[None] | None = None

    async def enter(self) -> None:
        while self.active >= self.concurrency.limit:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        self.active += 1

    def leave(self) -> None:
        self.active -= 1
        waiter = self._waiter
        if waiter is not None and not waiter.done() and self.active < self.concurrency.limit:
            waiter.set_result(None)

    @property
    def saturated(self) -> bool:
        return self.active >= self.concurrency.limit


class Engine:
    def __init__(
        self,
        client: Any,
        binder: Binder,
        limiter: Limiter,
        concurrency: Concurrency,
        *,
        max_retries: int,
        emit: Emit,
        progress: Progress | None = None,
    ) -> None:
        self.client = client
        self.binder = binder
        self.limiter = limiter
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.emit = emit
        self.progress = progress or Progress()
        self.counters = Counters()
        self._gate = _Gate(concurrency)
        self._method = getattr(client, binder.method)
        self._fatal: BaseException | None = None

    async def run(self, rows: Iterator[tuple[Any, Mapping[str, Any]]], done: set[Any]) -> Counters:
        """Process every row whose id is not in `done`; returns when all records are emitted."""
        loop = asyncio.get_running_loop()
        pending: set[asyncio.Task[None]] = set()

        def finished(task: asyncio.Task[None]) -> None:
            pending.discard(task)
            self._gate.leave()
            if not task.cancelled() and task.exception() is not None and self._fatal is None:
                self._fatal = task.exception()  # our own failure (e.g. the output disk is full): stop

        try:
            for row_id, row in rows:
                if row_id in done:
                    self.counters.skipped += 1
                    self.progress.skipped(self.counters)
                    continue
                await self._gate.enter()
                if self._fatal is not None:
                    break
                task = loop.create_task(self._one(row_id, row))
                pending.add(task)
                task.add_done_callback(finished)
            while pending:
                await asyncio.wait(set(pending))
        finally:
            for task in pending:
                task.cancel()
        if self._fatal is not None:
            raise self._fatal
        return self.counters

    async def _one(self, row_id: Any, row: Mapping[str, Any]) -> None:
        record: dict[str, Any] = {"id": row_id}
        try:
            if BAD_ROW in row:
                raise ValueError(row[BAD_ROW])
            value, kwargs = self.binder.call(row)
        except (ValueError, TypeError) as exc:
            await self._record(_failure(record, exc, 0, None))
            return
        estimate = self.binder.estimate_tokens(value, kwargs)
        attempts = 0
        while True:
            seq = await self.limiter.acquire(estimate)
            attempts += 1
            self.counters.requests += 1
            sent = time.perf_counter()
            try:
                result = await self._method(value, **kwargs)
            except InferenceError as exc:
                wait = self._retry_wait(exc, seq, attempts)
                if wait is None:
                    await self._record(_failure(record, exc, attempts, time.perf_counter() - sent))
                    return
                self.counters.retries += 1
                if wait > 0:
                    await asyncio.sleep(wait)
                continue
            except Exception as exc:  # bad input the client refused (a missing file...), or a surprise
                await self._record(_failure(record, exc, attempts, time.perf_counter() - sent))
                return
            break
        latency = time.perf_counter() - sent
        meta = last_response_meta()
        if meta is not None:
            self.limiter.observe(seq, meta.headers)
        self.concurrency.success(latency, self._gate.saturated)
        data, text, input_tokens, output_tokens = result_fields(self.binder.task, result)
        if input_tokens is not None or output_tokens is not None:
            self.limiter.settle(estimate, (input_tokens or 0) + (output_tokens or 0))
        record.update(
            result=data,
            text=text,
            error=None,
            error_type=None,
            status_code=meta.status if meta is not None else None,
            provider=meta.provider if meta is not None else None,
            model=meta.model if meta is not None else None,
            request_id=meta.request_id if meta is not None else None,
            attempts=attempts,
            latency_s=round(latency, 6),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )
        await self._record(record)

    def _retry_wait(self, error: InferenceError, seq: int, attempts: int) -> float | None:
        """Seconds before this row's next attempt, or None to record the failure."""
        asked: float | None = None
        if isinstance(error, InferenceHTTPError):
            self.limiter.observe(seq, error.headers)
            asked = server_wait(error.headers)
            if error.status_code == 429:
                self.limiter.rate_limited(asked)  # everyone waits, this row included
                self.concurrency.overloaded(time.monotonic())
                return 0.0 if attempts <= self.max_retries else None
            if error.status_code == 503 or isinstance(error, OverloadedError):
                self.concurrency.overloaded(time.monotonic())
        if attempts > self.max_retries or not is_retryable(error):
            return None
        if asked is not None:
            return asked
        return random.uniform(0, min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (attempts - 1)))

    async def _record(self, record: dict[str, Any]) -> None:
        counters = self.counters
        if record["error"] is None:
            counters.succeeded += 1
            counters.input_tokens += record["input_tokens"] or 0
            counters.output_tokens += record["output_tokens"] or 0
        else:
            counters.failed += 1
        pending = self.emit(record)
        if pending is not None:
            await pending
        self.progress.row(record, counters)


def _failure(record: dict[str, Any], error: BaseException, attempts: int, latency: float | None) -> dict[str, Any]:
    http = error if isinstance(error, InferenceHTTPError) else None
    record.update(
        result=None,
        text=None,
        error=str(error) or type(error).__name__,
        error_type=type(error).__name__,
        status_code=http.status_code if http is not None else None,
        provider=getattr(error, "provider", None),
        model=None,
        request_id=http.request_id if http is not None else None,
        attempts=attempts,
        latency_s=round(latency, 6) if latency is not None else None,
        input_tokens=None,
        output_tokens=None,
    )
    return record
