"""The TLS context, made once and only when an https URL is first used (ssl costs import time)."""

from __future__ import annotations

import functools
import ssl


@functools.lru_cache(maxsize=1)
def default_context() -> ssl.SSLContext:
    """Verification is always on: there is deliberately no switch to turn it off."""
    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    return context
