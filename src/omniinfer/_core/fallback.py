"""Fallback across providers, and the per-provider circuit breaker that steers it.

With `provider=["together", "fireworks-ai", ...]` (or `provider="auto"` and `fallback=True`), a call
that fails on one provider with a retryable error — after that provider's own retries — is run
again from the start on the next provider that serves the model, as long as nothing has reached the
caller yet (a stream that has begun is never switched). Providers that keep failing are skipped for
a while: a breaker per provider, shared by every client of the process, opens after consecutive
failures and lets one call through again after a cool-down (half-open).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from typing import Any

from omniinfer._core.context import ClientContext
from omniinfer._core.logs import logger
from omniinfer._core.retry import is_retryable
from omniinfer.errors import InferenceError

Flow = Generator[Any, Any, Any]

FAILURES_TO_OPEN = 3
COOL_DOWN = 30.0  # seconds an open breaker keeps its provider out of the rotation


class NoProviderLeft(ValueError):
    """Every candidate provider was tried (or is cooling down)."""


class CircuitBreaker:
    """Consecutive failures per provider; open at FAILURES_TO_OPEN, half-open after COOL_DOWN."""

    def __init__(self, failures_to_open: int = FAILURES_TO_OPEN, cool_down: float = COOL_DOWN) -> None:
        self.failures_to_open = failures_to_open
        self.cool_down = cool_down
        self._failures: dict[str, int] = {}
        self._opened_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def is_open(self, provider: str) -> bool:
        with self._lock:
            opened = self._opened_at.get(provider)
            if opened is None:
                return False
            if time.monotonic() - opened >= self.cool_down:
                # Half-open: let the next call try; one more failure opens it again at once.
                del self._opened_at[provider]
                self._failures[provider] = self.failures_to_open - 1
                return False
            return True

    def failure(self, provider: str) -> None:
        with self._lock:
            count = self._failures.get(provider, 0) + 1
            self._failures[provider] = count
            if count >= self.failures_to_open:
                self._opened_at[provider] = time.monotonic()

    def success(self, provider: str) -> None:
        with self._lock:
            self._failures.pop(provider, None)
            self._opened_at.pop(provider, None)

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()
            self._opened_at.clear()


BREAKER = CircuitBreaker()


def choose(candidates: list[str], excluded: tuple[str, ...]) -> str:
    """The first candidate not yet tried in this call and not cooling down (a cooling one only when
    nothing else is left: better a doubtful provider than none)."""
    untried = [name for name in candidates if name not in excluded]
    if not untried:
        raise NoProviderLeft(f"Every provider was tried: {candidates}")
    for name in untried:
        if not BREAKER.is_open(name):
            return name
    return untried[0]


def with_fallback(factory: Callable[[ClientContext], Flow], ctx: ClientContext) -> Flow:
    """Run the flow `factory(ctx)`; on a retryable provider failure, run it again without that provider."""
    if not ctx.fallback:
        return (yield from factory(ctx))
    excluded: tuple[str, ...] = ()
    last_error: InferenceError | None = None
    while True:
        try:
            result = yield from factory(ctx.excluding(excluded))
        except NoProviderLeft:
            if last_error is not None:
                raise last_error from None
            raise
        except InferenceError as error:
            provider = error.provider
            if provider is None or provider == "hub" or not is_retryable(error):
                raise
            BREAKER.failure(provider)
            excluded += (provider,)
            last_error = error
            logger().info("provider %s failed (%s); falling back to the next one", provider, error)
            continue
        answered = getattr(result, "response_meta", None)
        if answered is not None and answered.provider:
            BREAKER.success(answered.provider)
        return result
