"""Input rows, streamed: JSONL, CSV or Parquet by the file's extension, or any iterable of mappings.
JSONL and CSV may be compressed (`.gz`, `.bz2`, `.xz`, `.zst`: decompressed as they are read).

A source knows its columns before the first row is used (the job checks them before sending
anything) and, when it is cheap, how many rows it holds (for the progress bar's total).
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import itertools
import lzma
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from pathlib import Path
from typing import Any

from omniinfer._core import jsonutil
from omniinfer._core.optional import require, zstd_module
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


def _zstd_file(path: Path, mode: str) -> Any:
    module = zstd_module()  # the binding the HTTP layer decodes zstd answers with
    if module is None:
        raise BulkUsageError(f"input {str(path)!r}: reading .zst needs Python 3.14 or `pip install backports.zstd`")
    return module.ZstdFile(path, mode) if hasattr(module, "ZstdFile") else module.open(path, mode)  # else zstandard


# Compressed text inputs, by their last extension: the one before it says the format (`.jsonl.gz`).
_DECOMPRESSING: dict[str, Callable[..., Any]] = {
    ".gz": gzip.GzipFile,
    ".bz2": bz2.BZ2File,
    ".xz": lzma.LZMAFile,
    ".zst": _zstd_file,
}


def input_format(path: Path) -> str:
    """An input's format by its extension, under a compression extension if there is one."""
    inner = path.with_suffix("") if path.suffix.lower() in _DECOMPRESSING else path
    kind = file_format(inner, "input")
    if inner is not path and kind == "parquet":
        raise BulkUsageError(f"input {str(path)!r}: Parquet compresses itself; give the .parquet file as it is")
    return kind


def _open_bytes(path: Path) -> Any:
    """The file's bytes, decompressed as they are read when its extension says so."""
    opener = _DECOMPRESSING.get(path.suffix.lower())
    return path.open("rb") if opener is None else opener(path, "rb")


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
        kind = input_format(path)
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
    handle = _open_bytes(path)
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
    # With or without the byte order mark Excel writes.
    handle = io.TextIOWrapper(_open_bytes(path), encoding="utf-8-sig", newline="")
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
    with _open_bytes(path) as handle:
        while block := handle.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (0 if last == b"\n" else 1)
