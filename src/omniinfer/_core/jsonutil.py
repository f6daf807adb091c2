"""JSON in one place, so the codec can be swapped by measurement (orjson: ~5x the stdlib here)."""

from __future__ import annotations

from typing import Any

import orjson

loads = orjson.loads
JSONDecodeError = orjson.JSONDecodeError


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON. Non-native objects (numpy scalars, dataclass-like outputs) fall back to
    their dict or list form."""
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY, default=_fallback)


def _fallback(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")
