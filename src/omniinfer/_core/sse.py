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
        lines = buf.split(b"\n")
        self._tail = lines.pop()
        events: list[bytes] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    events.append(data[0] if len(data) == 1 else b"\n".join(data))
                    data = self._data = []
            elif line.startswith(b"data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(b" ") else value)
        return events

    def close(self) -> list[bytes]:
        """The body ended: dispatch what is still pending (a last line without its blank line)."""
        events = self.feed(b"\n\n") if self._tail.rstrip(b"\r") else self.feed(b"\n")
        self._tail = b""
        return events
