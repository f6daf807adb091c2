"""What every response parser shares: the head found and bounded by us, the body handed out with its
content decoding and size limit applied. The framing itself is the backend's (llhttp or h11).

A backend implements `_start(data, end, method)` (parse the complete head `data[:end]`: a Head, or
None for an interim 1xx answer; the bytes after it are the backend's to feed or to `receive`) and
`_feed()` (push the pending bytes through, appending body pieces to `_out`). The head is found here,
before the backend sees it, for two reasons: a head split into many tiny reads is joined once (the
backends concatenate header pieces per read, quadratic on a dribbling peer), and a head past
`MAX_HEAD` is refused before anything parses it.
"""

from __future__ import annotations

import re

from omniinfer.errors import InferenceConnectionError, ProtocolError, ResponseTooLargeError

MAX_HEAD = 256 * 1024  # status line and headers together
MAX_LINE = 64 * 1024  # bytes a chunked body may spend without progress: a chunk-size line, the trailers

_HEAD_END = re.compile(rb"\r?\n\r?\n")


def _head_end(data: bytes | bytearray, start: int) -> int:
    """Where the head ends (after its blank line), or -1. CRLF heads are found with one `find`;
    the regex is only for heads with bare LF line ends, which some servers send."""
    end = data.find(b"\r\n\r\n", start)
    if end >= 0 and data.find(b"\n\n", start, end) < 0 and data.find(b"\n\r\n", start, end + 4) == end + 1:
        return end + 4
    found = _HEAD_END.search(data, start)
    return -1 if found is None else found.end()


KNOWN_LINES_MAX = 64  # header lines a connection remembers parsed (see parse_header_lines)
KNOWN_LINE_MAX_CHARS = 256  # and how long each may be: a few KB a connection, whatever a server sends


def parse_header_lines(head: bytes, known: dict[str, tuple[str, str]] | None = None) -> tuple[str, dict[str, str]]:
    """The reason phrase and the headers (lower-cased names, repeats joined by ", ") of a head the
    backend has already validated: plain string splitting, far cheaper than a callback per header.

    `known`: lines already parsed, by their text (a connection's answers repeat most of their lines:
    `Server`, `Content-Type`, `Connection`...). A line found there costs a lookup instead of a split,
    a lower-casing and a strip (measured: 7.1 -> 4.6 µs for nginx's 6-line head). The dict is
    emptied when full; `Set-Cookie` lines, which may carry a session, and lines longer than
    `KNOWN_LINE_MAX_CHARS` are not kept."""
    text = head.decode("latin-1")
    if text.count("\n") == text.count("\r\n"):  # CRLF line ends only (the usual): no stripping of CRs
        lines = text.split("\r\n")
    else:
        lines = [line.rstrip("\r") for line in text.split("\n")]
    status_line = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    if known is None:
        known = {}
    for line in lines[1:]:
        pair = known.get(line)
        if pair is None:
            name, sep, value = line.partition(":")
            if not sep:
                continue
            pair = (name.lower(), value.strip(" \t"))
            if len(line) <= KNOWN_LINE_MAX_CHARS and pair[0] != "set-cookie":
                if len(known) >= KNOWN_LINES_MAX:
                    known.clear()
                known[line] = pair
        key, value = pair
        if key in headers:
            headers[key] = f"{headers[key]}, {value}"
        else:
            headers[key] = value
    return (status_line[2] if len(status_line) > 2 else ""), headers


class Head:
    """A response's status line and headers (lower-cased names; repeated headers joined by ", ").

    `framed`: the body's end is marked (Content-Length, chunked), so reaching it proves the server
    finished; False for a body that lasts until the connection closes (a cut looks the same).
    """

    __slots__ = ("framed", "headers", "keep_alive", "reason", "status")

    def __init__(
        self, status: int, reason: str, headers: dict[str, str], keep_alive: bool, framed: bool = True
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.keep_alive = keep_alive
        self.framed = framed


class Decoder:
    """Undoes a Content-Encoding piece by piece (see `encoding.py`)."""

    def decode(self, data: bytes, max_out: int = 0) -> bytes:
        """`data` decoded; ResponseTooLargeError past `max_out` bytes (0: no bound)."""
        raise NotImplementedError

    def flush(self) -> bytes:
        raise NotImplementedError


class ParserBase:
    """Parses one response at a time from a connection's bytes.

    `receive` takes bytes from the socket (never raises: errors surface in the caller's `head()` or
    `body()`); `head()` returns the head once complete; `body()` returns the body bytes decoded so
    far (framing and content encoding removed); `complete` is True once the message has ended;
    `eof()` tells the parser the peer closed; `buffered` counts bytes not yet consumed, and is
    non-zero after completion when the peer sent more than the message (the connection is then
    not reusable).
    """

    __slots__ = (
        "_close_delimited",
        "_decoder",
        "_extra",
        "_head",
        "_known_lines",
        "_out",
        "_pending",
        "_pending_len",
        "_pre",
        "_scan",
        "_taken",
        "body_limit",
        "complete",
    )

    def __init__(self) -> None:
        self._pending: list[bytes] = []
        self._pending_len = 0
        # Empty again whenever a head is found, and a connection with extra bytes is never reused:
        # so reset() need not touch these.
        self._pre = bytearray()
        self._scan = 0
        self._extra = False
        self._known_lines: dict[str, tuple[str, str]] = {}  # see parse_header_lines
        self.reset()

    def reset(self) -> None:
        """Ready for the next response on the same connection."""
        self._head: Head | None = None
        self._out: list[bytes] = []
        self._decoder: Decoder | None = None
        self._close_delimited = False
        self._taken = 0
        self.body_limit: int | None = None  # set by readers of whole bodies; streams have none
        self.complete = False

    def receive(self, data: bytes) -> None:
        if not data:  # the close is told by eof(); to h11, empty bytes would mean it
            return
        self._pending.append(data)
        self._pending_len += len(data)

    @property
    def buffered(self) -> int:
        return self._pending_len + self._extra

    def _take_pending(self) -> bytes:
        pending = self._pending
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        self._pending = []
        self._pending_len = 0
        return data

    def head(self, method: str = "POST") -> Head | None:
        head = self._head
        if head is not None:
            return head
        pending = self._pending
        if not pending:
            return None
        if len(pending) == 1 and not self._pre:
            # The usual case, a whole head in one read: no copy into the buffer, no gathering loop.
            data = pending[0]
            end = _head_end(data, 0)
            if 0 <= end <= MAX_HEAD:
                self._pending = []
                self._pending_len = 0
                head = self._start(data, end, method)
                if head is not None:
                    return self._begin(head, method)
                # an interim answer (100 Continue): what followed it is pending again
        return self._gathered_head(method)

    def _gathered_head(self, method: str) -> Head | None:
        """The head from bytes that came in pieces (or with bare LF line ends), joined once."""
        while True:
            if self._pre or len(self._pending) != 1:
                self._pre += self._take_pending()
                pre: bytes | bytearray = self._pre
            else:
                pre = self._take_pending()
            end = _head_end(pre, max(0, self._scan - 3))
            if end < 0:
                if len(pre) > MAX_HEAD:
                    raise ProtocolError(f"Response head larger than {MAX_HEAD} bytes")
                if pre is not self._pre:
                    self._pre += pre
                self._scan = len(pre)
                return None
            if end > MAX_HEAD:
                raise ProtocolError(f"Response head larger than {MAX_HEAD} bytes")
            data = bytes(pre)  # a no-op for bytes; copies only a head that came in pieces
            if self._pre:
                self._pre = bytearray()
            self._scan = 0
            head = self._start(data, end, method)
            if head is not None:
                return self._begin(head, method)
            # else an interim answer (100 Continue): the real one follows

    def _begin(self, head: Head, method: str) -> Head:
        """The head is in: how the body is framed and encoded."""
        self._head = head
        if method in ("HEAD", "CONNECT") or head.status in (204, 304):
            self.complete = True
        else:
            headers = head.headers
            if "content-length" not in headers and not headers.get("transfer-encoding", "").lower().endswith("chunked"):
                self._close_delimited = True
                head.keep_alive = False
                head.framed = False
            coding = headers.get("content-encoding")
            if coding:
                from omniinfer._http.encoding import decoder_for

                self._decoder = decoder_for(coding)
        if self.complete:
            self._settle()
        return head

    def _settle(self) -> None:
        """The message ended: whatever else is pending belongs to no request of ours."""
        if self._pending_len:
            self._extra = True
            self._pending = []
            self._pending_len = 0

    def body(self) -> bytes:
        """Body bytes available now, framing and content encoding removed (b"" when none)."""
        if self._pending and not self.complete:
            self._feed()
        out = self._out
        if out:
            self._out = []
            piece = out[0] if len(out) == 1 else b"".join(out)
        else:
            piece = b""
        if self._decoder is not None:
            piece = self._decoded(piece)
        if self.body_limit is not None and piece:
            self._taken += len(piece)
            if self._taken > self.body_limit:
                raise ResponseTooLargeError(
                    f"The response body is larger than {self.body_limit} bytes (OMNIINFER_MAX_RESPONSE_BYTES)"
                )
        return piece

    def _decoded(self, piece: bytes) -> bytes:
        assert self._decoder is not None
        limit = self.body_limit
        if piece:
            piece = self._decoder.decode(piece, 0 if limit is None else limit - self._taken + 1)
        if self.complete:
            piece += self._decoder.flush()
        if limit is not None and self._taken + len(piece) > limit:
            raise ResponseTooLargeError(
                f"The decoded response body is larger than {limit} bytes (OMNIINFER_MAX_RESPONSE_BYTES)"
            )
        return piece

    def eof(self) -> None:
        """The peer closed. Fine for read-until-close bodies; anything else is a truncated answer."""
        if self._close_delimited and self._head is not None:
            self._end_of_body()
        elif not self.complete:
            raise InferenceConnectionError("Connection closed before the response was complete")

    # The backend's part.

    def _start(self, data: bytes, end: int, method: str) -> Head | None:
        raise NotImplementedError

    def _feed(self) -> None:
        raise NotImplementedError

    def _end_of_body(self) -> None:
        self.complete = True
