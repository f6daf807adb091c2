"""Where a token comes from when the caller gives none: the same places as the Hugging Face tools."""

from __future__ import annotations

import os


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.replace("\r", "").replace("\n", "").strip()
    return value or None


def hf_home() -> str:
    """The Hugging Face cache directory: `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else
    `~/.cache/huggingface`."""
    explicit = os.environ.get("HF_HOME")
    if explicit:
        return os.path.expanduser(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(os.path.expanduser(cache), "huggingface")


def token_path() -> str:
    explicit = os.environ.get("HF_TOKEN_PATH")
    return os.path.expanduser(explicit) if explicit else os.path.join(hf_home(), "token")


def stored_token() -> str | None:
    """HF_TOKEN, then HUGGING_FACE_HUB_TOKEN, then the token file; None when there is none."""
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        token = _clean(os.environ.get(name))
        if token:
            return token
    try:
        with open(token_path(), encoding="utf-8") as file:
            return _clean(file.read())
    except (OSError, UnicodeDecodeError):
        return None


def implicit_token_disabled() -> bool:
    return os.environ.get("HF_HUB_DISABLE_IMPLICIT_TOKEN", "").strip().lower() in ("1", "true", "yes", "on")


def implicit_token() -> str | None:
    """The stored token, unless the user asked not to send it implicitly."""
    return None if implicit_token_disabled() else stored_token()
