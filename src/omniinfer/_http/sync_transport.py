"""Blocking HTTP/1.1 over a small keep-alive pool: the only place the sync client touches sockets."""

from __future__ import annotations

import socket
import threading
import weakref
from collections.abc import Iterator

from omniinfer._core.records import Request
from omniinfer._core.stepping import wait_budget
from omniinfer._core.timeouts import ConnectTimeoutError
from omniinfer._http.h1 import Head, Origin, RequestEncoder, ResponseParser, max_response_bytes, split_url
from omniinfer._http.proxy import ENVIRONMENT, Proxy, ProxySettings, connect_request, proxy_for, tunnel_refused
from omniinfer._http.readiness import ReadinessProbe
from omniinfer._http.response import ResponseBase
from omniinfer.errors import (
    InferenceConnectionError,
    InferenceError,
    InferenceTimeoutError,
    MalformedResponseError,
    ProtocolError,
)

_RECV = 65536
_EARLY_ANSWER_WAIT = 5.0  # an answer already sent is in our socket buffer or moments away
_MAX_IDLE_PER_ORIGIN = 32


class _Connection:
    __slots__ = ("_probe", "origin", "parser", "proxy_authorization", "reused", "sock")

    lost = False  # a blocking socket learns of the peer's close only when it reads

    def __init__(self, origin: Origin, sock: socket.socket, proxy_authorization: str | None = None) -> None:
        self.origin = origin
        self.sock = sock
        self.parser = ResponseParser()
        self.reused = False
        # Set ("" or credentials) when this is a plain-http connection to a proxy: requests then go in
        # absolute form. A tunnelled (CONNECT) connection speaks to the server itself: None.
        self.proxy_authorization = proxy_authorization
        self._probe: ReadinessProbe | None = None

    def wait_at_most(self, seconds: float | None) -> None:
        """The socket's timeout for what follows (None: none). Setting it costs a system call (the
        socket's blocking mode is set anew each time): made only when it changes, so a client
        without a timeout makes none a call (two before)."""
        if seconds is not None or self.sock.gettimeout() is not None:
            self.sock.settimeout(seconds)

    def readable(self) -> bool:
        """Whether the idle socket has anything to read (bytes, or the server's close), without waiting."""
        probe = self._probe
        if probe is None:
            probe = self._probe = ReadinessProbe(self.sock)
        return probe.readable()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class SyncResponse(ResponseBase[_Connection]):
    """A response whose head has arrived; the body is read with `read()` or `iter_bytes()`."""

    __slots__ = ()

    def iter_bytes(self, first_wait: float | None = None, keep_deadline: bool = True) -> Iterator[bytes]:
        """Body pieces as they arrive. `first_wait` bounds the wait for the first piece; with
        `keep_deadline` False the call's deadline stops applying once a piece has arrived."""
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
                conn.wait_at_most(wait_budget(deadline, wait))
                data = conn.sock.recv(_RECV)
                if not data:
                    parser.eof()
                    continue
                parser.receive(data)
        except MalformedResponseError:  # the parser's own typed error (an OSError too): not a broken connection
            self.close()
            raise
        except TimeoutError:
            self.close()
            raise InferenceTimeoutError(f"Timed out reading the response from {self.url}", url=self.url) from None
        except InferenceError as exc:  # the parser's (ProtocolError is also an OSError: keep its type)
            self.close()
            exc.url = exc.url or self.url
            raise
        except OSError as exc:
            self.close()
            raise InferenceConnectionError(f"Connection broke while reading {self.url}: {exc}", url=self.url) from exc
        except BaseException:
            self.close()
            raise
        self._release()

    def read(self) -> bytes:
        body = self._whole_body()
        if body is not None:
            return body
        pieces = list(self.iter_bytes())
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)


class SyncTransport:
    """Sends requests over pooled keep-alive connections (one pool per client)."""

    def __init__(self, proxies: ProxySettings = ENVIRONMENT) -> None:
        self.max_body = max_response_bytes()  # read once: os.environ costs ~2 µs a lookup
        self._proxies = proxies
        self._encoder = RequestEncoder()
        self._idle: dict[Origin, list[_Connection]] = {}
        self._lock = threading.Lock()
        self._closed = False
        # A client dropped without close() must not leave its pooled sockets open.
        weakref.finalize(self, _close_all, self._idle)

    def send(
        self,
        request: Request,
        connect_timeout: float | None,
        read_timeout: float | None,
        deadline: float | None,
    ) -> SyncResponse:
        if request.url.startswith("local://"):  # the `local` provider: answered in-process, no socket
            from omniinfer._http.local_transport import send_sync

            return send_sync(self, request, read_timeout, deadline)
        origin = split_url(request.url)[0]
        fresh_only = False
        while True:
            conn = (None if fresh_only else self._take(origin)) or self._open(
                origin, wait_budget(deadline, connect_timeout), request.url
            )
            written = False
            try:
                conn.wait_at_most(wait_budget(deadline, read_timeout))
                payload = self._encoder.encode(
                    request.method, request.url, request.headers, request.body, conn.proxy_authorization
                )
                try:
                    conn.sock.sendall(payload)
                except OSError:
                    # The server may have answered before taking the whole body (an early 413) and
                    # closed: its answer, if it sent one, is the truth, not the broken pipe.
                    head = self._early_answer(conn, request.method)
                    if head is None:
                        raise
                    head.keep_alive = False
                    return SyncResponse(self, conn, head, request.url, read_timeout, deadline)
                written = True
                head = self._read_head(conn, request.method, read_timeout, deadline)
            except TimeoutError:
                conn.close()
                raise InferenceTimeoutError(
                    f"Timed out waiting for {request.url}", url=request.url, provider=request.provider
                ) from None
            except (OSError, InferenceConnectionError) as exc:
                conn.close()
                # A pooled connection that broke before the request was all written cannot have
                # delivered it: send once more, on a new connection. Once all of it was written the
                # server may have acted on it (a paid call): only the retry policy may resend it.
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
            return SyncResponse(self, conn, head, request.url, read_timeout, deadline)

    def _early_answer(self, conn: _Connection, method: str) -> Head | None:
        """The head the server sent before it closed on our upload, if any."""
        parser = conn.parser
        try:
            conn.sock.settimeout(_EARLY_ANSWER_WAIT)
            while (head := parser.head(method)) is None:
                data = conn.sock.recv(_RECV)
                if not data:
                    return None
                parser.receive(data)
        except (OSError, InferenceConnectionError):
            return None
        return head

    def _read_head(self, conn: _Connection, method: str, read_timeout: float | None, deadline: float | None) -> Head:
        parser = conn.parser
        first = True  # the first wait is bounded already (set before the request went)
        while True:
            head = parser.head(method)
            if head is not None:
                return head
            if not first:
                conn.wait_at_most(wait_budget(deadline, read_timeout))
            first = False
            data = conn.sock.recv(_RECV)
            if not data:
                raise InferenceConnectionError("Server closed the connection without answering")
            parser.receive(data)

    def _open(self, origin: Origin, timeout: float | None, url: str) -> _Connection:
        proxy = proxy_for(origin, self._proxies)
        peer = proxy.origin if proxy else origin
        try:
            sock = socket.create_connection((peer.host, peer.port), timeout=timeout)
        except TimeoutError:
            raise ConnectTimeoutError(f"Timed out connecting to {peer.host}:{peer.port}", url=url) from None
        except OSError as exc:
            raise InferenceConnectionError(f"Could not connect to {peer.host}:{peer.port}: {exc}", url=url) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if proxy is not None and not origin.tls:
            return _Connection(origin, sock, proxy.authorization or "")
        if proxy is not None:
            self._tunnel(sock, origin, proxy, url)
        if origin.tls:
            from omniinfer._http.tls import default_context

            try:
                sock = default_context().wrap_socket(sock, server_hostname=origin.host)
            except OSError as exc:
                sock.close()
                raise InferenceConnectionError(f"TLS with {origin.host} failed: {exc}", url=url) from exc
        return _Connection(origin, sock)

    def _tunnel(self, sock: socket.socket, origin: Origin, proxy: Proxy, url: str) -> None:
        """CONNECT through the proxy; TLS then runs end to end with the server."""
        parser = ResponseParser()
        try:
            sock.sendall(connect_request(origin, proxy))
            while (head := parser.head("CONNECT")) is None:
                data = sock.recv(_RECV)
                if not data:
                    raise InferenceConnectionError("The proxy closed the connection during CONNECT", url=url)
                parser.receive(data)
        except TimeoutError:
            sock.close()
            raise ConnectTimeoutError(f"Timed out opening a tunnel through {proxy.origin.host}", url=url) from None
        except OSError as exc:
            sock.close()
            raise InferenceConnectionError(f"Tunnel through {proxy.origin.host} failed: {exc}", url=url) from exc
        if head.status != 200:
            sock.close()
            raise InferenceConnectionError(tunnel_refused(head.status, head.reason, origin, proxy), url=url)

    def _take(self, origin: Origin) -> _Connection | None:
        while True:
            with self._lock:
                idle = self._idle.get(origin)
                if not idle:
                    return None
                conn = idle.pop()
            if conn.readable():
                # Closed by the server, or bytes no request of ours asked for: either way reading
                # it would hand this call an answer that is not its own.
                conn.close()
                continue
            conn.reused = True
            return conn

    def _put(self, conn: _Connection) -> None:
        with self._lock:
            idle = self._idle.setdefault(conn.origin, [])
            if self._closed or len(idle) >= _MAX_IDLE_PER_ORIGIN:
                conn.close()
            else:
                idle.append(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            _close_all(self._idle)


def _close_all(idle: dict[Origin, list[_Connection]]) -> None:
    pooled = [conn for conns in idle.values() for conn in conns]
    idle.clear()
    for conn in pooled:
        conn.close()
