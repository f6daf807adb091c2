"""Response framing by llhttp (Node.js's C parser) through `httptools`: the default backend.

llhttp is strict where it matters (chunk sizes, duplicate or conflicting Content-Length, bytes not
allowed in a header) and linear in its input; it has no size limits of its own, so the head is
bounded before it is fed (see `h1_parse`) and a chunked body may not spend more than `MAX_LINE`
bytes without progress (a chunk-size line, an extension, the trailers).
"""

from __future__ import annotations

from httptools import HttpParserError, HttpResponseParser

from omniinfer._http.h1_parse import MAX_LINE, Head, ParserBase
from omniinfer.errors import ProtocolError


class LlhttpParser(ParserBase):
    __slots__ = ("_headers", "_headers_done", "_idle", "_parser", "_progress", "_reason")

    def reset(self) -> None:
        super().reset()
        self._parser: HttpResponseParser | None = None
        self._headers: dict[str, str] = {}
        self._reason = ""
        self._progress = 0  # callbacks that moved the body forward
        self._idle = 0  # bytes fed since the last of them

    # llhttp's callbacks, called from inside feed_data.

    def on_status(self, status: bytes) -> None:
        self._reason += status.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._headers_done:
            return  # trailers: not headers, and the head was handed out already
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1").strip()
        headers = self._headers
        headers[key] = f"{headers[key]}, {text}" if key in headers else text

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_message_begin(self) -> None:
        if self._head is not None:  # a second message behind ours: the connection is not reusable
            self._extra = True

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

    def _start(self, head_bytes: bytes, method: str) -> Head | None:
        self._headers = {}
        self._reason = ""
        self._headers_done = False
        parser = HttpResponseParser(self)
        try:
            parser.feed_data(head_bytes)
        except HttpParserError as exc:
            raise ProtocolError(f"Malformed response head: {_reason(exc)}: {head_bytes[:80]!r}") from None
        if not self._headers_done:  # our end-of-head was not llhttp's (a bare CR, say)
            raise ProtocolError(f"Malformed response head: {head_bytes[:80]!r}")
        status = parser.get_status_code()
        if status < 200:
            self.complete = False
            if status == 101:
                raise ProtocolError("The server switched protocols (101): not an answer to this request")
            return None
        self._parser = parser
        return Head(status, self._reason, self._headers, parser.should_keep_alive())

    def _feed(self) -> None:
        parser = self._parser
        if parser is None:
            return
        data = self._take_pending()
        before = self._progress
        try:
            parser.feed_data(data)
        except HttpParserError as exc:
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
