"""A small forward proxy on loopback for the proxy tests: absolute-form requests for http URLs
(forwarded with `Connection: close`) and CONNECT tunnels (bytes relayed both ways). It records what
it was asked, including the Proxy-Authorization header."""

from __future__ import annotations

import select
import socket
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class ProxyServer:
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # (method, target, auth)
    refuse_with: int | None = None  # answer CONNECT with this status instead of tunnelling

    def __post_init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.05)
        self._stop = threading.Event()
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> ProxyServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        with client:
            client.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                piece = client.recv(65536)
                if not piece:
                    return
                data += piece
            head, _, rest = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            self.requests.append((method, target, headers.get("proxy-authorization")))
            if method == "CONNECT":
                self._tunnel(client, target)
            else:
                self._forward(client, method, target, headers, rest)

    def _tunnel(self, client: socket.socket, target: str) -> None:
        if self.refuse_with is not None:
            client.sendall(b"HTTP/1.1 %d Refused\r\nContent-Length: 0\r\n\r\n" % self.refuse_with)
            return
        host, port = target.rsplit(":", 1)
        with socket.create_connection((host, int(port))) as upstream:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            sockets = [client, upstream]
            while not self._stop.is_set():
                readable, _, _ = select.select(sockets, [], [], 0.05)
                for sock in readable:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    (upstream if sock is client else client).sendall(chunk)

    def _forward(self, client: socket.socket, method: str, target: str, headers: dict[str, str], rest: bytes) -> None:
        parts = urlsplit(target)
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            rest += client.recv(65536)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        kept = {k: v for k, v in headers.items() if k not in ("proxy-authorization", "connection")}
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in kept.items())
        with socket.create_connection((parts.hostname, parts.port or 80)) as upstream:
            upstream.sendall(head.encode("latin-1") + b"Connection: close\r\n\r\n" + rest[:length])
            while chunk := upstream.recv(65536):
                client.sendall(chunk)
