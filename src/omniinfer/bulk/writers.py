"""Output rows, written as they come: append-only, each row handed to the OS in the event-loop turn that
answered it (`TurnWriter`), so a crash loses at most the answers of the turn it interrupts.

JSONL is written in place. Parquet cannot be appended to (its index is at the end of the file), so the
rows go to a JSONL journal next to it (`OUT.parquet.partial.jsonl`) that becomes the Parquet file,
streamed in batches, when the job ends.

Resume: the answered rows of a previous run (those without an error) are kept, and their ids are the
resume index; rows recorded as failed, and a line a crash cut short, are dropped so those rows are sent
again. Each input row ends up with exactly one output row.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from omniinfer._core import jsonutil
from omniinfer._core.optional import require
from omniinfer.bulk.readers import file_format
from omniinfer.bulk.tasks import BulkUsageError

FIELDS = (
    "id",
    "result",
    "text",
    "error",
    "error_type",
    "status_code",
    "provider",
    "model",
    "request_id",
    "attempts",
    "latency_s",
    "input_tokens",
    "output_tokens",
)
PARQUET_BATCH_ROWS = 8192


class Sink:
    """Where the records of a job go, at `path`. `open(resume)` returns the ids already answered
    (`resume_key`s); while open, the sink holds the output's lock (`OutputLock`), unless `locked` is
    False (a sink inside another, which holds it)."""

    def __init__(self, path: Path, *, locked: bool = True) -> None:
        self.path = path
        self._lock = OutputLock(path) if locked else None

    def open(self, resume: bool) -> set[Any]:
        if self._lock is not None:
            self._lock.acquire()
        try:
            return self._open(resume)
        except BaseException:
            self.close(False)
            raise

    def write(self, record: dict[str, Any]) -> None:
        self.write_lines([encoded(record)])

    def write_lines(self, lines: list[bytes]) -> None:
        """Records already `encoded`, in one write to the OS."""
        raise NotImplementedError

    def close(self, complete: bool) -> None:
        """`complete`: every input row has its record (a Parquet output is then finalized)."""
        try:
            self._close(complete)
        finally:
            if self._lock is not None:
                self._lock.release()

    def _open(self, resume: bool) -> set[Any]:
        raise NotImplementedError

    def _close(self, complete: bool) -> None:
        raise NotImplementedError


def open_sink(path: str | os.PathLike[str], *, string_ids: bool, source: object = None) -> Sink:
    """The sink for `path`. `source`: the job's input, when a file: the output must be another one
    (resuming rewrites the output, and would destroy the input)."""
    target = Path(path)
    kind = file_format(target, "output")
    if isinstance(source, (str, os.PathLike)) and _same_file(Path(source), target):
        raise BulkUsageError(f"output {str(target)!r} is the input: give the answers a file of their own")
    if kind == "csv":
        raise BulkUsageError(f"output {str(target)!r}: expected a .jsonl or .parquet file")
    if kind == "parquet":
        require("pyarrow.parquet", "Writing Parquet", "bulk")
        return ParquetSink(target, string_ids=string_ids)
    return JsonlSink(target)


def _same_file(one: Path, other: Path) -> bool:
    try:
        return one.resolve() == other.resolve() or (other.exists() and one.exists() and one.samefile(other))
    except OSError:
        return False


def _refuse_to_overwrite(path: Path, resume: bool) -> None:
    if not resume:
        raise BulkUsageError(f"output {str(path)!r} exists: pass --resume (resume=True) to continue it, or remove it")


class OutputLock:
    """One job at a time writes an output. A second one started while the first runs would rewrite the
    file under it (resuming) and send its rows again, and the first one's later answers would go to
    the replaced file. The lock is `OUT.lock`, held with flock: the OS releases it when the process
    dies, so a crash leaves no stale lock. Not on Windows (no flock)."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.path = output.with_name(output.name + ".lock")
        self._handle: Any = None

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "?"
            handle.close()
            raise BulkUsageError(
                f"output {str(self.output)!r} is being written by another job (process {owner}): "
                "wait for it to end, or stop it, before resuming"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            self.path.unlink(missing_ok=True)  # while still held: no other job holds a lock on it
            handle.close()  # closing the file releases the lock


class JsonlSink(Sink):
    def __init__(self, path: Path, *, locked: bool = True) -> None:
        super().__init__(path, locked=locked)
        self._handle: Any = None

    def _open(self, resume: bool) -> set[Any]:
        done: set[Any] = set()
        if self.path.exists():
            _refuse_to_overwrite(self.path, resume)
            done = _keep_answered(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Unbuffered: what is written reaches the OS at once, so `kill -9` loses no answered row.
        self._handle = self.path.open("ab", buffering=0)
        return done

    def write_lines(self, lines: list[bytes]) -> None:
        data = memoryview(lines[0] if len(lines) == 1 else b"".join(lines))
        while data:  # a short write (a disk filling up) is followed by the rest, or by its error
            data = data[self._handle.write(data) :]

    def _close(self, complete: bool) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def encoded(record: dict[str, Any]) -> bytes:
    """A record's line in a JSONL output or journal."""
    return jsonutil.dumps(record) + b"\n"


class TurnWriter:
    """Writes a job's records to its sink from the event loop: the records answered in one turn of the
    loop go to the OS together, in one write when that turn ends, rather than in one write each
    (measured: 8-11 µs of a row's CPU, bench/RESULTS.md). The turn that answered a row ends before
    the loop waits for anything (milliseconds, at most the time it takes to handle the answers that
    came together), so a crash can only lose the answers of the turn it interrupts, as before: the
    bytes of those answers had reached the process, not the file.

    Each record is encoded when it comes, so the record itself is not kept until the write. An error
    the write meets (a full disk) is raised to the worker that brings the next record, and by `flush`.
    """

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._loop = asyncio.get_running_loop()
        self._lines: list[bytes] = []
        self._error: Exception | None = None

    def __call__(self, record: dict[str, Any]) -> None:
        if self._error is not None:
            raise self._error
        if not self._lines:
            self._loop.call_soon(self._end_of_turn)
        self._lines.append(encoded(record))

    def _end_of_turn(self) -> None:
        try:
            self._write_pending()
        except Exception as exc:  # a loop callback's error would only be logged: a worker raises it
            self._error = exc

    def _write_pending(self) -> None:
        lines, self._lines = self._lines, []
        if lines:
            self._sink.write_lines(lines)

    def flush(self) -> None:
        """Write what is pending now (the job ended or stops); raise the error a write met."""
        if self._error is None:
            self._write_pending()
        if self._error is not None:
            raise self._error


def journal_path(path: Path) -> Path:
    """Where a Parquet output's rows go until the job ends (`OUT.parquet.partial.jsonl`)."""
    return path.with_name(path.name + ".partial.jsonl")


def answers_so_far(output: str | os.PathLike[str]) -> Path:
    """Where an unfinished job's answers are: the output itself, or a Parquet output's journal."""
    path = Path(output)
    return journal_path(path) if file_format(path, "output") == "parquet" else path


class ParquetSink(Sink):
    def __init__(self, path: Path, *, string_ids: bool) -> None:
        super().__init__(path)
        self.journal = JsonlSink(journal_path(path), locked=False)  # under this sink's lock
        self.string_ids = string_ids
        self._kept_from_final = False

    def _open(self, resume: bool) -> set[Any]:
        done: set[Any] = set()
        if self.path.exists():
            _refuse_to_overwrite(self.path, resume)
            # A finished run: its answers stay, in the new file, with the rows answered now.
            for record in _parquet_records(self.path):
                if record.get("error") is None:
                    done.add(resume_key(record["id"]))
            self._kept_from_final = True
        elif self.journal.path.exists() and not resume:
            raise BulkUsageError(
                f"an unfinished run left {str(self.journal.path)!r}: pass --resume (resume=True) to "
                "continue it, or remove it"
            )
        return done | self.journal.open(resume=True)

    def write_lines(self, lines: list[bytes]) -> None:
        self.journal.write_lines(lines)

    def _close(self, complete: bool) -> None:
        self.journal.close(complete)
        if not complete:
            return
        pa = require("pyarrow", "Writing Parquet", "bulk")
        parquet = require("pyarrow.parquet", "Writing Parquet", "bulk")
        schema = pa.schema(
            [
                ("id", pa.string() if self.string_ids else pa.int64()),
                ("result", pa.string()),
                ("text", pa.string()),
                ("error", pa.string()),
                ("error_type", pa.string()),
                ("status_code", pa.int32()),
                ("provider", pa.string()),
                ("model", pa.string()),
                ("request_id", pa.string()),
                ("attempts", pa.int32()),
                ("latency_s", pa.float64()),
                ("input_tokens", pa.int64()),
                ("output_tokens", pa.int64()),
            ]
        )
        partial = self.path.with_name(self.path.name + ".writing")
        with parquet.ParquetWriter(partial, schema) as writer:
            batch: list[dict[str, Any]] = []
            for record in self._all_records():
                batch.append(record)
                if len(batch) >= PARQUET_BATCH_ROWS:
                    writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                    batch = []
            if batch:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
        partial.replace(self.path)
        self.journal.path.unlink()

    def _all_records(self) -> Iterator[dict[str, Any]]:
        if self._kept_from_final:
            for record in _parquet_records(self.path):
                if record.get("error") is None:
                    yield record  # already in the Parquet shape
        for record in _jsonl_records(self.journal.path):
            if record.get("result") is not None and not isinstance(record["result"], str):
                record["result"] = jsonutil.dumps(record["result"]).decode()
            if self.string_ids and record.get("id") is not None:
                record["id"] = str(record["id"])
            yield record


def _jsonl_records(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a JSONL output or journal. A line that is JSON but not a record means the file
    is not a job's output: resuming would rewrite it without that line, so it is refused."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = jsonutil.loads(line)
            except jsonutil.JSONDecodeError:  # the last line of a killed run, cut short
                continue
            if not isinstance(record, dict) or not record.keys() >= _RECORD_KEYS:
                raise BulkUsageError(
                    f"output {str(path)!r}: line {number} is not a record of a bulk job (no "
                    f"{'/'.join(sorted(_RECORD_KEYS))} fields); resuming would rewrite the file without it. "
                    "Is it the right file?"
                )
            yield record


_RECORD_KEYS = frozenset({"id", "result", "error"})  # what every record has, whatever wrote it


def _parquet_records(path: Path) -> Iterator[dict[str, Any]]:
    parquet = require("pyarrow.parquet", "Reading Parquet", "bulk")
    with parquet.ParquetFile(path) as handle:
        missing = [name for name in FIELDS if name not in handle.schema_arrow.names]
        if missing:
            raise BulkUsageError(
                f"output {str(path)!r} is not a bulk job's output (no column {', '.join(map(repr, missing))}); "
                "resuming would replace it. Is it the right file?"
            )
        for batch in handle.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            yield from batch.to_pylist()


def _keep_answered(path: Path) -> set[Any]:
    """Rewrite `path` with only its answered rows (streamed, atomically); their ids."""
    done: set[Any] = set()
    kept = path.with_name(path.name + ".resume")
    try:
        with kept.open("wb") as out:
            for record in _jsonl_records(path):
                if record.get("error") is None and resume_key(record["id"]) not in done:
                    done.add(resume_key(record["id"]))
                    out.write(encoded(record))
    except BaseException:
        kept.unlink(missing_ok=True)  # the output stays as it was
        raise
    kept.replace(path)
    return done


def resume_key(value: Any) -> str:
    """An id as the resume index holds it: text, so an id read back from a Parquet output (where ids of
    an id column are stored as text) matches the input's int."""
    return value if isinstance(value, str) else str(row_key(value))


def row_key(value: Any) -> Any:
    """An id as the resume index holds it: scalars as they are, anything else as its JSON text."""
    return value if isinstance(value, (str, int, float, bool)) or value is None else jsonutil.dumps(value).decode()
