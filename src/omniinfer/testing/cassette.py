"""Record the HTTP interactions of a block of code into a YAML file, and replay them with the servers gone.

Every request the clients (sync and async; the in-process `local` provider excepted) send inside
`with cassette(path, mode=...):` goes through the cassette instead of straight to the transport
(the drivers' one seam, `omniinfer._core.taps`). Recording keeps answers byte-exact — JSON, server-sent
event streams, images — and never writes a secret: the call's token is replaced wherever it appears,
and credential-like headers and cookies are redacted. Replaying matches on method, URL and body
(JSON bodies canonically: key order and whitespace do not matter) and never falls back to the network.
"""

from __future__ import annotations

import re
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Literal

from omniinfer._core import taps
from omniinfer._core.records import Request

Mode = Literal["record", "replay", "once"]
MODES = ("record", "replay", "once")
FORMAT_VERSION = 1
REDACTED = "<redacted>"

# A header is a credential when its name says so (authorization, x-api-key, x-key, api-key, cookies,
# x-auth-token, ...); its value is never written.
_SECRET_HEADER = re.compile(r"authorization|api[-_]?key|^x-key$|token|secret|cookie|session", re.IGNORECASE)
# Framing describes the recorded connection, not the body a replay hands over.
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


class CassetteError(Exception):
    """A cassette cannot be used as asked (a missing file in replay mode, an unknown mode)."""


class NoRecordingError(CassetteError):
    """A request has no recorded answer in the cassette (raised in place of a live call)."""


class Interaction:
    """One request and its answer, as written (secrets already removed)."""

    __slots__ = ("body", "done", "method", "request_body", "request_headers", "response_headers", "status", "url")

    def __init__(self, method: str, url: str, request_headers: dict[str, str], request_body: bytes) -> None:
        self.method = method
        self.url = url
        self.request_headers = request_headers
        self.request_body = request_body
        self.status = 0
        self.response_headers: dict[str, str] = {}
        self.body = b""
        self.done = False

    def key(self) -> tuple[str, str, bytes]:
        """What a request must match: method, URL, canonical body."""
        return _key(self.method, self.url, self.request_body, self.request_headers.get("content-type", ""))


def _key(method: str, url: str, body: bytes, content_type: str) -> tuple[str, str, bytes]:
    return method.upper(), url, canonical_body(body, content_type)


def canonical_body(body: bytes, content_type: str = "") -> bytes:
    """The body as matched: JSON re-encoded with sorted keys; a multipart body with its random
    boundary replaced; anything else as is."""
    if not body:
        return b""
    boundary = re.search(r"boundary=\"?([^\";]+)", content_type) if content_type.startswith("multipart/") else None
    if boundary is not None:
        return body.replace(boundary.group(1).encode(), b"BOUNDARY")
    if body[:1] in b"{[":
        import orjson

        try:
            return orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
        except orjson.JSONDecodeError:
            return body
    return body


def _scrub(data: bytes, secret: str | None) -> bytes:
    return data.replace(secret.encode(), REDACTED.encode()) if secret else data


def _scrub_text(text: str, secret: str | None) -> str:
    return text.replace(secret, REDACTED) if secret else text


def _redacted_headers(headers: dict[str, str], secret: str | None) -> dict[str, str]:
    return {
        name.lower(): REDACTED if _SECRET_HEADER.search(name) else _scrub_text(value, secret)
        for name, value in headers.items()
    }


class _Head:
    __slots__ = ("framed", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str]) -> None:
        self.status = status
        self.headers = headers
        self.framed = True  # a recorded body is replayed whole: its end is the recorded end


class _Replayed:
    """A recorded answer standing in for a transport's response (the driver reads these members)."""

    def __init__(self, interaction: Interaction, url: str) -> None:
        self.head = _Head(interaction.status, dict(interaction.response_headers))
        self.url = url
        self._body = interaction.body

    def read(self) -> bytes:
        return self._body

    def iter_bytes(self, first_wait: float | None = None, keep_deadline: bool = True) -> Iterator[bytes]:
        if self._body:
            yield self._body

    def close(self) -> None:
        pass


class _AsyncReplayed(_Replayed):
    async def read(self) -> bytes:  # type: ignore[override]
        return self._body

    async def iter_bytes(self, first_wait: float | None = None, keep_deadline: bool = True) -> AsyncIterator[bytes]:  # type: ignore[override]
        if self._body:
            yield self._body


class _Recording:
    """Wraps a live response: what the caller reads is kept for the cassette as it passes."""

    def __init__(self, live: Any, interaction: Interaction, secret: str | None) -> None:
        self._live = live
        self._interaction = interaction
        self._secret = secret
        self._pieces: list[bytes] = []
        self.head = live.head
        self.url = live.url
        interaction.status = live.head.status
        interaction.response_headers = {
            name: value for name, value in _redacted_headers(live.head.headers, secret).items() if name not in _FRAMING
        }

    def _keep(self) -> None:
        interaction = self._interaction
        if not interaction.done:
            interaction.body = _scrub(b"".join(self._pieces), self._secret)
            interaction.done = True  # a stream closed early keeps what its caller read

    def read(self) -> bytes:
        body: bytes = self._live.read()
        self._pieces.append(body)
        self._keep()
        return body

    def iter_bytes(self, first_wait: float | None = None, keep_deadline: bool = True) -> Iterator[bytes]:
        for piece in self._live.iter_bytes(first_wait=first_wait, keep_deadline=keep_deadline):
            self._pieces.append(piece)
            yield piece
        self._keep()

    def close(self) -> None:
        self._live.close()
        self._keep()


class _AsyncRecording(_Recording):
    async def read(self) -> bytes:  # type: ignore[override]
        body: bytes = await self._live.read()
        self._pieces.append(body)
        self._keep()
        return body

    async def iter_bytes(self, first_wait: float | None = None, keep_deadline: bool = True) -> AsyncIterator[bytes]:  # type: ignore[override]
        async for piece in self._live.iter_bytes(first_wait=first_wait, keep_deadline=keep_deadline):
            self._pieces.append(piece)
            yield piece
        self._keep()


class Cassette:
    """The interactions of one file. Use `cassette(...)`; `interactions` lists what it holds, and
    `played` counts the answers it replayed."""

    def __init__(self, path: str | Path, mode: Mode = "once") -> None:
        if mode not in MODES:
            raise CassetteError(f"mode must be one of {MODES}, got {mode!r}")
        self.path = Path(path)
        self.recording = mode == "record" or (mode == "once" and not self.path.exists())
        self.interactions: list[Interaction] = []
        self.played = 0
        self._used: set[int] = set()
        self._keys: list[tuple[str, str, bytes]] | None = None
        self._lock = threading.Lock()
        self._previous: Any = None
        if not self.recording:
            if not self.path.exists():
                raise CassetteError(
                    f"No cassette at {self.path} to replay: record it first (mode='once' or 'record'; "
                    "with pytest: --omniinfer-record=once)"
                )
            from omniinfer.testing.storage import load

            self.interactions = load(self.path)

    @property
    def mode(self) -> str:
        """ "record" or "replay": what this block does."""
        return "record" if self.recording else "replay"

    # -- the seam (omniinfer._core.taps) -----------------------------------------------------------

    def send(self, transport: Any, request: Request, connect: float | None, read: float | None, deadline: Any) -> Any:
        if request.url.startswith("local://"):
            return transport.send(request, connect, read, deadline)
        if self.recording:
            interaction = self._start(request)
            return _Recording(transport.send(request, connect, read, deadline), interaction, request.secret)
        return _Replayed(self._find(request), request.url)

    async def send_async(
        self, transport: Any, request: Request, connect: float | None, read: float | None, deadline: Any
    ) -> Any:
        if request.url.startswith("local://"):
            return await transport.send(request, connect, read, deadline)
        if self.recording:
            interaction = self._start(request)
            live = await transport.send(request, connect, read, deadline)
            return _AsyncRecording(live, interaction, request.secret)
        return _AsyncReplayed(self._find(request), request.url)

    def _start(self, request: Request) -> Interaction:
        secret = request.secret
        interaction = Interaction(
            request.method,
            _scrub_text(request.url, secret),
            _redacted_headers(request.headers, secret),
            _scrub(request.body or b"", secret),
        )
        with self._lock:
            self.interactions.append(interaction)
        return interaction

    def _find(self, request: Request) -> Interaction:
        secret = request.secret
        content_type = next((v for k, v in request.headers.items() if k.lower() == "content-type"), "")
        wanted = _key(
            request.method, _scrub_text(request.url, secret), _scrub(request.body or b"", secret), content_type
        )
        with self._lock:
            if self._keys is None:  # computed once: canonical JSON bodies are not free
                self._keys = [recorded.key() for recorded in self.interactions]
            matches = [i for i, key in enumerate(self._keys) if key == wanted]
            fresh = [i for i in matches if i not in self._used]
            if not fresh and not matches:
                raise NoRecordingError(self._miss_message(request))
            # Identical requests (a job's status polls) replay in recorded order; the last repeats.
            index = fresh[0] if fresh else matches[-1]
            self._used.add(index)
            self.played += 1
            return self.interactions[index]

    def _miss_message(self, request: Request) -> str:
        body = _scrub(request.body or b"", request.secret)
        preview = body[:200].decode("utf-8", "replace") if body else "(no body)"
        return (
            f"No recording of {request.method} {_scrub_text(request.url, request.secret)} in the cassette "
            f"{self.path} (body: {preview}). Replay mode never calls the server: record the cassette "
            "again (mode='record', or with pytest --omniinfer-record=all)."
        )

    # -- the block -------------------------------------------------------------------------------------

    def __enter__(self) -> Cassette:
        self._previous = taps.ACTIVE
        taps.ACTIVE = self
        return self

    def __exit__(self, *exc_info: object) -> None:
        taps.ACTIVE = self._previous
        if self.recording:
            from omniinfer.testing.storage import save

            save(self.path, [i for i in self.interactions if i.done])

    def __repr__(self) -> str:
        return f"<Cassette {self.path} ({self.mode}, {len(self.interactions)} interactions)>"


def cassette(path: str | Path, mode: Mode = "once") -> Cassette:
    """Record or replay every request the clients send inside the `with` block.

    `mode`: "record" (call the servers, write `path` anew), "replay" (answer from `path` only; a
    request it does not hold raises `NoRecordingError`), "once" (replay when `path` exists, else record).

        with cassette("tests/cassettes/chat.yaml"):
            client.chat_completion(messages)
    """
    return Cassette(path, mode)
