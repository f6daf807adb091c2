"""Response framing by llhttp (Node.js's C parser) through `httptools`: the default backend.

llhttp is strict where it matters (chunk sizes, duplicate or conflicting Content-Length, bytes not
allowed in a header) and linear in its input; it has no size limits of its own, so the head is
bounded before it is fed (see `h1_parse`) and a chunked body may not spend more than `MAX_LINE`
bytes without progress (a chunk-size line, an extension, the trailers).
"""

from __future__ import annotations

from httptools import HttpParserError, HttpResponseParser

from omniinfer._http.h1_parse import MAX_LINE, Head, ParserBase, parse_header_lines
from omniinfer.errors import ProtocolError


class LlhttpParser(ParserBase):
    __slots__ = ("_begun", "_headers_done", "_idle", "_keep_alive", "_parser", "_progress", "_status")

    def __init__(self) -> None:
        # One llhttp parser per connection: after a message it is ready for the next one.
        self._parser: HttpResponseParser | None = None
        # Set by each head's callbacks before they are read (see _start): reset() need not touch them.
        self._status = 0
        self._keep_alive = False
        self._begun = False
        self._headers_done = False
        super().__init__()

    def reset(self) -> None:
        super().reset()
        self._progress = 0  # callbacks that moved the body forward
        self._idle = 0  # bytes fed since the last of them

    # llhttp's callbacks, called from inside feed_data. There is deliberately no on_header: llhttp
    # validates the head, and the headers are then read from it in one pass (parse_header_lines).

    def on_headers_complete(self) -> None:
        self._headers_done = True
        parser = self._parser
        assert parser is not None
        # Read now: once the message completes (in the same feed) llhttp is ready for the next one.
        self._status = parser.get_status_code()
        self._keep_alive = parser.should_keep_alive()

    def on_message_begin(self) -> None:
        if self._begun:  # a second message behind ours: the connection is not reusable
            self._extra = True
        self._begun = True

    def on_body(self, body: bytes) -> None:
        if not self.complete:
            self._out.append(body)
            self._progress += 1

    def on_chunk_header(self) -> None:
        self._progress += 1

    def on_message_complete(self) -> None:
        if not self.complete:  # also while the head is fed: a head with Content-Length 0 ends there
            self.complete = True
            self._progress += 1

    def _start(self, data: bytes, end: int, method: str) -> Head | None:
        self._headers_done = False
        self._begun = False
        parser = self._parser
        if parser is None:
            parser = self._parser = HttpResponseParser(self)
        # llhttp skips blank lines before a status line; they would hide the status code from us.
        head_bytes = data[:end].lstrip(b"\r\n")
        # Usually the head and the body's first bytes go to llhttp in one call. A HEAD answer has no
        # body whatever it announces, and after an interim 1xx the next head is looked for again by
        # us: both get the head alone.
        whole = method != "HEAD" and head_bytes[9:10] != b"1"
        if not whole and end < len(data):
            self.receive(data[end:])
        try:
            parser.feed_data(data if whole else head_bytes)
        except HttpParserError as exc:
            self._parser = None
            if self.complete:
                self._extra = True  # garbage after a whole answer: ours stands, the connection does not
            else:
                where = "body" if self._headers_done else "head"
                raise ProtocolError(f"Malformed response {where}: {_reason(exc)}: {head_bytes[:80]!r}") from None
        if not self._headers_done:  # our end-of-head was not llhttp's (a bare CR, say)
            self._parser = None
            raise ProtocolError(f"Malformed response head: {head_bytes[:80]!r}")
        status = self._status
        if status < 200:
            self.complete = False
            self._begun = False
            if status == 101:
                raise ProtocolError("The server switched protocols (101): not an answer to this request")
            return None
        if method == "HEAD":  # llhttp would wait for the body the head announces: a new parser next time
            self._parser = None
        reason, headers = parse_header_lines(head_bytes, self._known_lines)
        return Head(status, reason, headers, self._keep_alive)

    def _feed(self) -> None:
        parser = self._parser
        if parser is None:
            return
        data = self._take_pending()
        before = self._progress
        try:
            parser.feed_data(data)
        except HttpParserError as exc:
            self._parser = None  # llhttp stops at an error: this connection is done
            if not self.complete:
                raise ProtocolError(f"Malformed response body: {_reason(exc)}") from None
            self._extra = True  # garbage after our message: ours stands, the connection does not
        if self.complete:
            return
        if self._progress != before:
            self._idle = 0
        else:
            self._idle += len(data)
            if self._idle > MAX_LINE:
                raise ProtocolError(f"A chunk-size line or the trailers exceed {MAX_LINE} bytes")


def _reason(exc: HttpParserError) -> str:
    return str(exc) or type(exc).__name__
