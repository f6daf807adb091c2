"""Calls waiting for a free connection (`max_connections`): served in order, each within its own
deadline, with one loop timer for all of them (`omniinfer._http.waiting.ConnectionQueue`)."""

from __future__ import annotations

import asyncio
import time

import pytest

from fixture_server import FixtureServer
from omniinfer import AsyncInferenceClient, InferenceTimeoutError, Timeout
from omniinfer._core.timeouts import ConnectTimeoutError
from omniinfer._http.waiting import ConnectionQueue, WaitExpired
from samples import COMPLETION, HI, ROUTE


def test_calls_past_the_connection_limit_wait_within_their_connect_timeout(fixture_server: FixtureServer) -> None:
    fixture_server.add("POST", ROUTE, json=COMPLETION, delay=1.0)

    async def calls() -> list[object]:
        timeout = Timeout(connect=0.3, read=5)
        async with AsyncInferenceClient(
            base_url=fixture_server.url, max_connections=2, timeout=timeout, max_retries=0
        ) as client:
            return await asyncio.gather(*(client.chat_completion(HI) for _ in range(4)), return_exceptions=True)

    outcomes = asyncio.run(calls())
    answered = [o for o in outcomes if not isinstance(o, BaseException)]
    waited = [o for o in outcomes if isinstance(o, InferenceTimeoutError)]
    assert len(answered) == 2 and len(waited) == 2, outcomes
    # Never sent: a connect timeout (which the retry policy may resend, unlike a timeout once sent).
    assert all(isinstance(o, ConnectTimeoutError) for o in waited)
    assert "timed out after 0.3s (connecting)" in str(waited[0])
    assert len(fixture_server.requests) == 2


def test_many_calls_gathered_past_the_limit_are_all_served(fixture_server: FixtureServer) -> None:
    fixture_server.add("POST", ROUTE, json=COMPLETION)

    async def calls() -> list[object]:
        async with AsyncInferenceClient(base_url=fixture_server.url, max_connections=4, timeout=30) as client:
            return await asyncio.gather(*(client.chat_completion(HI) for _ in range(600)))

    outcomes = asyncio.run(calls())
    assert [o.choices[0].message.content for o in outcomes] == ["ok"] * 600  # type: ignore[attr-defined]


def test_each_waiting_call_expires_at_its_own_deadline() -> None:
    async def waits() -> dict[str, float]:
        loop = asyncio.get_running_loop()
        queue = ConnectionQueue(loop)
        started = time.monotonic()
        ended: dict[str, float] = {}

        async def wait(name: str, timeout: float | None) -> None:
            waiter, place = queue.join(timeout)
            try:
                await waiter
                ended[name] = -1.0  # served
            except WaitExpired:
                ended[name] = time.monotonic() - started
            finally:
                queue.leave(waiter, place, served=ended.get(name) == -1.0)

        left, left_place = queue.join(0.05)  # a call that leaves at once: its deadline no longer counts
        queue.leave(left, left_place, served=False)
        tasks = [asyncio.ensure_future(wait(name, t)) for name, t in (("late", 0.6), ("early", 0.2), ("none", None))]
        await asyncio.sleep(0.9)
        assert set(ended) == {"late", "early"} and not left.done()
        queue.wake_one()  # the one still waiting (no deadline) is next in line
        await asyncio.gather(*tasks)
        return ended

    ended = asyncio.run(waits())
    assert 0.15 <= ended["early"] < ended["late"]  # the later call's earlier deadline armed the timer anew
    assert 0.55 <= ended["late"] < 0.9
    assert ended["none"] == -1.0


@pytest.mark.parametrize("served", [True, False])
def test_a_call_cancelled_after_it_was_woken_passes_its_turn_on(served: bool) -> None:
    async def turns() -> tuple[bool, bool]:
        queue = ConnectionQueue(asyncio.get_running_loop())
        first, first_place = queue.join(None)
        second, _ = queue.join(None)
        queue.wake_one()
        queue.leave(first, first_place, served=served)  # served: it takes the place; else it passes it on
        return first.done(), second.done()

    assert asyncio.run(turns()) == (True, not served)
