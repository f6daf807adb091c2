"""Server-sent events: bytes in, `data` payloads out. Pure; one decoder per stream.

Follows the SSE framing rules (lines end with LF, CRLF or CR; `data:` lines accumulate; a blank
line dispatches; comments and other fields are ignored), with one leniency that real servers need:
data still pending when the body ends is dispatched rather than dropped.
"""

from __future__ import annotations


class SSEDecoder:
    __slots__ = ("_data", "_tail")

    def __init__(self) -> None:
        self._tail = b""
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        """Decode one piece of the body; returns the payloads of the events it completes."""
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
        self._tail = tail
        return events

    def _lines(self, lines: list[bytes], events: list[bytes]) -> None:
        for line in lines:
            if not line:
                self._dispatch(events)
            elif line.startswith(b"data:"):
                value = line[5:]
                self._data.append(value[1:] if value.startswith(b" ") else value)

    def _dispatch(self, events: list[bytes]) -> None:
        data = self._data
        if data:
            events.append(data[0] if len(data) == 1 else b"\n".join(data))
            self._data = []

    def close(self) -> list[bytes]:
        """The body ended: dispatch what is still pending (a last line without its blank line)."""
        events = self.feed(b"\n\n") if self._tail.rstrip(b"\r") else self.feed(b"\n")
        self._tail = b""
        return events
