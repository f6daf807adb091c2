"""The event loop a bulk job runs on: uvloop's where it is installed (`pip install 'omniinfer[bulk]'`
brings it on Linux and macOS), else asyncio's.

A bulk job owns its loop (`bulk.run`, `bulk.results`, the Ray Mapper's thread), so it may choose the
faster one: uvloop's I/O and callbacks are in C, which cuts the client's CPU per row (bench/RESULTS.md).
`OMNIINFER_EVENT_LOOP=asyncio` keeps the standard loop (to compare, or to debug with asyncio's tools).
Jobs awaited in the caller's own loop (`bulk.arun`, `bulk.aresults`) run on whatever loop that is.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def _factory() -> Callable[[], asyncio.AbstractEventLoop]:
    if os.environ.get("OMNIINFER_EVENT_LOOP", "").lower() != "asyncio":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop
    return asyncio.new_event_loop


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new loop of the kind bulk jobs run on."""
    return _factory()()


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on a loop of the kind bulk jobs run on (same clean-up: pending tasks
    cancelled, async generators and the default executor shut down, the loop closed)."""
    factory = _factory()
    if factory is asyncio.new_event_loop:
        return asyncio.run(main)
    if sys.version_info >= (3, 11):
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(main)
    import uvloop  # Python 3.10: uvloop's own runner does what asyncio.Runner does

    return uvloop.run(main)
