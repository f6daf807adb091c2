"""Token usage: what one call cost (`response_meta.usage`) and what a client has spent (`client.usage`).

Flows read usage where the answer states it (an OpenAI `usage` object, TGI's `generated_tokens`) and
leave it on the `Response` or `EventStream` they read; the drivers move it to the call's `ResponseMeta`,
which adds it to the client's running total when the call ends.
"""

from __future__ import annotations

import threading
from typing import Any


class Usage:
    """Tokens of one call: `input_tokens` (the prompt), `output_tokens` (the generated text), and
    `total_tokens`. A count the server did not report is None."""

    __slots__ = ("input_tokens", "output_tokens")

    def __init__(self, input_tokens: int | None = None, output_tokens: int | None = None) -> None:
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens

    @property
    def total_tokens(self) -> int:
        return (self.input_tokens or 0) + (self.output_tokens or 0)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Usage):
            return NotImplemented
        return (self.input_tokens, self.output_tokens) == (other.input_tokens, other.output_tokens)

    __hash__ = None  # type: ignore[assignment]  # mutable record

    def __repr__(self) -> str:
        return f"Usage(input_tokens={self.input_tokens}, output_tokens={self.output_tokens})"


def _count(value: Any) -> int | None:
    return value if type(value) is int and value >= 0 else None


def openai_usage(data: Any) -> Usage | None:
    """The `usage` object of an OpenAI-style answer (chat, completions, embeddings), or None.

    OpenAI names the counts `prompt_tokens`/`completion_tokens`; a few compatible servers use
    `input_tokens`/`output_tokens`; embeddings report only the prompt's."""
    if type(data) is not dict:
        return None
    usage = data.get("usage")
    if type(usage) is not dict:
        return None
    found_in = _count(usage.get("prompt_tokens", usage.get("input_tokens")))
    found_out = _count(usage.get("completion_tokens", usage.get("output_tokens")))
    if found_in is None and found_out is None:
        return None
    return Usage(found_in, found_out)


def tgi_usage(details: Any) -> Usage | None:
    """TGI reports only the generated tokens (`details.generated_tokens`)."""
    if type(details) is not dict:
        return None
    generated = _count(details.get("generated_tokens"))
    return None if generated is None else Usage(None, generated)


class UsageTotal:
    """A client's running total over its finished calls (thread-safe; shared by fallback attempts).

    `calls` counts the calls that reported usage."""

    __slots__ = ("_lock", "calls", "input_tokens", "output_tokens")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.input_tokens = 0
        self.output_tokens = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def add(self, usage: Usage) -> None:
        with self._lock:
            self.calls += 1
            self.input_tokens += usage.input_tokens or 0
            self.output_tokens += usage.output_tokens or 0

    def reset(self) -> None:
        with self._lock:
            self.calls = self.input_tokens = self.output_tokens = 0

    # A pickled client (shipped to another process) carries its totals; the lock is made anew.
    def __getstate__(self) -> tuple[int, int, int]:
        return self.calls, self.input_tokens, self.output_tokens

    def __setstate__(self, state: tuple[int, int, int]) -> None:
        self._lock = threading.Lock()
        self.calls, self.input_tokens, self.output_tokens = state

    def __repr__(self) -> str:
        return f"UsageTotal(calls={self.calls}, input_tokens={self.input_tokens}, output_tokens={self.output_tokens})"
