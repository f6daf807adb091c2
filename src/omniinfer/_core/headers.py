"""Request headers: checked once where the user gives them, merged case-insensitively everywhere.

HTTP header names are case-insensitive, so a dict keyed by the user's spelling could send
`Authorization` next to our `authorization`: every layer is merged through `merged`, which keys by
the lower-cased name (the later layer wins). Names must be HTTP tokens and values may not hold
CR, LF or NUL (they would end the header and start another: header injection).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\r\n\x00]")
# Framing is the client's own: a body's length is measured, never taken from the caller.
_OWN = frozenset({"content-length", "transfer-encoding"})


def check_headers(headers: Mapping[str, str], argument: str = "headers") -> None:
    """ValueError (naming the header) for a name that is not an HTTP token or a value with CR/LF/NUL."""
    for name, value in headers.items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise ValueError(f"`{argument}`: {name!r} is not a valid HTTP header name")
        if not isinstance(value, str):
            raise TypeError(f"`{argument}`: the value of header {name!r} must be a str, got {type(value).__name__}")
        if _BAD_VALUE.search(value):
            raise ValueError(f"`{argument}`: the value of header {name!r} holds a CR, LF or NUL character")
        if name.lower() in _OWN:
            raise ValueError(f"`{argument}`: {name!r} is set by the client from the body; do not pass it")


def merged(*layers: Mapping[str, str] | None) -> dict[str, str]:
    """The layers as one dict keyed by lower-cased names; a later layer's value wins."""
    out: dict[str, str] = {}
    for layer in layers:
        if layer:
            for name, value in layer.items():
                out[name.lower()] = value
    return out
