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
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def _uvloop() -> Any:
    """The uvloop module, or None (not installed, or the standard loop asked for)."""
    if os.environ.get("OMNIINFER_EVENT_LOOP", "").lower() == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new loop of the kind bulk jobs run on."""
    uvloop = _uvloop()
    return asyncio.new_event_loop() if uvloop is None else uvloop.new_event_loop()


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on a loop of the kind bulk jobs run on (`uvloop.run` cleans up the same way:
    pending tasks cancelled, async generators and the default executor shut down, the loop closed)."""
    uvloop = _uvloop()
    if uvloop is None:
        return asyncio.run(main)
    result: T = uvloop.run(main)
    return result
