"""The in-process limiter: `RateState` behind an async `acquire`, shared by every request of a job."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Protocol

from omniinfer._core.notices import notice
from omniinfer.bulk.pacing import RateState, spoken_duration

LONG_WAIT_S = 30.0  # a wait this long is told on stderr: a job that waits must not look hung


class Limiter(Protocol):
    """What the engine asks before each request and tells after each answer. The Ray limiter
    (`omniinfer.bulk.ray`) has the same shape, backed by one actor for the whole cluster."""

    async def acquire(self, tokens: float, may_lag: bool = False) -> int:
        """Wait until one request of about `tokens` tokens may leave; its sequence number. `may_lag`:
        it may reach the server after later ones (see `RateState.number`)."""
        ...

    def observe(self, seq: int, headers: Mapping[str, str], accepted: bool = False) -> None:
        """The answer to request `seq` came with these headers; `accepted`: it was not refused (a 2xx)."""
        ...

    def landed(self, seq: int) -> None:
        """Request `seq` was answered or failed."""
        ...

    def rate_limited(self, retry_after: float | None, seq: int | None = None) -> None:
        """A 429 to request `seq`: pause every request that shares this limiter."""
        ...

    def settle(self, estimated: float, actual: float) -> None: ...

    def stats(self) -> int:
        """429s seen by this limiter."""
        ...


SERVER_BUDGET = "the server's rate limit budget to come back"
OWN_CAPS = "the job's own --rpm/--tpm caps"
ANY_LIMIT = "the rate limits (the server's, or the job's --rpm/--tpm caps)"


class WaitNotice:
    """Says once that requests wait long, and for what (every worker waits at once)."""

    __slots__ = ("_told_until",)

    def __init__(self) -> None:
        self._told_until = 0.0

    def waiting(self, seconds: float, now: float, cause: str = ANY_LIMIT) -> None:
        if seconds < LONG_WAIT_S or now + seconds <= self._told_until + 1.0:
            return
        self._told_until = now + seconds
        notice(f"requests wait {spoken_duration(seconds)} for {cause} (Ctrl+C stops the job; --resume goes on later)")


class LocalLimiter:
    __slots__ = ("_notice", "state")

    def __init__(self, rpm: float | None, tpm: float | None) -> None:
        self.state = RateState(rpm, tpm, time.monotonic())
        self._notice = WaitNotice()

    async def acquire(self, tokens: float, may_lag: bool = False) -> int:
        state = self.state
        now = time.monotonic()
        capped, blocked = state.charge(1, tokens, now), state.blocked_for(now, tokens)
        wait, cause = (capped, OWN_CAPS) if capped > blocked else (blocked, SERVER_BUDGET)
        while wait > 0:  # a pause may start, or a server window close, while we sleep: look again
            self._notice.waiting(wait, now, cause)
            await asyncio.sleep(wait)
            now = time.monotonic()
            wait, cause = state.blocked_for(now, tokens), SERVER_BUDGET
        return state.number(1, tokens, now, may_lag=may_lag)

    def observe(self, seq: int, headers: Mapping[str, str], accepted: bool = False) -> None:
        now = time.monotonic()
        if accepted:
            self.state.count_accepted(1, now)
        self.state.observe(seq, headers, now)

    def landed(self, seq: int) -> None:
        self.state.landed(seq)

    def rate_limited(self, retry_after: float | None, seq: int | None = None) -> None:
        self.state.pause(retry_after, time.monotonic(), seq)

    def settle(self, estimated: float, actual: float) -> None:
        self.state.settle_tokens(estimated, actual)

    def stats(self) -> int:
        return self.state.rate_limited
