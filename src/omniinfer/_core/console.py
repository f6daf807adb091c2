"""What the command line and bulk jobs share to talk on stderr: whether a stream is a terminal,
and a heartbeat that keeps a long wait visible while nothing else would print."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Heartbeat:
    """Calls `beat` every `period` seconds (the first time after `first`, default `period`) on a
    thread of its own, until `stop()`. A thread, not an event-loop timer: what it reports on may be
    a blocking call (a sync inference call, the Ray driver waiting for records)."""

    def __init__(self, period: float, beat: Callable[[], None], first: float | None = None) -> None:
        self._period = period
        self._first = period if first is None else first
        self._beat = beat
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="omniinfer-heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        wait = self._first
        while not self._stopped.wait(wait):
            self._beat()
            wait = self._period

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
