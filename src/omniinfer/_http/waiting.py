"""Deadlines for waits on an asyncio loop without a timer per wait, and the queue of calls waiting
for a free connection.

A loop timer made and cancelled for every wait costs far more in place than alone: uvloop keeps a
cancelled timer handle (a tracked container) until the next turn, and the garbage collector then
carries it (bench/RESULTS.md: ~30 µs of a bulk row's ~240 with a timeout set). So a connection keeps
one timer across its waits (`async_transport._Protocol.wait`), and the calls waiting for a
connection share one (`ConnectionQueue`).
"""

from __future__ import annotations

import asyncio
import heapq
import math
from collections import deque
from collections.abc import Callable

# A timer may fire a little before its time (uvloop counts in milliseconds): a wait this close to
# its deadline has reached it, rather than arming the timer again for the rest.
TIMER_SLACK = 0.001


class WaitExpired(Exception):
    """Raised into a wait whose deadline passed (the transport restates it for the caller)."""


class Alarm:
    """One loop timer for many deadlines, moved rather than made anew: `set_by(when)` arms it for
    `when` unless it goes off earlier already; when it goes off it calls `ring`, whose owner looks
    at what is due and sets it again for what is not."""

    __slots__ = ("_loop", "_ring", "_timer", "at")

    def __init__(self, loop: asyncio.AbstractEventLoop, ring: Callable[[], None]) -> None:
        self._loop = loop
        self._ring = ring
        self._timer: asyncio.TimerHandle | None = None
        self.at = math.inf  # when it goes off (loop time; inf: not set)

    def set_by(self, when: float) -> None:
        if when < self.at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._loop.call_at(when, self._went_off)
            self.at = when

    def cancel(self) -> None:
        """Off for good, or until set again (a timer left set would keep its owner alive)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer, self.at = None, math.inf

    def _went_off(self) -> None:
        self._timer, self.at = None, math.inf
        self._ring()


class ConnectionQueue:
    """The calls of one event loop waiting for a free connection, served in order (`wake_one`).
    Their deadlines share one timer: a timer per waiting call cost ~27 µs a call when 10,000 calls
    were gathered at once with `timeout=60`."""

    __slots__ = ("_alarm", "_due", "_loop", "_next_id", "_timed", "_waiters")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiters: deque[asyncio.Future[None]] = deque()
        # The deadlines, earliest first: (loop time, id). An entry stays after its call left (it is
        # dropped when it comes first); `_timed` holds the calls still waiting, by id.
        self._due: list[tuple[float, int]] = []
        self._timed: dict[int, asyncio.Future[None]] = {}
        self._next_id = 0
        self._alarm = Alarm(loop, self._deadlines_reached)

    def join(self, timeout: float | None) -> tuple[asyncio.Future[None], int]:
        """A place at the end of the queue: its future (done when a connection may be free, or
        WaitExpired after `timeout` seconds) and the id `leave` takes."""
        waiter = self._loop.create_future()
        self._waiters.append(waiter)
        ident = self._next_id
        self._next_id += 1
        if timeout is not None:
            deadline = self._loop.time() + timeout
            heapq.heappush(self._due, (deadline, ident))
            self._timed[ident] = waiter
            self._alarm.set_by(deadline)
        return waiter, ident

    def leave(self, waiter: asyncio.Future[None], ident: int, served: bool) -> None:
        """The call stops waiting: `served` (it was woken and goes on), or it expired or was
        cancelled. A call cancelled after it was woken passes its turn to the next one: else that
        place would go unused, and the others wait for another connection to come free."""
        self._timed.pop(ident, None)
        if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
            # Woken: `wake_one` took it off the queue (no scan of a long queue for it).
            if not served:
                self.wake_one()
            return
        try:
            self._waiters.remove(waiter)
        except ValueError:
            pass

    def wake_one(self) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _deadlines_reached(self) -> None:
        due, timed = self._due, self._timed
        now = self._loop.time() + TIMER_SLACK
        while due and due[0][0] <= now:
            waiter = timed.pop(heapq.heappop(due)[1], None)
            if waiter is not None and not waiter.done():
                waiter.set_exception(WaitExpired())
        while due and due[0][1] not in timed:  # calls that left: their deadlines no longer count
            heapq.heappop(due)
        if due:
            self._alarm.set_by(due[0][0])
