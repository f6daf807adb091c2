"""Server-sent events: bytes in, `data` payloads out. Pure; one decoder per stream.

Follows the SSE framing rules (lines end with LF, CRLF or CR; `data:` lines accumulate; a blank
line dispatches; comments and other fields are ignored), with one leniency that real servers need:
data still pending when the body ends is dispatched rather than dropped.

Linear in the body whatever its shape: a line longer than one piece is collected as a list of
pieces and joined once, when it ends. One event may hold `OMNIINFER_MAX_EVENT_BYTES` (64 MiB by
default); past that, ResponseTooLargeError.
"""

from __future__ import annotations

import os

from omniinfer.errors import ResponseTooLargeError


def max_event_bytes() -> int:
    return int(os.environ.get("OMNIINFER_MAX_EVENT_BYTES", 64 * 1024 * 1024))


class SSEDecoder:
    __slots__ = ("_data", "_data_size", "_limit", "_parts", "_parts_size", "_tail")

    def __init__(self) -> None:
        self._tail = b""
        self._parts: list[bytes] = []  # pieces of one line that has not ended yet (after `_tail`)
        self._parts_size = 0
        self._data: list[bytes] = []
        self._data_size = 0
        self._limit = max_event_bytes()

    def feed(self, chunk: bytes) -> list[bytes]:
        """Decode one piece of the body; returns the payloads of the events it completes."""
        if b"\n" not in chunk and b"\r" not in chunk and (self._tail or self._parts):
            # The middle of a long line: keep the piece, look at it once the line ends.
            self._parts.append(chunk)
            self._parts_size += len(chunk)
            self._check(self._parts_size + len(self._tail))
            return []
        if self._parts:
            buf = b"".join([self._tail, *self._parts, chunk])
            self._parts = []
            self._parts_size = 0
        else:
            buf = self._tail + chunk if self._tail else chunk
        if b"\r" in buf:
            # A CR at the very end may be the first half of a CRLF split across pieces: keep it.
            keep_cr = buf.endswith(b"\r")
            if keep_cr:
                buf = buf[:-1]
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if keep_cr:
                buf += b"\r"
        # Split into blocks at blank lines: nearly every block is one `data:` line, handled without
        # looking at it line by line (this loop runs once per streamed token).
        blocks = buf.split(b"\n\n")
        tail = blocks.pop()
        events: list[bytes] = []
        for block in blocks:
            if not self._data and block.startswith(b"data:") and b"\n" not in block:
                value = block[5:]
                events.append(value[1:] if value.startswith(b" ") else value)
            else:
                self._lines(block.split(b"\n"), events)
                self._dispatch(events)
        if b"\n" in tail:  # complete lines of a block whose blank line has not come yet
            lines = tail.split(b"\n")
            tail = lines.pop()
            self._lines(lines, events)
        self._check(len(tail) + self._data_size)
        self._tail = tail
        return events

    def _check(self, size: int) -> None:
        if size > self._limit:
            raise ResponseTooLargeError(
                f"A server-sent event is larger than {self._limit} bytes (OMNIINFER_MAX_EVENT_BYTES)"
            )

    def _lines(self, lines: list[bytes], events: list[bytes]) -> None:
        for line in lines:
            if not line:
                self._dispatch(events)
            elif line.startswith(b"data:"):
                value = line[5:]
                self._data.append(value[1:] if value.startswith(b" ") else value)
                self._data_size += len(value)
                if self._data_size > self._limit:
                    self._check(self._data_size)

    def _dispatch(self, events: list[bytes]) -> None:
        data = self._data
        if data:
            events.append(data[0] if len(data) == 1 else b"\n".join(data))
            self._data = []
            self._data_size = 0

    def close(self) -> list[bytes]:
        """The body ended: dispatch what is still pending (a last line without its blank line)."""
        events = self.feed(b"\n\n") if self._tail.rstrip(b"\r") else self.feed(b"\n")
        self._tail = b""
        return events
