"""The one seam where a request is handed to a transport, for `omniinfer.testing.cassette`.

`ACTIVE` is None except inside a `cassette(...)` block: then both drivers give every request to it
(`send` / `send_async`, with the transport that would have sent it) instead of to the transport, so
it can record the real answer or replay a recorded one. Nothing else is imported here: the drivers
read one module attribute per request.
"""

from __future__ import annotations

from typing import Any

ACTIVE: Any = None
