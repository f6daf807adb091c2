"""Model ids in URL paths: encoded per segment, refused when no provider can have them."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote


def model_path(model_id: str) -> str:
    """A model id as URL path segments, each percent-encoded (`?`, `#`, spaces cannot change the URL).

    ValueError for an id no provider can have: empty, `.`/`..` or empty segments, control characters.
    """
    return _model_path(model_id)


@lru_cache(maxsize=1024)
def _model_path(model_id: str) -> str:
    segments = model_id.split("/")
    if any(s in ("", ".", "..") for s in segments) or any(ord(c) < 0x20 or c == "\x7f" for c in model_id):
        raise ValueError(
            f"Invalid model id {model_id!r}: expected segments like 'org/name', without empty, '.' or '..' "
            "segments or control characters"
        )
    return "/".join(quote(s, safe=":@!$&'()*+,;=-._~") for s in segments)
