"""Small OpenAI-shaped answers that scripted servers send in many tests."""

from __future__ import annotations

from typing import Any

HI = [{"role": "user", "content": "hi"}]
ROUTE = "/v1/chat/completions"
DONE = "data: [DONE]\n\n"


def completion(text: str = "ok", **extra: Any) -> dict[str, Any]:
    """A `chat.completion` whose one choice answers `text`."""
    choice = {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
    return {"id": "x", "object": "chat.completion", "created": 1, "model": "m", "choices": [choice], **extra}


def chunk(text: str = "x") -> dict[str, Any]:
    """A `chat.completion.chunk` carrying `text`."""
    choice = {"index": 0, "delta": {"content": text}, "finish_reason": None}
    return {"object": "chat.completion.chunk", "id": "1", "created": 1, "model": "m", "choices": [choice]}


COMPLETION = completion()
CHUNK = chunk()
