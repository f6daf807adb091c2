"""What a job shows on stderr: a progress bar on a terminal (tqdm), a line every few seconds
otherwise (logs, CI), nothing when quiet; the summary is printed by the caller at the end.

Both keep going while no row completes (a heartbeat thread): a job whose server stopped answering
says so, instead of showing nothing (lines) or a frozen bar."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Mapping
from typing import Any, TextIO

from omniinfer._core.console import Heartbeat, is_terminal
from omniinfer.bulk.engine import Counters, Progress
from omniinfer.bulk.pacing import spoken_duration


def make_progress(quiet: bool, total: int | None, every: float = 5.0, stream: TextIO | None = None) -> Progress:
    if quiet:
        return Progress()
    out = stream if stream is not None else sys.stderr
    if is_terminal(out):
        try:
            return BarProgress(total, out)
        except ImportError:  # no tqdm: lines work everywhere
            pass
    return LineProgress(total, out, every)


def _width(stream: Any) -> int:
    import os

    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return 0


def _postfix(counters: Counters) -> str:
    tokens = counters.input_tokens + counters.output_tokens
    return f"errors={counters.failed} tokens={tokens}"


class BarProgress(Progress):
    """tqdm's bar: rows done/total, rows/s and ETA, with errors and tokens after it."""

    def __init__(self, total: int | None, stream: TextIO) -> None:
        from tqdm import tqdm  # no stubs shipped: see the mypy override in pyproject.toml

        sized = _width(stream) > 0  # a fresh pseudo-terminal says 0 columns: then draw 80
        self._bar = tqdm(
            total=total,
            unit="row",
            file=stream,
            dynamic_ncols=sized,
            ncols=None if sized else 80,
            nrows=None if sized else 24,
            mininterval=0.2,
            smoothing=0.1,
        )
        self._shown = 0.0
        self._counters = Counters()
        # tqdm redraws on updates only: without rows its elapsed time would stand still.
        self._heartbeat = Heartbeat(1.0, self._bar.refresh)

    def row(self, record: Mapping[str, Any], counters: Counters) -> None:
        self._counters = counters
        self._bar.update(1)
        now = time.monotonic()
        if now - self._shown >= 0.5:  # the postfix is a format call: not for every row
            self._shown = now
            self._bar.set_postfix_str(_postfix(counters), refresh=False)

    def skipped(self, counters: Counters) -> None:
        self._bar.update(1)

    def close(self) -> None:
        self._heartbeat.stop()
        self._bar.set_postfix_str(_postfix(self._counters), refresh=False)
        self._bar.close()


class LineProgress(Progress):
    """One line every `every` seconds: `rows 1200/20000 (6%) 198.3 rows/s errors=0 tokens=... eta 1 min 25 s`,
    also while no row completes (then saying for how long none has)."""

    def __init__(self, total: int | None, stream: TextIO, every: float) -> None:
        self._total = total
        self._stream = stream
        self._every = every
        self._started = self._last_row = time.monotonic()
        self._next = self._started + every
        self._done = 0
        self._counters = Counters()
        self._printing = threading.Lock()  # the rows' thread and the heartbeat's
        self._heartbeat = Heartbeat(every, self._beat) if every > 0 else None

    def row(self, record: Mapping[str, Any], counters: Counters) -> None:
        self._done += 1
        self._counters = counters
        now = self._last_row = time.monotonic()
        if now >= self._next:  # read without the lock: taken only to print
            self._print_due(now)

    def skipped(self, counters: Counters) -> None:
        self._done += 1
        self._counters = counters

    def _beat(self) -> None:
        self._print_due(time.monotonic())

    def _print_due(self, now: float) -> None:
        with self._printing:
            if now < self._next:  # the other thread printed it
                return
            self._next = now + self._every
            self._line(self._counters, now)

    def _line(self, counters: Counters, now: float) -> None:
        elapsed = max(now - self._started, 1e-9)
        sent = counters.succeeded + counters.failed
        rate = sent / elapsed
        done = f"{self._done}/{self._total} ({100 * self._done / self._total:.0f}%)" if self._total else str(self._done)
        eta = ""
        if self._total and rate > 0:
            eta = f" eta {spoken_duration((self._total - self._done) / rate)}"
        quiet_for = now - self._last_row
        stalled = f"; no row completed for {spoken_duration(quiet_for)}" if quiet_for >= max(self._every, 1.0) else ""
        print(
            f"omniinfer bulk: rows {done} {rate:.1f} rows/s {_postfix(counters)}{eta}{stalled}",
            file=self._stream,
            flush=True,
        )

    def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
