"""Input rows, streamed: JSONL, CSV or Parquet by the file's extension, or any iterable of mappings.

A source knows its columns before the first row is used (the job checks them before sending
anything) and, when it is cheap, how many rows it holds (for the progress bar's total).
"""

from __future__ import annotations

import csv
import itertools
import os
from collections.abc import Iterable, Iterator, Mapping, Sized
from pathlib import Path
from typing import Any

from omniinfer._core import jsonutil
from omniinfer._core.optional import require
from omniinfer.bulk.tasks import BulkUsageError

PARQUET_BATCH_ROWS = 4096  # rows decoded at once: bounds memory whatever the file's size
BAD_ROW = "__omniinfer_bad_row__"  # a row the reader could not decode: its record says why
UTF8_BOM = b"\xef\xbb\xbf"
_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def file_format(path: Path, what: str) -> str:
    try:
        return _FORMATS[path.suffix.lower()]
    except KeyError:
        raise BulkUsageError(
            f"{what} {str(path)!r}: expected a .jsonl, .csv or .parquet file (by its extension)"
        ) from None


class Source:
    """Rows to process: `columns` (None when unknown), `rows()` once, `count()` when known."""

    def __init__(self, columns: list[str] | None, rows: Iterator[Mapping[str, Any]], *, text_values: bool = False):
        self.columns = columns
        self._rows = rows
        self.text_values = text_values  # CSV: every value is a string
        self.total: int | None = None

    def rows(self) -> Iterator[Mapping[str, Any]]:
        return self._rows


def open_source(given: str | os.PathLike[str] | Iterable[Mapping[str, Any]], *, count: bool = False) -> Source:
    """A source for a path (str or Path) or for rows in memory: a list, a generator, a Hugging Face
    dataset, a pandas DataFrame, a pyarrow Table or RecordBatch."""
    if isinstance(given, (str, os.PathLike)):
        path = Path(given)
        kind = file_format(path, "input")
        if not path.is_file():
            raise BulkUsageError(f"input {str(path)!r}: no such file")
        source = {"jsonl": _jsonl, "csv": _csv, "parquet": _parquet}[kind](path)
        if count and source.total is None:
            source.total = _count_lines(path) - (1 if kind == "csv" else 0)
        return source
    table = _table_source(given)
    if table is not None:
        return table
    if isinstance(given, Mapping) or not isinstance(given, Iterable):
        raise BulkUsageError(
            f"rows_or_path: expected a file path or an iterable of rows (mappings), got {type(given).__name__}"
        )
    total = len(given) if isinstance(given, Sized) else None
    iterator = iter(given)
    first = next(iterator, None)
    if first is None:
        source = Source(None, iter(()))
    else:
        if not isinstance(first, Mapping):
            raise BulkUsageError(
                f"rows_or_path: each row must be a mapping of column -> value, got {type(first).__name__}"
            )
        source = Source(list(first), itertools.chain((first,), iterator))
    source.total = total
    return source


def _table_source(given: Any) -> Source | None:
    """The rows of a table in memory, streamed (a DataFrame iterates over its column names, a
    pyarrow Table over its columns: neither gives rows). Told apart by what they have, so that none
    of those libraries is imported for it. A missing value (None, NaN, pandas' NA) is None."""
    columns = getattr(given, "columns", None)
    if hasattr(given, "to_batches") and hasattr(given, "schema"):  # pyarrow.Table
        rows: Iterator[Mapping[str, Any]] = (
            row for batch in given.to_batches(max_chunksize=PARQUET_BATCH_ROWS) for row in batch.to_pylist()
        )
        names = list(given.schema.names)
    elif hasattr(given, "to_pylist") and hasattr(given, "schema"):  # pyarrow.RecordBatch
        rows, names = iter(given.to_pylist()), list(given.schema.names)
    elif hasattr(given, "itertuples") and columns is not None:  # pandas.DataFrame
        names = [str(name) for name in columns]
        rows = (_present(dict(zip(names, values, strict=True))) for values in given.itertuples(index=False, name=None))
    else:
        return None
    source = Source(names, rows)
    source.total = len(given)
    return source


def _present(row: dict[str, Any]) -> dict[str, Any]:
    """A DataFrame row with its missing values (NaN, pandas' NA and NaT) as None."""
    for name, value in row.items():
        if (isinstance(value, float) and value != value) or type(value).__name__ in ("NAType", "NaTType"):
            row[name] = None
    return row


def _jsonl(path: Path) -> Source:
    """The columns are the first good row's: lines before it that are not JSON objects are still
    rows (each recorded with its error), but they say nothing of the columns."""
    handle = path.open("rb")
    leading: list[dict[str, Any]] = []
    first: dict[str, Any] | None = None
    number = 0
    for number, line in enumerate(handle, 1):
        if number == 1:
            line = line.removeprefix(UTF8_BOM)  # as some editors and Excel save UTF-8
        if line.strip():
            row = _json_row(line, number)
            if BAD_ROW not in row:
                first = row
                break
            leading.append(row)

    def rows() -> Iterator[Mapping[str, Any]]:
        with handle:
            yield from leading
            if first is None:
                return
            yield first
            for index, line in enumerate(handle, number + 1):
                if line.strip():
                    yield _json_row(line, index)

    if first is None and not leading:
        handle.close()
        return Source(None, iter(()))
    return Source(None if first is None else list(first), rows())


def _json_row(line: bytes, number: int) -> Any:
    try:
        row = jsonutil.loads(line)
    except jsonutil.JSONDecodeError as exc:
        row = {BAD_ROW: f"line {number} is not JSON: {exc}"}
    if not isinstance(row, dict):
        row = {BAD_ROW: f"line {number} is not a JSON object"}
    return row


def _csv(path: Path) -> Source:
    handle = path.open(newline="", encoding="utf-8-sig")  # with or without the BOM Excel writes
    reader = csv.DictReader(handle)
    columns = list(reader.fieldnames or [])

    def rows() -> Iterator[Mapping[str, Any]]:
        with handle:
            for row in reader:
                # An empty cell is a missing value, as in Parquet's nulls.
                yield {k: (v if v != "" else None) for k, v in row.items() if k is not None}

    return Source(columns, rows(), text_values=True)


def _parquet(path: Path) -> Source:
    parquet = require("pyarrow.parquet", "Reading Parquet", "bulk")
    handle = parquet.ParquetFile(path)
    columns = list(handle.schema_arrow.names)

    def rows() -> Iterator[Mapping[str, Any]]:
        with handle:
            for batch in handle.iter_batches(batch_size=PARQUET_BATCH_ROWS):
                yield from batch.to_pylist()

    source = Source(columns, rows())
    source.total = handle.metadata.num_rows
    return source


def _count_lines(path: Path) -> int:
    count, last = 0, b"\n"
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (0 if last == b"\n" else 1)
