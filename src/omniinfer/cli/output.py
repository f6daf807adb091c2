"""What the command line writes: answers on stdout, notices and progress on stderr (`--quiet`
silences those), results as JSON, and images/audio/video into files."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from omniinfer._core.console import Heartbeat, is_terminal

PROG = "omniinfer"


class Reporter:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def notice(self, message: str) -> None:
        if not self.quiet:
            print(f"{PROG}: {message}", file=sys.stderr, flush=True)

    @contextmanager
    def waiting(self, what: str, after: float = 2.0, every: float = 10.0) -> Iterator[None]:
        """Say on stderr that a long call is still running: from `after` seconds on, refreshed in
        place on a terminal, else one line every `every` seconds."""
        if self.quiet:
            yield
            return
        terminal = is_terminal(sys.stderr)
        started = time.monotonic()
        shown = False

        def tick() -> None:
            nonlocal shown
            elapsed = time.monotonic() - started
            if terminal:
                print(f"\r{PROG}: {what}… {elapsed:.0f} s", end="", file=sys.stderr, flush=True)
                shown = True
            else:
                print(f"{PROG}: {what}… {elapsed:.0f} s", file=sys.stderr, flush=True)

        heartbeat = Heartbeat(1.0 if terminal else every, tick, first=after)
        try:
            yield
        finally:
            heartbeat.stop()
            if shown:
                print("\r\033[K", end="", file=sys.stderr, flush=True)


def to_jsonable(value: Any) -> Any:
    """Typed outputs are dicts; arrays and numpy scalars become lists and numbers."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def print_json(value: Any) -> None:
    print(json.dumps(to_jsonable(value), ensure_ascii=False, indent=2))


def is_media(value: Any) -> bool:
    return isinstance(value, (bytes, bytearray)) or _is_image(value)


def _is_image(value: Any) -> bool:
    return type(value).__module__.startswith("PIL.") and hasattr(value, "save")


def write_media(value: Any, path: Path) -> dict[str, Any]:
    """Save an image (format from the file's extension, PNG without one) or raw bytes to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if _is_image(value):
        value.save(path, format=None if path.suffix else "PNG")
        return {"output": str(path), "kind": "image", "width": value.width, "height": value.height}
    path.write_bytes(bytes(value))
    return {"output": str(path), "kind": "bytes", "size": len(value)}
