"""The job's writer on the event loop: one write per loop turn, nothing kept past it, errors raised."""

from __future__ import annotations

import asyncio
import errno
import json
from pathlib import Path

import pytest

from omniinfer.bulk.writers import JsonlSink, TurnWriter


class CountingSink(JsonlSink):
    """A real JSONL sink that also counts its writes to the OS."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.writes: list[int] = []

    def write_lines(self, lines: list[bytes]) -> None:
        self.writes.append(len(lines))
        super().write_lines(lines)


class FullDiskSink(JsonlSink):
    def write_lines(self, lines: list[bytes]) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")


def record(number: int) -> dict[str, object]:
    return {"id": number, "result": {"n": number}, "error": None}


def lines_of(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_records_of_one_turn_reach_the_file_together_when_it_ends(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    sink = CountingSink(path)
    sink.open(resume=False)

    async def job() -> None:
        writer = TurnWriter(sink)
        for number in range(3):
            writer(record(number))
        assert path.read_bytes() == b""  # the turn has not ended
        await asyncio.sleep(0)
        assert [r["id"] for r in lines_of(path)] == [0, 1, 2]
        writer(record(3))
        await asyncio.sleep(0)
        writer(record(4))
        writer.flush()  # the job ends within a turn: what is pending goes now

    asyncio.run(job())
    sink.close(True)
    assert [r["id"] for r in lines_of(path)] == [0, 1, 2, 3, 4]
    assert sink.writes == [3, 1, 1]


def test_a_write_error_reaches_the_next_worker_and_the_end_of_the_job(tmp_path: Path) -> None:
    sink = FullDiskSink(tmp_path / "out.jsonl")
    sink.open(resume=False)

    async def job() -> None:
        writer = TurnWriter(sink)
        writer(record(0))
        await asyncio.sleep(0)  # the turn's write fails in a loop callback: kept, not only logged
        with pytest.raises(OSError, match="No space left"):
            writer(record(1))
        with pytest.raises(OSError, match="No space left"):
            writer.flush()

    asyncio.run(job())
    sink.close(False)


def test_a_short_write_is_followed_by_the_rest(tmp_path: Path) -> None:
    """A regular file may take part of a write (a disk filling up, a file size limit): the rest follows."""
    path = tmp_path / "out.jsonl"
    sink = JsonlSink(path)
    sink.open(resume=False)

    class ShortWrites:
        def __init__(self, handle: object) -> None:
            self.handle = handle

        def write(self, data: memoryview) -> int:
            return self.handle.write(data[:7])  # type: ignore[attr-defined, no-any-return]

        def close(self) -> None:
            self.handle.close()  # type: ignore[attr-defined]

    sink._handle = ShortWrites(sink._handle)
    sink.write_lines([json.dumps(record(n)).encode() + b"\n" for n in range(4)])
    sink.close(True)
    assert [r["id"] for r in lines_of(path)] == [0, 1, 2, 3]
