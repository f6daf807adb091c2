"""A bulk job from end to end: options checked, input opened, resume index read, the engine run over
one warm AsyncInferenceClient, the output closed and a summary returned."""

from __future__ import annotations

import math
import os
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from omniinfer._core.notices import silenced
from omniinfer.bulk.engine import Counters, Engine, Progress
from omniinfer.bulk.limiter import Limiter, LocalLimiter
from omniinfer.bulk.pacing import Concurrency
from omniinfer.bulk.readers import Source, open_source
from omniinfer.bulk.stopping import FailureStreak
from omniinfer.bulk.tasks import Binder, BulkUsageError, bind, task_id
from omniinfer.bulk.writers import TurnWriter, open_sink, resume_key, row_key

Rows = Union[str, "os.PathLike[str]", Iterable[Mapping[str, Any]]]

# Seconds a job's request may take when the job does not say (as the OpenAI client's default). The
# client itself waits without limit, as the reference does; a job must not: one request whose answer
# never comes (a connection a NAT or a load balancer dropped without a word) would hold its row, and
# so the whole job, forever.
DEFAULT_TIMEOUT_S = 600.0


@dataclass(slots=True)
class BulkOptions:
    """The options of `omniinfer bulk` (see docs/bulk.md); a plain dataclass so it pickles."""

    model: str | None = None
    provider: str | list[str] | None = None
    base_url: str | None = None
    token: str | None = field(default=None, repr=False)
    params: dict[str, Any] = field(default_factory=dict)
    column: str | None = None
    id_column: str | None = None
    concurrency: int | str = "auto"
    rpm: float | None = None
    tpm: float | None = None
    max_retries: int = 5
    timeout: float | None = None
    resume: bool = False
    quiet: bool = False
    progress_every: float = 5.0

    def check(self) -> None:
        if isinstance(self.concurrency, str) and self.concurrency != "auto":
            try:
                self.concurrency = int(self.concurrency)
            except ValueError:
                raise BulkUsageError(
                    f"concurrency: expected a number >= 1 or 'auto', got {self.concurrency!r}"
                ) from None
        if isinstance(self.concurrency, bool) or (isinstance(self.concurrency, int) and self.concurrency < 1):
            raise BulkUsageError(f"concurrency: expected a number >= 1 or 'auto', got {self.concurrency!r}")
        for name in ("rpm", "tpm"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
                raise BulkUsageError(f"{name}: expected a number > 0, got {value!r}")
        timeout = self.timeout
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 <= timeout < math.inf
        ):
            raise BulkUsageError(f"timeout: expected seconds > 0 (0: no limit), got {timeout!r}")
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise BulkUsageError(f"max_retries: expected a whole number >= 0, got {self.max_retries!r}")
        if not isinstance(self.params, dict):
            raise BulkUsageError(f"params: expected a dict of task arguments, got {type(self.params).__name__}")

    def fixed_concurrency(self) -> int | None:
        return None if self.concurrency == "auto" else int(self.concurrency)

    def client_kwargs(self, task: str) -> dict[str, Any]:
        """The client's arguments. Its own retries are off: the job retries, so it sees every 429."""
        kwargs: dict[str, Any] = {"provider": self.provider, "token": self.token, "max_retries": 0}
        timeout = self.request_timeout()
        if timeout is not None:
            kwargs["timeout"] = timeout
        if self.base_url is not None:
            kwargs["base_url"] = self.base_url
        else:
            kwargs["model"] = self.model
        return kwargs

    def request_timeout(self) -> float | None:
        """Seconds one request may take: `timeout`, else `DEFAULT_TIMEOUT_S`; None (no limit) for
        `timeout=0`, and by default for the local provider, whose answers cross no network."""
        if self.timeout is not None:
            return float(self.timeout) or None
        return None if self.provider == "local" else DEFAULT_TIMEOUT_S

    def call_params(self, task: str) -> dict[str, Any]:
        params = dict(self.params)
        if self.base_url is not None and self.model is not None:
            if task != "conversational":
                raise BulkUsageError("--model with --base-url: only chat sends a model name to a URL; give one of them")
            params.setdefault("model", self.model)  # the URL decides where, the name goes in the body
        return params


@dataclass(slots=True)
class BulkSummary:
    """What a job did. `exit_code`: 0 when every row has an answer, 1 when some failed."""

    task: str
    output: str | None
    succeeded: int
    failed: int
    skipped: int
    requests: int
    retries: int
    rate_limited: int
    input_tokens: int
    output_tokens: int
    elapsed_s: float

    @property
    def rows(self) -> int:
        return self.succeeded + self.failed + self.skipped

    @property
    def rows_per_s(self) -> float:
        return (self.succeeded + self.failed) / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def exit_code(self) -> int:
        return 0 if self.failed == 0 else 1

    def __str__(self) -> str:
        skipped = f", {self.skipped} already answered" if self.skipped else ""
        return (
            f"{self.task}: {self.succeeded} answered, {self.failed} failed{skipped} in {self.elapsed_s:.1f} s "
            f"({self.rows_per_s:.1f} rows/s); {self.requests} requests, {self.retries} retries, "
            f"{self.rate_limited} rate-limited; tokens in {self.input_tokens}, out {self.output_tokens}"
            + (f"; output {self.output}" if self.output else "")
        )


@dataclass(slots=True)
class Prepared:
    task: str
    source: Source
    binder: Binder


def prepare(task: str, rows: Rows, options: BulkOptions, *, count: bool) -> Prepared:
    """Everything checked before a request: the task, the options, the input and its columns."""
    options.check()
    task = task_id(task)
    params = options.call_params(task)
    source = open_source(rows, count=count)
    binder = bind(
        task,
        source.columns,
        column=options.column,
        id_column=options.id_column,
        params=params,
        coerce=source.text_values,
    )
    return Prepared(task, source, binder)


def numbered(source: Source, id_column: str | None) -> Iterator[tuple[Any, Mapping[str, Any]]]:
    """(id, row): the id column's value, else the row's index in the input.

    Ids from a column must be unique: the output and `--resume` tell rows apart by them (a repeated
    id's row would be taken for answered, and only one of the two records kept). The job stops
    with a BulkUsageError before the row that repeats an id is sent."""
    if id_column is None:
        yield from enumerate(source.rows())
        return
    seen: set[str] = set()
    for index, row in enumerate(source.rows()):
        value = row.get(id_column)
        row_id = index if value is None else row_key(value)
        key = resume_key(row_id)
        if key in seen:
            raise BulkUsageError(
                f"--id-column {id_column!r}: the id {row_id!r} of row {index} is used by an earlier row; "
                "ids must be unique, as the output and --resume tell rows apart by them. The rows "
                "answered so far are kept: with unique ids, --resume sends the others"
            )
        seen.add(key)
        yield row_id, row


def make_client(task: str, options: BulkOptions) -> Any:
    from omniinfer.async_client import AsyncInferenceClient

    return AsyncInferenceClient(**options.client_kwargs(task))


async def execute(
    prepared: Prepared,
    options: BulkOptions,
    emit: Any,
    done: set[Any],
    *,
    limiter: Limiter | None = None,
    progress: Progress | None = None,
) -> tuple[Counters, int]:
    """Run the engine over the prepared rows; (counters, 429s received)."""
    limiter = limiter if limiter is not None else LocalLimiter(options.rpm, options.tpm)
    client = make_client(prepared.task, options)
    try:
        with silenced(options.quiet):  # quiet: not even the local provider's "loading" notice
            engine = Engine(
                client,
                prepared.binder,
                limiter,
                Concurrency(options.fixed_concurrency()),
                max_retries=options.max_retries,
                emit=emit,
                progress=progress,
                streak=FailureStreak(),
            )
            counters = await engine.run(numbered(prepared.source, options.id_column), done)
    finally:
        await client.close()
    return counters, limiter.stats()


async def run_to_file(task: str, rows: Rows, output: str | os.PathLike[str], options: BulkOptions) -> BulkSummary:
    from omniinfer.bulk.progress import make_progress

    started = time.monotonic()
    prepared = prepare(task, rows, options, count=not options.quiet)
    sink = open_sink(output, string_ids=options.id_column is not None, source=rows)
    done = sink.open(options.resume)
    progress = make_progress(options.quiet, prepared.source.total, options.progress_every)
    writer = TurnWriter(sink)
    complete = False
    try:
        counters, rate_limited = await execute(prepared, options, writer, done, progress=progress)
        writer.flush()
        complete = True
    finally:
        try:
            if not complete:
                writer.flush()  # the rows answered in the last turn, when the job stops early
        finally:
            sink.close(complete)
            progress.close()
    return summarize(prepared.task, str(output), counters, rate_limited, time.monotonic() - started)


def summarize(task: str, output: str | None, counters: Counters, rate_limited: int, elapsed: float) -> BulkSummary:
    return BulkSummary(
        task=task,
        output=output,
        succeeded=counters.succeeded,
        failed=counters.failed,
        skipped=counters.skipped,
        requests=counters.requests,
        retries=counters.retries,
        rate_limited=rate_limited,
        input_tokens=counters.input_tokens,
        output_tokens=counters.output_tokens,
        elapsed_s=elapsed,
    )


async def iterate(task: str, rows: Rows, options: BulkOptions, buffer: int = 256) -> AsyncIterator[dict[str, Any]]:
    """The records as they complete (completion order; each carries its row's id)."""
    import asyncio

    prepared = prepare(task, rows, options, count=False)
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(buffer)  # a slow reader slows the job

    async def produce() -> None:
        try:
            await execute(prepared, options, queue.put, set())
        finally:
            await queue.put(None)

    job = asyncio.ensure_future(produce())
    try:
        while (record := await queue.get()) is not None:
            yield record
        await job  # raise what stopped the job, if anything did
    finally:
        if not job.done():
            job.cancel()
            try:
                await job
            except asyncio.CancelledError:
                pass
