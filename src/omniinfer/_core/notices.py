"""The library's progress notices on stderr (a model's download, its loading, a lost Ray batch).

They are on unless `OMNIINFER_QUIET` is set (the command line's `--quiet` sets it) or a quiet bulk
job is running in this process (`omniinfer.bulk.run(..., quiet=True)`: nothing on stderr, whatever
the provider). The switch is process-wide, as stderr is.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_silencers = 0  # quiet jobs running now


def quiet() -> bool:
    return _silencers > 0 or os.environ.get("OMNIINFER_QUIET", "") not in ("", "0")


def notice(message: str) -> None:
    """`omniinfer: message` on stderr, unless the notices are off."""
    if not quiet():
        print(f"omniinfer: {message}", file=sys.stderr, flush=True)


@contextmanager
def silenced(active: bool = True) -> Iterator[None]:
    """No notices while the block runs (when `active`)."""
    global _silencers
    if not active:
        yield
        return
    with _lock:
        _silencers += 1
    try:
        yield
    finally:
        with _lock:
            _silencers -= 1
