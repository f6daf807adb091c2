"""Bulk jobs on a Ray cluster (`pip install 'omniinfer[ray]'`).

- `Mapper`: a callable class for `ds.map_batches(Mapper, fn_constructor_kwargs={...}, compute=...)`.
  Each actor keeps one warm AsyncInferenceClient on its own event loop (built inside the actor from
  the options, so nothing unpicklable travels) and runs the same engine as a local job.
- `LimiterActor`: one named actor per limit, shared by every Mapper of the cluster. It holds the
  `RateState` (client caps, 429 pauses, the server's x-ratelimit budget) and hands out leases of a few
  requests (and their tokens) at a time; a 429 seen by any actor pauses the leases of all of them.
- `run_on_ray`: `omniinfer bulk --ray [ADDRESS] --workers N`: the input streamed on the driver in
  windows, each window a Ray Data pipeline through N Mappers, the records written by the driver to
  the same output (so --resume works the same).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import socket
import threading
import time
import warnings
from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from omniinfer._core import jsonutil
from omniinfer._core.notices import notice, silenced
from omniinfer._core.optional import require
from omniinfer.bulk import loops
from omniinfer.bulk.engine import Engine, row_record
from omniinfer.bulk.job import BulkOptions, BulkSummary, prepare, summarize
from omniinfer.bulk.limiter import WaitNotice
from omniinfer.bulk.pacing import Concurrency, RateState, pause_length, reports_budget
from omniinfer.bulk.stopping import FailureStreak
from omniinfer.bulk.tasks import BulkUsageError, TypicalOutput, bind, task_id
from omniinfer.bulk.writers import open_sink, resume_key

ID_COLUMN = "__omniinfer_id"  # the row's id, as JSON text, on its way through the cluster
NAMESPACE = "omniinfer"
WINDOW_ROWS = 20_000  # rows handed to Ray Data at once by run_on_ray: bounds the driver's memory
LEASE_SECONDS = 0.05  # a lease holds about this long's worth of requests at the capped rate
RAY_DATA_PROGRESS_LOGGER = "ray.data._internal.progress"  # where Ray Data says its progress bars are off
# Where Ray Data reports a block it dropped (a failed task, with max_errored_blocks allowing it).
RAY_DATA_BLOCK_ERRORS_LOGGER = "ray.data._internal.execution.streaming_executor_state"
REASON_CHARS = 160  # of a lost batch's error, in the notice and in its rows' records
REBATCH_ROWS = 16  # the rows of a lost batch go again in batches this big, then those lost again one by one


def _ray() -> Any:
    return require("ray", "Bulk jobs on Ray", "ray")


class LimiterActor:
    """The shared pacing state (run as a named Ray actor; plain Python otherwise, for tests)."""

    def __init__(self, rpm: float | None, tpm: float | None) -> None:
        self.state = RateState(rpm, tpm, time.monotonic())
        self.leases = 0

    def lease(self, requests: int, tokens: float, accepted: int = 0) -> tuple[int, int, bool, float]:
        """(first sequence number, how many requests may use it, whether it finds out, seconds to
        wait before the first of them may leave). One request only when the lease is to find out
        whether a used-up budget came back (the server never told when): the others wait for its
        answer. `accepted`: answers the asking worker had accepted since it last said."""
        self.leases += 1
        now = time.monotonic()
        self.state.count_accepted(accepted, now)
        # A rate learned from 429s caps each lease too: a lease's requests leave back to back.
        asked, requests = requests, self.state.most_per_lease(requests, LEASE_SECONDS)
        tokens = tokens * requests / asked
        first, wait = self.state.reserve(requests, tokens, now)
        if self.leases == 1:  # nothing is known of the server's budget yet: one request finds it out
            self.state.find_out_first(first, now)
        return (first, *self.state.granted(first, requests, tokens, now), wait)

    def blocked_for(self, lease: int, requests: int, tokens: float) -> tuple[float, int, bool]:
        """(seconds the lease numbered from `lease` on still waits, how many of its `requests` may go,
        whether it finds out)."""
        now = time.monotonic()
        wait = self.state.blocked_for(now, lease=lease)
        return (wait, *self.state.granted(lease, requests, tokens, now))

    def landed(self, seq: int) -> None:
        """The request that was to find out was answered without a budget (a failure)."""
        self.state.landed(seq)

    def observe(self, seq: int, headers: dict[str, str]) -> None:
        self.state.observe(seq, headers, time.monotonic())

    def pause(self, retry_after: float | None, seq: int | None = None, accepted: int = 0) -> float:
        now = time.monotonic()
        self.state.count_accepted(accepted, now)
        return self.state.pause(retry_after, now, seq)

    def settle(self, estimated: float, actual: float) -> None:
        self.state.settle_tokens(estimated, actual)

    def stats(self) -> dict[str, int]:
        return {"rate_limited": self.state.rate_limited, "leases": self.leases}


def limiter_name(options: BulkOptions) -> str:
    """Actors of one model/provider/limit share a limiter unless told otherwise."""
    key = repr((options.base_url, options.model, options.provider, options.rpm, options.tpm))
    return "omniinfer-limiter-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def limiter_actor(name: str, rpm: float | None, tpm: float | None, *, detached: bool = False) -> Any:
    """The named limiter actor, created by whoever asks first. An actor dies with the process that made
    it, so one made by a Mapper is detached (another Mapper may outlive the first): it then lives until
    the cluster stops, or `ray.kill(ray.get_actor(name, namespace="omniinfer"))`. run_on_ray makes
    its own, attached to the driver, and kills it at the end."""
    ray = _ray()
    remote = ray.remote(num_cpus=0, max_concurrency=64)(LimiterActor)
    lifetime = "detached" if detached else None
    try:
        return remote.options(name=name, namespace=NAMESPACE, get_if_exists=True, lifetime=lifetime).remote(rpm, tpm)
    except ValueError:  # two Mappers starting at once: the other one created it
        return ray.get_actor(name, namespace=NAMESPACE)


class RayLimiter:
    """The engine's Limiter, backed by the cluster-wide actor: requests leave on leases of `chunk`."""

    def __init__(self, actor: Any, chunk: int) -> None:
        self.actor = actor
        self.chunk = max(1, chunk)
        self._left = 0
        self._seq = 0
        self._paused_until = 0.0
        self._lock = asyncio.Lock()
        self._rate_limited = 0
        self._notice = WaitNotice()
        self._finding_out: int | None = None  # the request of ours that finds out whether a budget came back
        self._accepted = 0  # answers accepted since the actor was last told (with a lease or a 429)

    async def acquire(self, tokens: float, may_lag: bool = False) -> int:
        # `may_lag` is not passed on: leases are numbered in chunks, ahead of the requests that use
        # them, so the actor cannot tell which request opens a connection.
        while True:
            wait = self._paused_until - time.monotonic()
            if wait > 0:
                await self._sleep(wait)
            if self._left > 0:
                self._left -= 1
                self._seq += 1
                return self._seq - 1
            async with self._lock:
                if self._left > 0:
                    continue
                first, granted, finds_out, wait = await self.actor.lease.remote(
                    self.chunk, tokens * self.chunk, self._accepted_since_told()
                )
                if wait > 0:
                    await self._sleep(wait)
                    # A pause may have started elsewhere while this lease waited.
                    granted, finds_out = await self._wait_out_pause(first, granted, tokens)
                if granted == 0:  # it waited while a later lease found out whether a budget came back
                    continue
                self._seq, self._left = first, granted
                self._finding_out = first if finds_out else None

    def _accepted_since_told(self) -> int:
        """The answers accepted since the actor was last told, which it is told now (with a lease or a 429)."""
        accepted, self._accepted = self._accepted, 0
        return accepted

    async def _wait_out_pause(self, lease: int, granted: int, tokens: float) -> tuple[int, bool]:
        """Wait until the lease may go; how many of its requests (of `tokens` each) may, and whether
        it finds out whether a budget came back."""
        blocked, granted, finds_out = await self.actor.blocked_for.remote(lease, granted, tokens * granted)
        while blocked > 0 and granted > 0:
            await self._sleep(blocked)
            blocked, granted, finds_out = await self.actor.blocked_for.remote(lease, granted, tokens * granted)
        return int(granted), bool(finds_out)

    async def _sleep(self, seconds: float) -> None:
        self._notice.waiting(seconds, time.monotonic())
        await asyncio.sleep(seconds)

    def observe(self, seq: int, headers: Mapping[str, str], accepted: bool = False) -> None:
        if accepted:
            self._accepted += 1
        told = reports_budget(headers)
        if seq == self._finding_out:  # what it found out goes to the actor, a budget or none
            self._finding_out = None
            self.actor.observe.remote(seq, dict(headers) if told else {})
        elif told:
            self.actor.observe.remote(seq, dict(headers))

    def landed(self, seq: int) -> None:
        # Nothing lags at the actor (see acquire). Only the request that was to find out whether a
        # budget came back, answered without one, is told: the others would wait for it otherwise.
        if seq == self._finding_out:
            self._finding_out = None
            self.actor.landed.remote(seq)

    def rate_limited(self, retry_after: float | None, seq: int | None = None) -> None:
        self._rate_limited += 1
        if self._left > 0 and self._finding_out is not None:  # given up before it went: another finds out
            self.actor.landed.remote(self._finding_out)
            self._finding_out = None
        self._left = 0  # the rest of this lease would go over the limit: give it up
        self._paused_until = max(self._paused_until, time.monotonic() + pause_length(retry_after))
        self.actor.pause.remote(retry_after, seq, self._accepted_since_told())

    def settle(self, estimated: float, actual: float) -> None:
        if estimated != actual:
            self.actor.settle.remote(estimated, actual)

    def stats(self) -> int:
        return self._rate_limited


class Mapper:
    """`ds.map_batches(Mapper, fn_constructor_kwargs={"task": "chat", "model": ..., "rpm": 600}, compute=...)`,
    `compute=ray.data.ActorPoolStrategy(size=N)` for N actors (`concurrency=N` before Ray 2.51).

    Constructor arguments: `task`, any option of `omniinfer.bulk.run` (model, provider, base_url,
    token, params, column, id_column, concurrency, rpm, tpm, max_retries, timeout), and `limiter`: the
    name of the shared limiter actor (default: one per model/provider/limits, shared by all Mappers;
    made by the first Mapper that asks), or the handle of one made beforehand (`limiter_actor`).
    Each input row gives one output row with the fields of `omniinfer.bulk` records (`result` as JSON
    text); `id` is the `id_column` value (else the row's position in its batch).
    """

    def __init__(self, task: str, limiter: Any = None, **options: Any) -> None:
        self.options = BulkOptions(**{"quiet": True, **options})
        self.options.check()
        self.task = task_id(task)
        self._loop = loops.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="omniinfer-mapper", daemon=True)
        self._thread.start()
        if limiter is None or isinstance(limiter, str):
            actor = limiter_actor(
                limiter or limiter_name(self.options), self.options.rpm, self.options.tpm, detached=True
            )
        else:  # a handle (run_on_ray's): never made again here, so it cannot outlive its job
            actor = limiter
        rate = (self.options.rpm or 0) / 60
        chunk = max(1, int(rate * LEASE_SECONDS)) if rate else 16
        self.limiter = RayLimiter(actor, chunk)
        self.concurrency = Concurrency(self.options.fixed_concurrency())
        self.typical_output = TypicalOutput()  # learned across this actor's batches
        self.client = self._await(self._make_client())  # one warm client for every batch of this actor

    async def _make_client(self) -> Any:
        from omniinfer.bulk.job import make_client

        return make_client(self.task, self.options)

    def _await(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def __call__(self, batch: Any) -> Any:
        rows = _rows_of(batch)
        return _table(self._await(self._run(rows)))

    async def _run(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        binder = bind(
            self.task,
            list(rows[0]) if rows else None,
            column=self.options.column,
            id_column=self.options.id_column,
            params=self.options.call_params(self.task),
        )
        records: list[dict[str, Any]] = []
        engine = Engine(
            self.client,
            binder,
            self.limiter,
            self.concurrency,
            max_retries=self.options.max_retries,
            emit=records.append,
            typical_output=self.typical_output,
        )
        await engine.run(self._numbered(rows), set())
        return records

    def _numbered(self, rows: list[dict[str, Any]]) -> Iterator[tuple[Any, dict[str, Any]]]:
        for index, row in enumerate(rows):
            if ID_COLUMN in row:
                yield row.pop(ID_COLUMN), row
            elif self.options.id_column is not None:
                yield row.get(self.options.id_column), row
            else:
                yield index, row

    def __del__(self) -> None:
        loop = getattr(self, "_loop", None)
        if loop is not None and loop.is_running():
            client = getattr(self, "client", None)
            if client is not None:
                try:
                    self._await(client.close())
                except Exception:  # the interpreter may be going down
                    pass
            loop.call_soon_threadsafe(loop.stop)


def _rows_of(batch: Any) -> list[dict[str, Any]]:
    if hasattr(batch, "to_pylist"):  # pyarrow
        return list(batch.to_pylist())
    if hasattr(batch, "to_dict") and hasattr(batch, "columns"):  # pandas
        return list(batch.to_dict("records"))
    columns = {name: (values.tolist() if hasattr(values, "tolist") else list(values)) for name, values in batch.items()}
    count = len(next(iter(columns.values()))) if columns else 0
    return [{name: values[i] for name, values in columns.items()} for i in range(count)]


def _table(records: list[dict[str, Any]]) -> Any:
    """Records as an Arrow table of fixed types (ids and results as JSON text)."""
    pa = require("pyarrow", "Bulk jobs on Ray", "ray")
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("result", pa.string()),
            *((name, pa.string()) for name in ("text", "error", "error_type")),
            ("status_code", pa.int32()),
            *((name, pa.string()) for name in ("provider", "model", "request_id")),
            ("attempts", pa.int32()),
            ("latency_s", pa.float64()),
            ("input_tokens", pa.int64()),
            ("output_tokens", pa.int64()),
        ]
    )
    rows = []
    for record in records:
        row = dict(record)
        row["id"] = jsonutil.dumps(record["id"]).decode()
        if record.get("result") is not None:
            row["result"] = jsonutil.dumps(record["result"]).decode()
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=schema)


def run_on_ray(
    task: str,
    rows: Any,
    *,
    output: str | os.PathLike[str],
    address: str | None = None,
    workers: int = 2,
    **options: Any,
) -> BulkSummary:
    """`omniinfer bulk --ray [ADDRESS] --workers N`: the job through N Mappers sharing one limiter."""
    ray = _ray()
    from omniinfer.bulk.progress import make_progress

    started = time.monotonic()
    job = BulkOptions(**options)
    prepared = prepare(task, rows, job, count=not job.quiet)  # usage errors before the cluster starts
    if address and not ray.is_initialized():
        _check_reachable(address)
    sink = open_sink(output, string_ids=job.id_column is not None, source=rows)
    done = sink.open(job.resume)  # an existing output without --resume: a usage error, before the cluster
    from omniinfer.bulk.engine import Counters

    counters = Counters()
    progress = make_progress(job.quiet, prepared.source.total, job.progress_every)
    started_ray = complete = False
    actor = None
    try:
        started_ray = not ray.is_initialized()
        if started_ray:
            ray.init(
                address=address or None,
                namespace=NAMESPACE,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR if job.quiet else logging.WARNING,
            )
        _quiet_ray_data(ray, job.quiet)
        name = f"{limiter_name(job)}-{os.getpid()}-{int(time.time())}"
        actor = limiter_actor(name, job.rpm, job.tpm)
        kwargs = {
            "task": prepared.task,
            "limiter": actor,
            **{key: getattr(job, key) for key in BulkOptions.__dataclass_fields__ if key not in ("resume", "quiet")},
        }
        streak = FailureStreak()  # the Mappers see batches: the stop rule sees the job's rows, here
        with silenced(job.quiet), _lost_batches_dropped(ray) as lost:
            for window in _windows(prepared, job, done, counters, progress):
                records = _window_records(ray, window, kwargs, workers, lost)
                try:
                    for record in records:
                        _count(counters, record)
                        sink.write(record)
                        progress.row(record, counters)
                        streak.settled(record)
                finally:
                    records.close()  # a stopped job: Ray Data's execution ends now, not when collected
        complete = True
        rate_limited = int(ray.get(actor.stats.remote())["rate_limited"])
    finally:
        sink.close(complete)
        progress.close()
        if actor is not None:
            ray.kill(actor)
        if started_ray:
            ray.shutdown()
    return summarize(prepared.task, str(output), counters, rate_limited, time.monotonic() - started)


CLUSTER_PROBE_S = 5.0


def _check_reachable(address: str) -> None:
    """Fail at once when nothing listens at a `HOST:PORT` (or `ray://HOST:PORT`) address: `ray.init`
    would retry for minutes, printing a warning every few seconds. `auto` and `local` are Ray's."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CLUSTER_PROBE_S).close()
    except OSError as exc:
        raise BulkUsageError(
            f"--ray {address}: no Ray cluster answers there ({exc or type(exc).__name__}). Start one "
            "(`ray start --head` prints its address), or give no address for a cluster of this machine"
        ) from None


def _window_records(
    ray: Any, window: list[dict[str, Any]], kwargs: dict[str, Any], workers: int, lost: LostBatches
) -> Generator[dict[str, Any], None, None]:
    """The records of a window's rows, each row's exactly once.

    A batch whose worker dies (the OOM killer, a crash in native code) is not retried by Ray: Ray
    Data's default would send it again, forever, and a row that kills its worker every time would
    hold the job in that loop, paying for the batch's other rows on each turn. Such a batch comes
    back as a dropped block (with the batches queued on the same actor). Its rows go again in batches
    of REBATCH_ROWS, then the rows lost again go one by one, each time one batch per actor (none
    queued behind it): the row that kills its worker is found, and the others are answered. A row
    whose worker died every time is recorded as failed (`WorkerDied`); `--resume` sends it again.

    Rows travel with their position in the window as their id (two rows may share an id), which
    the records bring back; the driver puts the row's own id back."""
    ids = [row[ID_COLUMN] for row in window]
    for position, row in enumerate(window):
        row[ID_COLUMN] = position
    pending = dict(enumerate(window))
    first = max(1, min(256, len(window) // workers or 1))
    sizes = sorted({first, min(first, REBATCH_ROWS), 1}, reverse=True)
    for attempt, batch_size in enumerate(sizes):
        if not pending:
            return
        if attempt:
            notice(
                f"a Ray worker died with a batch ({lost.reason}): {len(pending)} rows go again, {batch_size} a batch"
            )
        with warnings.catch_warnings():
            # Ray 2.60 deprecates the remote arguments given as keywords, but names no parameter for
            # this one yet.
            warnings.filterwarnings("ignore", message=".*ray_remote_args. is deprecated", category=Warning)
            dataset = ray.data.from_items(list(pending.values())).map_batches(
                Mapper,
                fn_constructor_kwargs=kwargs,
                **_actor_pool(ray, workers, one_task_each=attempt > 0),
                batch_size=batch_size,
                batch_format="pyarrow",
                num_cpus=0.5,
                max_task_retries=0,
            )
        for batch in dataset.iter_batches(batch_format="pyarrow", batch_size=None):
            for record in batch.to_pylist():
                position = jsonutil.loads(record["id"])
                if pending.pop(position, None) is None:
                    continue  # not a row still waiting for its record (none is expected: a guard)
                record["id"] = ids[position]
                if record["result"] is not None:
                    record["result"] = jsonutil.loads(record["result"])
                yield record
    for position in pending:
        yield row_record(
            ids[position],
            error=f"The Ray worker running this row died each of the {len(sizes)} times it was tried "
            f"({lost.reason}); its request may have been sent. --resume sends it again.",
            error_type="WorkerDied",
        )


class LostBatches(logging.Filter):
    """Takes Ray Data's report of a dropped block (an error with its traceback, on stderr even with
    --quiet) and keeps its reason for the rows' records, which say what happened to them."""

    def __init__(self) -> None:
        super().__init__()
        self.reason = "reason unknown"

    def filter(self, record: logging.LogRecord) -> bool:
        if "max_errored_blocks" not in record.getMessage() or "Ignoring" not in record.getMessage():
            return True
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            first_line = (str(error).splitlines() or [""])[0]
            if len(first_line) > REASON_CHARS:
                first_line = first_line[: REASON_CHARS - 3] + "..."
            self.reason = f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__
        return False


@contextmanager
def _lost_batches_dropped(ray: Any) -> Iterator[LostBatches]:
    """While the job runs: Ray Data drops a block whose task failed (rather than failing the whole
    dataset), and its report of it goes to a LostBatches. Both are put back as they were after."""
    context = ray.data.DataContext.get_current()
    before = context.max_errored_blocks
    context.max_errored_blocks = -1  # datasets copy the context when made: set before any is made
    lost = LostBatches()
    reporter = logging.getLogger(RAY_DATA_BLOCK_ERRORS_LOGGER)
    reporter.addFilter(lost)
    try:
        yield lost
    finally:
        reporter.removeFilter(lost)
        context.max_errored_blocks = before


def _quiet_ray_data(ray: Any, quiet: bool) -> None:
    """Our progress and summary say what a job does: Ray Data's own bars and logs would repeat it.
    Its warnings still show (errors only with --quiet), except the one that says its bars are off."""
    context = ray.data.DataContext.get_current()  # imports ray.data, which sets up its loggers: before ours
    context.enable_progress_bars = False
    if hasattr(context, "print_on_execution_start"):
        context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR if quiet else logging.WARNING)
    # A filter on the logger the notice is made at: whichever handlers Ray's logging set-up (redone by
    # every ray.init) gives the `ray.data` loggers, the record never reaches them.
    progress = logging.getLogger(RAY_DATA_PROGRESS_LOGGER)
    if _not_bars_off not in progress.filters:
        progress.addFilter(_not_bars_off)


def _not_bars_off(record: logging.LogRecord) -> bool:
    """False for Ray Data's notice that its progress bars are off (we turned them off)."""
    return not record.getMessage().startswith("Progress bars disabled")


def _actor_pool(ray: Any, workers: int, one_task_each: bool = False) -> dict[str, Any]:
    """map_batches' arguments for a pool of `workers` actors. Ray 2.9 to 2.50 deprecate `compute` for
    `concurrency`; Ray 2.51 deprecates `concurrency` for `compute` (each logs a warning on the other).
    `one_task_each`: an actor holds only the batch it runs, none queued behind it (a queued batch
    dies with its actor)."""
    if one_task_each:
        return {"compute": ray.data.ActorPoolStrategy(size=workers, max_tasks_in_flight_per_actor=1)}
    match = re.match(r"(\d+)\.(\d+)", ray.__version__)
    if match is not None and (int(match[1]), int(match[2])) < (2, 51):
        return {"concurrency": workers}
    return {"compute": ray.data.ActorPoolStrategy(size=workers)}


def _windows(
    prepared: Any, job: BulkOptions, done: set[Any], counters: Any, progress: Any
) -> Iterator[list[dict[str, Any]]]:
    from omniinfer.bulk.job import numbered

    window: list[dict[str, Any]] = []
    for row_id, row in numbered(prepared.source, job.id_column):
        if done and resume_key(row_id) in done:
            counters.skipped += 1
            progress.skipped(counters)
            continue
        window.append({**row, ID_COLUMN: row_id})
        if len(window) >= WINDOW_ROWS:
            yield window
            window = []
    if window:
        yield window


def _count(counters: Any, record: Mapping[str, Any]) -> None:
    """The outcome as the engine counts it, plus the sends the worker made (counted there)."""
    counters.settled(record)
    counters.requests += record["attempts"] or 0
    counters.retries += max(0, (record["attempts"] or 0) - 1)
