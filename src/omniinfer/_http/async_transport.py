"""HTTP/1.1 on asyncio protocols over a keep-alive pool: the only place the async client does I/O.

A protocol object per connection feeds the shared sans-I/O parser with what the socket delivers into
one read buffer per event loop; waiting is one future per wait, with deadlines enforced by one loop
timer per connection, kept across its waits (rather than `wait_for` tasks, or a timer per wait).
"""

from __future__ import annotations

import asyncio
import math
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

from omniinfer._core.records import Request
from omniinfer._core.stepping import wait_budget
from omniinfer._core.timeouts import ConnectTimeoutError
from omniinfer._http.h1 import Origin, RequestEncoder, ResponseParser, max_response_bytes, split_url
from omniinfer._http.proxy import Proxy, ProxySettings, connect_request, proxy_for, tunnel_refused
from omniinfer._http.readiness import ReadinessProbe
from omniinfer._http.response import ResponseBase
from omniinfer._http.waiting import TIMER_SLACK, Alarm, ConnectionQueue, WaitExpired
from omniinfer.errors import InferenceConnectionError, InferenceTimeoutError, ProtocolError

_MAX_IDLE_PER_ORIGIN = 512
_HIGH_WATER = 1 << 20  # pause reading when a slow consumer leaves this much unread


_READ_SIZE = 64 * 1024
_read_buffers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, memoryview] = weakref.WeakKeyDictionary()


def _read_buffer(loop: asyncio.AbstractEventLoop) -> memoryview:
    """The buffer this loop's sockets are read into. Reads are copied out at once and a loop runs one
    callback at a time, so its connections can share it. Why not asyncio's `data_received`: it
    allocates 256 KiB per read, which glibc serves with mmap, shrinks with mremap and frees with
    munmap, three system calls per read (measured at 5% of an async call's CPU)."""
    buffer = _read_buffers.get(loop)
    if buffer is None:
        buffer = _read_buffers[loop] = memoryview(bytearray(_READ_SIZE))
    return buffer


class _Protocol(asyncio.BufferedProtocol):
    def __init__(self, origin: Origin, loop: asyncio.AbstractEventLoop) -> None:
        self.origin = origin
        self.loop = loop  # a connection lives and dies with the event loop that opened it
        self.buffer = _read_buffer(loop)
        self.probe: ReadinessProbe | None = None
        self.parser = ResponseParser()
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[None] | None = None
        # The current wait's deadline (loop time; inf: none) and the one timer that enforces it, kept
        # across waits (see `wait`; made on the first wait with a timeout).
        self.wait_deadline = math.inf
        self.alarm: Alarm | None = None
        self.lost = False
        self.lost_exc: BaseException | None = None
        self.reused = False
        self.idle = False  # in the pool, between two requests
        self.paused = False
        self.on_gone: Callable[[], None] | None = None  # frees this connection's place in the limit
        # Set ("" or credentials) on a plain-http connection to a proxy: requests go in absolute form.
        self.proxy_authorization: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(self.buffer[:nbytes].tobytes())

    def data_received(self, data: bytes) -> None:
        if self.idle:
            # Bytes no request asked for: reading them later would hand a call an answer that is
            # not its own. The connection is done.
            self.close()
            return
        self.parser.receive(data)
        if self.parser.buffered > _HIGH_WATER and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool | None:
        self.lost = True
        self._wake()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.lost_exc = exc
        self._gone()
        self._wake()
        self._disarm()

    def _gone(self) -> None:
        on_gone, self.on_gone = self.on_gone, None
        if on_gone is not None:
            on_gone()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, timeout: float | None) -> None:
        """Until more bytes arrive or the peer closes; WaitExpired after `timeout` seconds."""
        if self.paused and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        # The connection's own loop, the one running: asking asyncio for it costs a getpid() system
        # call on Python 3.11, and a system call costs a call several times its own time here.
        loop = self.loop
        waiter = self.waiter = loop.create_future()
        if timeout is not None:
            # One timer per connection, not one per wait: a timer made and cancelled for every answer
            # cost a bulk row ~30 µs of its ~240 (uvloop keeps a cancelled timer until the next turn,
            # and the garbage collector took most of it). The deadline of each wait is noted; the
            # timer, armed for the earliest one, looks at the wait in progress when it fires.
            deadline = self.wait_deadline = loop.time() + timeout
            alarm = self.alarm
            if alarm is None:
                alarm = self.alarm = Alarm(loop, self._deadline_reached)
            alarm.set_by(deadline)
        try:
            await waiter
        finally:
            self.waiter = None
            self.wait_deadline = math.inf

    def _deadline_reached(self) -> None:
        waiter, deadline = self.waiter, self.wait_deadline
        if waiter is None or waiter.done() or deadline == math.inf:
            return  # no wait in progress: the next one sets the alarm again
        if self.loop.time() + TIMER_SLACK >= deadline:
            waiter.set_exception(WaitExpired())
        elif self.alarm is not None:  # a later wait than the one the alarm was set for
            self.alarm.set_by(deadline)

    def readable(self) -> bool:
        """Whether the idle socket has something the event loop has not delivered yet."""
        probe = self.probe
        if probe is None:
            transport = self.transport
            sock = None if transport is None else transport.get_extra_info("socket")
            if sock is None:
                return False
            probe = self.probe = ReadinessProbe(sock)
        return probe.readable()

    def close(self) -> None:
        # abort, not close: nothing we still want is in the write buffer, and a TLS close would
        # wait (up to 30 s, past the event loop's end) for a close_notify many servers never send.
        if self.transport is not None and not self.loop.is_closed():
            self.transport.abort()
        self.lost = True
        self._disarm()
        self._gone()

    def _disarm(self) -> None:
        """A closed connection's timer goes: it would keep the connection alive until it fires."""
        if self.alarm is not None:
            self.alarm.cancel()


class AsyncResponse(ResponseBase[_Protocol]):
    __slots__ = ()

    async def iter_bytes(self, first_wait: float | None = None, keep_deadline: bool = True) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        parser = conn.parser
        wait = first_wait if first_wait is not None else self._read_timeout
        deadline = self._deadline
        try:
            while True:
                piece = parser.body()
                if piece:
                    yield piece
                    wait = self._read_timeout
                    if not keep_deadline:
                        deadline = None
                if parser.complete:
                    break
                if conn.lost:
                    parser.eof()
                    continue
                await conn.wait(wait_budget(deadline, wait, WaitExpired))
        except WaitExpired:
            self.close()
            raise InferenceTimeoutError(f"Timed out reading the response from {self.url}", url=self.url) from None
        except BaseException:
            self.close()
            raise
        self._release()

    async def read(self) -> bytes:
        body = self._whole_body()
        if body is not None:
            return body
        pieces = [piece async for piece in self.iter_bytes()]
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)


class AsyncTransport:
    """Pooled connections per event loop. When a loop shuts down (`asyncio.run` ending), its idle
    connections are closed while it still runs: a client made at module level and used by several
    `asyncio.run()` calls gets new connections on each loop, never a dead one."""

    def __init__(self, proxies: ProxySettings, max_connections: int) -> None:
        self._proxies = proxies
        self.max_body = max_response_bytes()  # read once: os.environ costs ~2 µs a lookup
        self._encoder = RequestEncoder()
        self._idle: dict[tuple[asyncio.AbstractEventLoop, Origin], list[_Protocol]] = {}
        # At most this many connections open at once per event loop (busy and idle, all origins):
        # more calls in flight wait for a place, in order, instead of failing with "Too many open
        # files".
        self._limit = max_connections
        self._open: dict[asyncio.AbstractEventLoop, int] = {}
        self._queues: dict[asyncio.AbstractEventLoop, ConnectionQueue] = {}
        self._loop_guards: dict[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = {}
        self._closed = False
        weakref.finalize(self, _close_all, self._idle)

    async def send(
        self,
        request: Request,
        connect_timeout: float | None,
        read_timeout: float | None,
        deadline: float | None,
    ) -> AsyncResponse:
        if request.url.startswith("local://"):  # the `local` provider: answered in-process, no socket
            from omniinfer._http.local_transport import send_async

            return await send_async(self, request, read_timeout, deadline)
        origin = split_url(request.url)[0]
        fresh_only = False
        while True:
            conn = None if fresh_only else self._take(origin)
            if conn is None:
                await self._guard_loop()
                conn = await self._connection(origin, connect_timeout, deadline, request, fresh_only)
            written = False
            try:
                assert conn.transport is not None
                if not conn.transport.is_closing():
                    conn.transport.write(
                        self._encoder.encode(
                            request.method, request.url, request.headers, request.body, conn.proxy_authorization
                        )
                    )
                    # Handed to the transport: from here on the server may receive all of it (asyncio
                    # flushes in the background), so no resend outside the retry policy.
                    written = True
                # The head's wait is here rather than in a helper: one coroutine frame less for every
                # suspension and resumption of the call to pass through.
                parser = conn.parser
                while (head := parser.head(request.method)) is None:
                    if conn.lost:
                        raise InferenceConnectionError(
                            f"Server closed the connection without answering{_reason(conn.lost_exc)}"
                        )
                    await conn.wait(wait_budget(deadline, read_timeout, WaitExpired))
            except WaitExpired:
                conn.close()
                raise InferenceTimeoutError(
                    f"Timed out waiting for {request.url}", url=request.url, provider=request.provider
                ) from None
            except (OSError, InferenceConnectionError) as exc:
                conn.close()
                # Resent here only when the request cannot have reached the server whole (see the
                # sync transport); once written, only the retry policy may send it again.
                if conn.reused and not written and not fresh_only:
                    fresh_only = True
                    continue
                if isinstance(exc, ProtocolError):
                    exc.url, exc.provider = request.url, request.provider
                    raise
                raise InferenceConnectionError(
                    f"Connection to {origin.host}:{origin.port} failed: {exc}",
                    url=request.url,
                    provider=request.provider,
                ) from exc
            except BaseException:
                conn.close()
                raise
            return AsyncResponse(self, conn, head, request.url, read_timeout, deadline)

    async def _connection(
        self, origin: Origin, connect_timeout: float | None, deadline: float | None, request: Request, fresh: bool
    ) -> _Protocol:
        """A pooled connection freed while we waited for a place, or a new one within the limit."""
        loop = asyncio.get_running_loop()
        while self._open.get(loop, 0) >= self._limit:
            if self._evict_idle(loop):
                continue
            queue = self._queues.get(loop)
            if queue is None:
                queue = self._queues[loop] = ConnectionQueue(loop)
            waiter, served = None, False
            try:
                waiter, place = queue.join(wait_budget(deadline, connect_timeout, WaitExpired))
                await waiter
                served = True
            except WaitExpired:  # never sent: safe to send again, as a connect timeout is
                raise ConnectTimeoutError(
                    f"Timed out waiting for one of the {self._limit} connections (max_connections)",
                    url=request.url,
                    provider=request.provider,
                ) from None
            finally:
                if waiter is not None:
                    queue.leave(waiter, place, served)
            conn = None if fresh else self._take(origin)
            if conn is not None:
                return conn
        self._open[loop] = self._open.get(loop, 0) + 1
        try:
            conn = await self._open_connection(origin, connect_timeout, deadline, request)
        except BaseException:
            self._released(loop)
            raise
        conn.on_gone = lambda: self._released(loop)
        if conn.lost:  # lost already while opening: its place is free again
            conn._gone()
        return conn

    def _released(self, loop: asyncio.AbstractEventLoop) -> None:
        self._open[loop] = self._open.get(loop, 1) - 1
        self._wake_one(loop)

    def _wake_one(self, loop: asyncio.AbstractEventLoop) -> None:
        queue = self._queues.get(loop)
        if queue is not None:
            queue.wake_one()

    def _evict_idle(self, loop: asyncio.AbstractEventLoop) -> bool:
        """At the limit, an idle connection (to any origin) gives its place to a waiting call."""
        for key, idle in self._idle.items():
            if key[0] is loop and idle:
                idle.pop(0).close()
                return True
        return False

    async def _open_connection(
        self, origin: Origin, connect_timeout: float | None, deadline: float | None, request: Request
    ) -> _Protocol:
        loop = asyncio.get_running_loop()
        proxy = proxy_for(origin, self._proxies)
        peer = proxy.origin if proxy else origin
        ssl_context = None
        if origin.tls:
            from omniinfer._http.tls import default_context

            ssl_context = default_context()
        try:
            return await self._connect(loop, origin, peer, proxy, ssl_context, connect_timeout, deadline, request)
        except (WaitExpired, asyncio.TimeoutError):
            raise ConnectTimeoutError(
                f"Timed out connecting to {peer.host}:{peer.port}",
                url=request.url,
                provider=request.provider,
            ) from None
        except OSError as exc:
            raise InferenceConnectionError(
                f"Could not connect to {peer.host}:{peer.port}: {exc}",
                url=request.url,
                provider=request.provider,
            ) from exc

    async def _connect(
        self,
        loop: asyncio.AbstractEventLoop,
        origin: Origin,
        peer: Origin,
        proxy: Proxy | None,
        ssl_context: Any,
        connect_timeout: float | None,
        deadline: float | None,
        request: Request,
    ) -> _Protocol:
        _, protocol = await asyncio.wait_for(
            loop.create_connection(lambda: _Protocol(origin, loop), peer.host, peer.port),
            wait_budget(deadline, connect_timeout, WaitExpired),
        )
        # TLS starts on the connected socket (after CONNECT through a proxy) rather than inside
        # create_connection: a handshake failing there leaves the socket open (Python 3.11).
        raw = protocol.transport
        try:
            if proxy is not None and ssl_context is None:
                protocol.proxy_authorization = proxy.authorization or ""
            elif proxy is not None:
                await self._tunnel(
                    protocol, proxy, ssl_context, wait_budget(deadline, connect_timeout, WaitExpired), request
                )
            elif ssl_context is not None:
                assert protocol.transport is not None
                protocol.transport = await asyncio.wait_for(
                    loop.start_tls(protocol.transport, protocol, ssl_context, server_hostname=origin.host),
                    wait_budget(deadline, connect_timeout, WaitExpired),
                )
        except BaseException:
            if raw is not None:
                raw.abort()
            protocol.close()
            raise
        return protocol

    async def _tunnel(
        self, conn: _Protocol, proxy: Proxy, ssl_context: Any, timeout: float | None, request: Request
    ) -> None:
        """CONNECT through the proxy, then TLS end to end with the server over the tunnel."""
        assert conn.transport is not None
        conn.transport.write(connect_request(conn.origin, proxy))
        while (head := conn.parser.head("CONNECT")) is None:
            if conn.lost:
                raise InferenceConnectionError("The proxy closed the connection during CONNECT", url=request.url)
            await conn.wait(timeout)
        if head.status != 200:
            conn.close()
            raise InferenceConnectionError(
                tunnel_refused(head.status, head.reason, conn.origin, proxy), url=request.url
            )
        conn.parser = ResponseParser()
        loop = asyncio.get_running_loop()
        tls = await loop.start_tls(conn.transport, conn, ssl_context, server_hostname=conn.origin.host)
        conn.transport = tls

    async def _guard_loop(self) -> None:
        """Close this loop's idle connections when the loop shuts down. An async generator is the
        hook asyncio offers: `asyncio.run` closes every unfinished one (`shutdown_asyncgens`) while
        the loop still runs, so the connections close cleanly instead of leaking past the loop."""
        loop = asyncio.get_running_loop()
        if loop in self._loop_guards:
            return
        guard = self._on_loop_end(loop)
        self._loop_guards[loop] = guard
        await guard.__anext__()

    async def _on_loop_end(self, loop: asyncio.AbstractEventLoop) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            self._loop_guards.pop(loop, None)
            for key in [key for key in self._idle if key[0] is loop]:
                for conn in self._idle.pop(key):
                    conn.close()

    def _take(self, origin: Origin) -> _Protocol | None:
        idle = self._idle.get((asyncio.get_running_loop(), origin))
        while idle:
            conn = idle.pop()
            conn.idle = False
            if conn.lost:
                continue
            if conn.readable():  # bytes nobody asked for, or the server's close, that the loop has not seen yet
                conn.close()
                continue
            conn.reused = True
            return conn
        return None

    def _put(self, conn: _Protocol) -> None:
        idle = self._idle.setdefault((conn.loop, conn.origin), [])
        if self._closed or len(idle) >= _MAX_IDLE_PER_ORIGIN:
            conn.close()
        else:
            conn.idle = True
            idle.append(conn)
            self._wake_one(conn.loop)

    def close(self) -> None:
        self._closed = True
        _close_all(self._idle)

    async def aclose(self) -> None:
        """`close()`, and retire this loop's shutdown hook now rather than when the loop ends."""
        self.close()
        guard = self._loop_guards.pop(asyncio.get_running_loop(), None)
        if guard is not None:
            await guard.aclose()


def _close_all(idle: dict[tuple[asyncio.AbstractEventLoop, Origin], list[_Protocol]]) -> None:
    pooled = [conn for conns in idle.values() for conn in conns]
    idle.clear()
    for conn in pooled:
        conn.close()


def _reason(exc: BaseException | None) -> str:
    return f": {exc}" if exc else ""
