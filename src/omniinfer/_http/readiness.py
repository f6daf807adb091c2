"""Whether an idle pooled socket has something to read (bytes, or the peer's close), without waiting.

Both pools ask before they reuse a connection: an idle connection that became readable holds an
answer no request of ours asked for, or is closing, and must not answer the next call. The async
pool needs it too: its protocol closes such a connection as soon as the bytes arrive, but only while
the event loop runs, and a loop driven call by call (`run_until_complete`) is stopped in between.
"""

from __future__ import annotations

import select
import socket
from typing import Any

_poll = getattr(select, "poll", None)  # not on Windows: select() there


class ReadinessProbe:
    """A zero-timeout poll of one socket, set up on first use (one system call per check)."""

    __slots__ = ("_poller", "_sock")

    def __init__(self, sock: socket.socket | Any) -> None:
        self._sock = sock
        self._poller: Any = None

    def readable(self) -> bool:
        sock = self._sock
        pending = getattr(sock, "pending", None)  # an ssl.SSLSocket: bytes already decrypted, not read
        if pending is not None and pending():
            return True
        if _poll is None:
            return bool(select.select([sock], [], [], 0)[0])
        poller = self._poller
        if poller is None:
            poller = self._poller = _poll()
            poller.register(sock.fileno(), select.POLLIN)
        return bool(poller.poll(0))
