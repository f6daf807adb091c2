"""A raw-socket loopback server that answers each connection with a script: broken bytes included.

`RawServer(script)` calls `script(conn, index)` on a thread per accepted connection; `read_request`
reads one request (head and Content-Length body) from it. Every request head read is recorded.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from certs import make_certs

Script = Callable[["RawConnection", int], None]


class RawConnection:
    def __init__(self, sock: socket.socket, server: RawServer) -> None:
        self.sock = sock
        self.server = server
        self.buffer = b""

    def read_request(self, body: bool = True) -> bytes | None:
        """One request's head (and body unless `body=False`), or None when the client closed."""
        while b"\r\n\r\n" not in self.buffer:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buffer += data
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        with self.server.lock:
            self.server.requests.append(head)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if body:
            while len(self.buffer) < length:
                data = self.sock.recv(65536)
                if not data:
                    return None
                self.buffer += data
            self.buffer = self.buffer[length:]
        return head

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)


class RawServer:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(2048)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.requests: list[bytes] = []
        self.accepted = 0
        self.lock = threading.Lock()
        self.socks: list[socket.socket] = []
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> RawServer:
        self.thread.start()
        return self

    def _accept(self) -> None:
        while not self.stopping:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                index = self.accepted
                self.accepted += 1
                self.socks.append(sock)
            threading.Thread(target=self._run, args=(sock, index), daemon=True).start()

    def _run(self, sock: socket.socket, index: int) -> None:
        try:
            self.script(RawConnection(sock, self), index)
        except OSError:
            pass
        finally:
            sock.close()

    def __exit__(self, *exc: tuple[type[BaseException], BaseException, TracebackType] | None) -> None:
        self.stopping = True
        try:  # close() alone does not wake a thread blocked in accept() on Linux; shutdown() does
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for sock in self.socks:
                try:
                    sock.close()
                except OSError:
                    pass
        self.thread.join(5)


def answer(body: bytes, status: int = 200, headers: str = "") -> bytes:
    """A well-formed JSON answer."""
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{headers}\r\n"
    ).encode() + body


@contextmanager
def tls_raw_server(directory: Path, body: bytes) -> Iterator[tuple[str, Path]]:
    """An https server answering every request with the JSON `body`, its certificate signed by a CA of
    its own (made in `directory`): (its URL, the CA's PEM file). A client that refuses the
    certificate just ends the connection."""
    directory.mkdir(parents=True, exist_ok=True)
    ca, cert, key = make_certs(directory)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def script(conn: RawConnection, index: int) -> None:
        try:
            wrapped = context.wrap_socket(conn.sock, server_side=True)
        except (OSError, ssl.SSLError):
            return
        conn.sock = wrapped
        try:
            while conn.read_request() is not None:
                conn.send(answer(body))
        finally:
            wrapped.close()

    with RawServer(script) as server:
        yield server.url.replace("http://", "https://"), ca
