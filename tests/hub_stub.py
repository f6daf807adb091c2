"""A loopback stand-in for the Hugging Face Hub's file API, for the `local` provider's downloads.

It answers what a real Hub answers for a GGUF repository: the listing
(`/api/models/{repo}/revision/{rev}?blobs=true`, with sizes and LFS sha256 digests), and
`/{repo}/resolve/{commit}/{path}` with a 302 to a storage host (here `localhost` instead of
`127.0.0.1`: another host, so credentials must not follow), which serves the bytes with `Range`
support. Faults on demand: cut the connection mid-file (`cut_after`), serve other bytes than the
digest promises (`corrupt`). Every request is recorded (path, Host, Authorization, Range).
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class Seen:
    path: str
    host: str
    authorization: str | None
    range: str | None


@dataclass
class HubStub:
    # repository -> {path in the repository: content}
    repos: dict[str, dict[str, bytes]] = field(default_factory=dict)
    cut_after: int | None = None  # cut the next download after this many bytes (once)
    corrupt: bool = False  # serve bytes whose digest differs from the listing's
    seen: list[Seen] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> HubStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                stub.seen.append(
                    Seen(
                        self.path,
                        self.headers.get("host", ""),
                        self.headers.get("authorization"),
                        self.headers.get("range"),
                    )
                )
                stub.answer(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def downloads(self) -> list[Seen]:
        return [s for s in self.seen if s.path.startswith("/cdn/")]

    # --- answers ---------------------------------------------------------------------------

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        path = unquote(urlsplit(handler.path).path)
        listing = re.fullmatch(r"/api/models/([^/]+/[^/]+)/revision/([^/]+)", path)
        resolve = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        stored = re.fullmatch(r"/cdn/([^/]+/[^/]+)/(.+)", path)
        if listing and listing[1] in self.repos:
            self._json(handler, 200, self._listing(listing[1]))
        elif resolve and resolve[1] in self.repos and resolve[3] in self.repos[resolve[1]] and resolve[2] == COMMIT:
            handler.send_response(302)
            handler.send_header("location", f"http://localhost:{self.port}/cdn/{resolve[1]}/{resolve[3]}")
            handler.send_header("content-length", "0")
            handler.end_headers()
        elif stored and stored[1] in self.repos and stored[2] in self.repos[stored[1]]:
            self._file(handler, self.repos[stored[1]][stored[2]])
        else:
            self._json(handler, 404, {"error": "Repository not found"})

    def _listing(self, repo: str) -> dict[str, Any]:
        siblings = []
        for name, content in self.repos[repo].items():
            sibling: dict[str, Any] = {"rfilename": name, "size": len(content)}
            if name.endswith(".gguf"):
                digest = hashlib.sha256(content).hexdigest()
                sibling["lfs"] = {"sha256": digest, "size": len(content), "pointerSize": 134}
            siblings.append(sibling)
        return {"id": repo, "sha": COMMIT, "siblings": siblings}

    def _json(self, handler: BaseHTTPRequestHandler, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _file(self, handler: BaseHTTPRequestHandler, content: bytes) -> None:
        if self.corrupt:
            content = bytes(b ^ 0xFF for b in content[:16]) + content[16:]
        start = 0
        wanted = re.fullmatch(r"bytes=(\d+)-", handler.headers.get("range") or "")
        if wanted:
            start = int(wanted[1])
            handler.send_response(206)
            handler.send_header("content-range", f"bytes {start}-{len(content) - 1}/{len(content)}")
        else:
            handler.send_response(200)
        handler.send_header("content-length", str(len(content) - start))
        handler.send_header("accept-ranges", "bytes")
        handler.end_headers()
        body = content[start:]
        if self.cut_after is not None and self.cut_after < len(body):
            cut, self.cut_after = self.cut_after, None
            handler.wfile.write(body[:cut])
            handler.wfile.flush()
            handler.connection.shutdown(socket.SHUT_RDWR)  # the network drops mid-file
            handler.close_connection = True
            return
        handler.wfile.write(body)
