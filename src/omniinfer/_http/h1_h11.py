"""Response framing by h11 (pure Python): the fallback where `httptools` has no wheel.

h11 reads responses only as the client side of a connection that sent a request, so each response
gets a fresh h11 connection that is told a body-less request of the same method was sent (only the
method matters to the framing: a HEAD answer has no body). h11 bounds every line it buffers by
`max_incomplete_event_size`.
"""

from __future__ import annotations

import h11

from omniinfer._http.h1_parse import MAX_HEAD, Head, ParserBase
from omniinfer.errors import ProtocolError


class H11Parser(ParserBase):
    __slots__ = ("_conn", "_eof")

    def reset(self) -> None:
        super().reset()
        self._conn: h11.Connection | None = None
        self._eof = False

    def _start(self, data: bytes, end: int, method: str) -> Head | None:
        head_bytes = data[:end]
        if end < len(data):
            self.receive(data[end:])
        conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        conn.send(h11.Request(method=method, target="/", headers=[("Host", "omniinfer")]))
        conn.send(h11.EndOfMessage())
        try:
            conn.receive_data(head_bytes)
            event = conn.next_event()
        except h11.RemoteProtocolError as exc:
            raise ProtocolError(f"Malformed response head: {exc}: {head_bytes[:80]!r}") from None
        if isinstance(event, h11.InformationalResponse):
            if event.status_code == 101:
                raise ProtocolError("The server switched protocols (101): not an answer to this request")
            return None
        if not isinstance(event, h11.Response):
            raise ProtocolError(f"Malformed response head: {head_bytes[:80]!r}")
        headers: dict[str, str] = {}
        for raw_name, raw_value in event.headers:
            key = raw_name.decode("latin-1")
            value = raw_value.decode("latin-1")
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        connection = headers.get("connection", "").lower()
        keep_alive = event.http_version == b"1.1" and "close" not in connection
        self._conn = conn
        self._feed()  # a body framed as empty (Content-Length: 0) ends with no more bytes
        return Head(event.status_code, event.reason.decode("latin-1"), headers, keep_alive)

    def _feed(self) -> None:
        conn = self._conn
        if conn is None:
            return
        if self._pending:
            conn.receive_data(self._take_pending())
        if self._eof:
            conn.receive_data(b"")
        out = self._out
        try:
            while True:
                event = conn.next_event()
                if isinstance(event, h11.Data):
                    out.append(bytes(event.data))
                elif isinstance(event, h11.EndOfMessage):
                    self.complete = True
                    if conn.trailing_data[0]:
                        self._extra = True
                    return
                else:  # NEED_DATA (or a close the caller's eof() judges)
                    return
        except h11.RemoteProtocolError as exc:
            raise ProtocolError(f"Malformed response body: {exc}") from None

    def _end_of_body(self) -> None:
        # h11 ends a read-until-close body itself once told of the close.
        self._eof = True
        self._feed()
        self.complete = True
