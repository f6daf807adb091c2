"""What a response over a pooled connection is, whichever client reads it: its head, the
connection it holds until the body is read, and the return of that connection to its pool."""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

from omniinfer._http.h1 import Head
from omniinfer._http.h1_parse import ParserBase
from omniinfer.errors import InferenceError


class Connection(Protocol):
    parser: ParserBase

    @property
    def lost(self) -> bool: ...

    def close(self) -> None: ...


ConnT = TypeVar("ConnT", bound=Connection)
ConnT_contra = TypeVar("ConnT_contra", bound=Connection, contravariant=True)


class Pool(Protocol[ConnT_contra]):
    max_body: int  # the most a whole body may hold, decoded (OMNIINFER_MAX_RESPONSE_BYTES)

    def _put(self, conn: ConnT_contra) -> None: ...


class ResponseBase(Generic[ConnT]):
    """The sync and async responses' shared part (their reading loops differ: sockets or asyncio)."""

    __slots__ = ("_conn", "_deadline", "_read_timeout", "_transport", "head", "url")

    def __init__(
        self,
        transport: Pool[ConnT],
        conn: ConnT,
        head: Head,
        url: str,
        read_timeout: float | None,
        deadline: float | None,
    ) -> None:
        self._transport = transport
        self._conn: ConnT | None = conn
        self.head = head
        self.url = url
        self._read_timeout = read_timeout
        self._deadline = deadline

    def _whole_body(self) -> bytes | None:
        """The body when all of it came with the head (the usual small answer), read with no waiting
        and no generator; None when more is to come. Sets the size limit of a whole body either way."""
        conn = self._conn
        if conn is None:
            return None
        parser = conn.parser
        parser.body_limit = self._transport.max_body
        if not parser.complete:
            return None
        try:
            body = parser.body()
        except InferenceError as exc:  # the parser's typed errors (too large, malformed, undecodable)
            self.close()
            exc.url = exc.url or self.url
            raise
        except BaseException:
            self.close()
            raise
        self._release()
        return body

    def _release(self) -> None:
        """The body was read to its end: the connection goes back to the pool if it can be reused."""
        conn, self._conn = self._conn, None
        if conn is not None:
            parser = conn.parser
            if self.head.keep_alive and parser.complete and not parser.buffered and not conn.lost:
                parser.reset()
                self._transport._put(conn)
            else:
                conn.close()

    def close(self) -> None:
        """Give up on the rest of the body: the connection cannot be reused."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
