"""Bulk inference: any task over a whole dataset, at the provider's limit, resumable.

    summary = omniinfer.bulk.run("chat", "prompts.jsonl", output="answers.jsonl", model=..., rpm=600)
    summary = await omniinfer.bulk.arun(...)                 # the same, in a running event loop
    for record in omniinfer.bulk.results("text-classification", rows, model=...): ...
    async for record in omniinfer.bulk.aresults(...): ...

Options are those of `omniinfer bulk` (docs/bulk.md): model, provider, base_url, token, params,
column, id_column, concurrency ("auto" or N), rpm, tpm, max_retries, timeout, resume, quiet.
On a Ray cluster: `omniinfer.bulk.ray` (`pip install 'omniinfer[ray]'`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator, Iterator
from typing import Any

from omniinfer.bulk import loops
from omniinfer.bulk.job import BulkOptions, BulkSummary, Rows, iterate, run_to_file
from omniinfer.bulk.stopping import JobStopped
from omniinfer.bulk.tasks import TASKS, BulkUsageError

__all__ = [
    "TASKS",
    "BulkOptions",
    "BulkSummary",
    "BulkUsageError",
    "JobStopped",
    "aresults",
    "arun",
    "results",
    "run",
]


def _options(options: dict[str, Any]) -> BulkOptions:
    try:
        return BulkOptions(**options)
    except TypeError as exc:
        raise BulkUsageError(f"{exc}; options: {', '.join(BulkOptions.__dataclass_fields__)}") from None


def run(task: str, rows_or_path: Rows, *, output: str | os.PathLike[str], **options: Any) -> BulkSummary:
    """Run `task` over every row, writing one output row per input row to `output` (.jsonl or .parquet).
    Returns a `BulkSummary`; a failed row is in the output with its error, never raised. Raises
    JobStopped when 25 rows in a row fail the same way (the server is down, the token refused...)."""
    _no_running_loop("run", "arun")
    return loops.run(arun(task, rows_or_path, output=output, **options))


async def arun(task: str, rows_or_path: Rows, *, output: str | os.PathLike[str], **options: Any) -> BulkSummary:
    """`run`, as a coroutine."""
    return await run_to_file(task, rows_or_path, output, _options(options))


async def aresults(task: str, rows_or_path: Rows, **options: Any) -> AsyncGenerator[dict[str, Any], None]:
    """Output records as rows complete (in completion order; `record["id"]` is the row's id)."""
    async for record in iterate(task, rows_or_path, _options({"quiet": True, **options})):
        yield record


def results(task: str, rows_or_path: Rows, **options: Any) -> Iterator[dict[str, Any]]:
    """`aresults` for synchronous code: the job runs while the records are read."""
    _no_running_loop("results", "aresults")
    loop = loops.new_event_loop()
    records = aresults(task, rows_or_path, **options)
    try:
        while True:
            try:
                yield loop.run_until_complete(records.__anext__())
            except StopAsyncIteration:
                return
    finally:
        loop.run_until_complete(records.aclose())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _no_running_loop(name: str, twin: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"omniinfer.bulk.{name}() cannot run inside an event loop: await omniinfer.bulk.{twin}() instead"
    )
