"""The job loop: rows in, one record out per row, at the pace the limiter and the concurrency allow.

Worker coroutines, as many as the concurrency allows, take the rows from the stream (a row is read
only when a worker is free, so memory stays bounded); for each row a worker waits for the limiter,
calls the client's task method, retries what is worth retrying (a 429 after the shared pause; a
5xx, a connection failure or a timeout before sending after a backoff) and emits its record. A row
that cannot be called (bad input, a non-retryable error) gets a record with the error; nothing a row
does stops the others.
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
from omniinfer._core.timeouts import timed_out_once_sent
from omniinfer.bulk.limiter import Limiter
from omniinfer.bulk.pacing import Concurrency
from omniinfer.bulk.readers import BAD_ROW
from omniinfer.bulk.stopping import FailureStreak
from omniinfer.bulk.tasks import Binder, TypicalOutput, answered_model, output_ceiling, result_fields
from omniinfer.bulk.writers import resume_key
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

    def settled(self, record: Mapping[str, Any]) -> None:
        """Count a row's outcome (answered with its tokens, or failed)."""
        if record["error"] is None:
            self.succeeded += 1
            self.input_tokens += record["input_tokens"] or 0
            self.output_tokens += record["output_tokens"] or 0
        else:
            self.failed += 1


class Progress:
    """What the engine tells about each row (the CLI draws it; the default says nothing)."""

    def row(self, record: Mapping[str, Any], counters: Counters) -> None:
        pass

    def skipped(self, counters: Counters) -> None:
        pass

    def close(self) -> None:
        pass


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
        streak: FailureStreak | None = None,
        typical_output: TypicalOutput | None = None,
    ) -> None:
        self.client = client
        self.binder = binder
        self.limiter = limiter
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.emit = emit
        self.progress = progress or Progress()
        self.streak = streak  # stops the job when row after row fails the same way (None: never)
        self.counters = Counters()
        self._method = getattr(client, binder.method)
        self._workers: set[asyncio.Task[None]] = set()
        self._rows: Iterator[tuple[Any, Mapping[str, Any]]] = iter(())
        self._done: set[Any] = set()
        self._exhausted = False
        self._running = 0  # workers not yet leaving (the task set also holds those finishing)
        # Workers waiting for the limiter. They do not count as busy: when the rate limit is what
        # holds requests back, more of them in flight would gain nothing.
        self._pacing = 0
        self._input_error: Exception | None = None
        self._failures: list[BaseException] = []  # what ended workers raised (kept: each is retrieved)
        self._worker_ended = asyncio.Event()  # an engine runs once (bound to its loop on first use)
        # For rows without max_tokens, in their token estimate (a Ray actor keeps one across batches).
        self._typical_output = typical_output or TypicalOutput()
        # Rows without max_tokens wait for the first of them to be answered: until an answer tells
        # what such a row generates, each is counted at its prompt alone, and a token limit would see
        # a whole first round of them at once (measured: 7-8 429s in 60 rows at 400 tokens/s).
        self._sizing: asyncio.Future[None] | None = None  # that first row, in flight

    async def run(self, rows: Iterator[tuple[Any, Mapping[str, Any]]], done: set[Any]) -> Counters:
        """Process every row whose id is not in `done`; returns when all records are emitted.

        Rows are taken by `concurrency.limit` worker coroutines from one shared iterator (a `next()`
        never awaits, so each row goes to exactly one worker); workers are added when the limit
        grows and leave when it shrinks, so a row costs no task of its own."""
        self._rows, self._done = rows, done
        self._spawn()
        try:
            while self._workers and not self._failures:
                await self._worker_ended.wait()
                self._worker_ended.clear()
            if self._failures:
                raise self._failures[0]  # our own failure (a full disk...), met by one worker or more
        finally:
            stopping = list(self._workers)
            for worker in stopping:
                worker.cancel()
            if stopping:  # collected: none of their errors is logged as never retrieved
                await asyncio.gather(*stopping, return_exceptions=True)
        if self._input_error is not None:
            raise self._input_error  # once the rows in flight were answered and recorded
        return self.counters

    def _spawn(self) -> None:
        loop = asyncio.get_running_loop()
        while self._running < self.concurrency.limit and not self._exhausted:
            self._running += 1
            worker = loop.create_task(self._work())
            self._workers.add(worker)
            worker.add_done_callback(self._ended)

    def _ended(self, worker: asyncio.Task[None]) -> None:
        self._workers.discard(worker)
        if not worker.cancelled() and worker.exception() is not None:
            self._failures.append(worker.exception())  # type: ignore[arg-type]
        self._worker_ended.set()

    async def _work(self) -> None:
        done, counters = self._done, self.counters
        fresh = True  # no request sent yet: this worker's first one opens a connection of its own
        rows = self._rows
        try:
            while True:
                try:
                    row_id, row = next(rows)
                except StopIteration:
                    break
                except Exception as exc:  # the input broke (a repeated id, a file gone): no row is taken
                    # after it, and the rows in flight finish before the job stops with it
                    self._input_error = self._input_error or exc
                    break
                if done and resume_key(row_id) in done:
                    counters.skipped += 1
                    self.progress.skipped(counters)
                    continue
                if await self._one(row_id, row, fresh):
                    fresh = False
                limit = self.concurrency.limit
                if self._running > limit:
                    return  # the limit was cut: this worker leaves (counted out at once, in finally)
                if self._running < limit:
                    self._spawn()
            self._exhausted = True
        finally:
            self._running -= 1

    async def _one(self, row_id: Any, row: Mapping[str, Any], fresh: bool = False) -> bool:
        """Answer one row and emit its record; whether a request was sent. `fresh`: the worker has
        sent none before, so this one waits for a new connection and may reach the server late."""
        try:
            bad = row.get(BAD_ROW)  # (a Ray batch gives every row the key, None where the row was good)
            if bad is not None:
                raise ValueError(bad)
            value, kwargs = self.binder.call(row)
        except (ValueError, TypeError) as exc:
            await self._record(_failure(row_id, exc, 0, None))
            return False
        ceiling = output_ceiling(kwargs)
        if ceiling is None and not self._typical_output.sized:
            if self._sizing is None:  # this row is the first without a ceiling: it goes alone
                self._sizing = asyncio.get_running_loop().create_future()
                try:
                    return await self._answer(row_id, value, kwargs, ceiling, fresh)
                finally:
                    self._typical_output.sized = True
                    if not self._sizing.done():
                        self._sizing.set_result(None)
            self._pacing += 1  # (waiting for the first answer, as for the limiter: not busy)
            try:
                await self._sizing
            finally:
                self._pacing -= 1
        return await self._answer(row_id, value, kwargs, ceiling, fresh)

    async def _answer(
        self, row_id: Any, value: Any, kwargs: dict[str, Any], ceiling: float | None, fresh: bool
    ) -> bool:
        """Send one bound row (retrying what is worth it) and emit its record. `ceiling`: the most
        tokens its arguments let it generate (None: not bounded)."""
        typical = self._typical_output
        estimate = self.binder.estimate_tokens(value, ceiling, typical.tokens)
        attempts = 0
        while True:
            self._pacing += 1
            try:
                seq = await self.limiter.acquire(estimate, fresh and attempts == 0)
            finally:
                self._pacing -= 1
            attempts += 1
            self.counters.requests += 1
            sent = time.perf_counter()
            try:
                result = await self._method(value, **kwargs)
            except Exception as exc:
                failed = exc
            else:
                meta = last_response_meta()
                if meta is not None:
                    self.limiter.observe(seq, meta.headers, accepted=True)
                break
            finally:
                self.limiter.landed(seq)
            if not isinstance(failed, InferenceError):  # input the client refused (a missing file), a surprise
                await self._record(_failure(row_id, failed, attempts, time.perf_counter() - sent))
                return True
            wait = self._retry_wait(failed, seq, attempts)
            if wait is None:
                await self._record(_failure(row_id, failed, attempts, time.perf_counter() - sent))
                return True
            self.counters.retries += 1
            if wait > 0:
                await asyncio.sleep(wait)
        latency = time.perf_counter() - sent
        self.concurrency.success(latency, self._running - self._pacing >= self.concurrency.limit)
        data, text, input_tokens, output_tokens = result_fields(self.binder.task, result)
        if input_tokens is not None or output_tokens is not None:
            self.limiter.settle(estimate, (input_tokens or 0) + (output_tokens or 0))
            if output_tokens is not None and ceiling is None:
                typical.add(output_tokens)
        await self._record(
            row_record(
                row_id,
                result=data,
                text=text,
                status_code=None if meta is None else meta.status,
                provider=None if meta is None else meta.provider,
                model=answered_model(result) if meta is None or meta.model is None else meta.model,
                request_id=None if meta is None else meta.request_id,
                attempts=attempts,
                latency_s=microseconds(latency),
                input_tokens=input_tokens,
                output_tokens=output_tokens,
            )
        )
        return True

    def _retry_wait(self, error: InferenceError, seq: int, attempts: int) -> float | None:
        """Seconds before this row's next attempt, or None to record the failure."""
        asked: float | None = None
        if isinstance(error, InferenceHTTPError):
            self.limiter.observe(seq, error.headers)
            asked = server_wait(error.headers)
            if error.status_code == 429:
                self.limiter.rate_limited(asked, seq)  # everyone waits, this row included
                self.concurrency.overloaded(time.monotonic())
                return 0.0 if attempts <= self.max_retries else None
            if error.status_code == 503 or isinstance(error, OverloadedError):
                self.concurrency.overloaded(time.monotonic())
        # A timeout once sent: the server may be running the request, and a resend could run and bill
        # it twice. As in the client's own retries, it is not sent again: its row is recorded as
        # failed, and resuming the job sends it (a whole task call: a provider's job polled by GET
        # was submitted by a POST).
        if attempts > self.max_retries or not is_retryable(error) or timed_out_once_sent(error):
            return None
        if asked is not None:
            return asked
        return random.uniform(0, min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (attempts - 1)))

    async def _record(self, record: dict[str, Any]) -> None:
        counters = self.counters
        counters.settled(record)
        pending = self.emit(record)
        if pending is not None:
            await pending
        self.progress.row(record, counters)
        if self.streak is not None:
            self.streak.settled(record)  # after the record is out: a stopped job keeps it


def row_record(
    row_id: Any,
    *,
    result: Any = None,
    text: str | None = None,
    error: str | None = None,
    error_type: str | None = None,
    status_code: int | None = None,
    provider: str | None = None,
    model: str | None = None,
    request_id: str | None = None,
    attempts: int = 0,
    latency_s: float | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
) -> dict[str, Any]:
    """A row's output record, its fields in the order of `writers.FIELDS`."""
    return {
        "id": row_id,
        "result": result,
        "text": text,
        "error": error,
        "error_type": error_type,
        "status_code": status_code,
        "provider": provider,
        "model": model,
        "request_id": request_id,
        "attempts": attempts,
        "latency_s": latency_s,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
    }


def microseconds(seconds: float) -> float:
    """`seconds` to the microsecond, as `round(seconds, 6)` gives it but 3 times cheaper (that one goes
    through a decimal string: 0.74 against 0.25 µs)."""
    return round(seconds * 1e6) / 1e6


def _failure(row_id: Any, error: BaseException, attempts: int, latency: float | None) -> dict[str, Any]:
    http = error if isinstance(error, InferenceHTTPError) else None
    return row_record(
        row_id,
        error=str(error) or type(error).__name__,
        error_type=type(error).__name__,
        status_code=None if http is None else http.status_code,
        provider=getattr(error, "provider", None),
        request_id=None if http is None else http.request_id,
        attempts=attempts,
        latency_s=None if latency is None else microseconds(latency),
    )
