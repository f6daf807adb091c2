"""`timeout=` means what the Hugging Face guide says, on both clients, against slow loopback servers
that count what they receive: a plain number bounds a whole call (retries included) and each wait
of a stream, and a POST that timed out once sent is not sent again unless the caller opts in."""

from __future__ import annotations

import pytest

from clients import Runner
from fixture_server import FixtureServer
from omniinfer import InferenceTimeoutError, ServerError, Timeout
from omniinfer._core.records import Request
from omniinfer._core.timeouts import ConnectTimeoutError, may_have_been_processed
from samples import COMPLETION, HI, ROUTE, chunk


def test_slow_answer_times_out_once_with_the_guides_message(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", ROUTE, json=COMPLETION, delay=3)  # a 3-second answer
    with Runner(kind, fixture_server.url, timeout=0.5) as run, pytest.raises(InferenceTimeoutError) as caught:
        run("chat_completion", HI)
    assert str(caught.value).startswith("Inference call timed out after 0.5s: http://127.0.0.1")
    assert caught.value.url == fixture_server.url + ROUTE
    assert isinstance(caught.value, TimeoutError)
    assert len(fixture_server.requests) == 1  # sent once: the server may be running it


@pytest.mark.parametrize(
    ("settings", "sent"),
    [
        ({"timeout": Timeout(read=0.3)}, 3),  # an explicit Timeout opts in (with the default 2 retries)
        ({"timeout": 0.3, "max_retries": 0}, 1),
        ({"timeout": Timeout(read=0.3), "max_retries": 1}, 2),
    ],
    ids=["Timeout", "max_retries=0", "max_retries=1"],
)
def test_resending_a_timed_out_post_is_opt_in(
    fixture_server: FixtureServer, kind: str, settings: dict[str, object], sent: int
) -> None:
    fixture_server.add("POST", ROUTE, json=COMPLETION, delay=3)
    with Runner(kind, fixture_server.url, **settings) as run, pytest.raises(InferenceTimeoutError):
        run("chat_completion", HI)
    assert len(fixture_server.requests) == sent


def test_a_plain_number_bounds_the_retries_too(fixture_server: FixtureServer, kind: str) -> None:
    # The server asks to come back in 1 s: with timeout=0.5 that wait would outlive the call.
    fixture_server.add("POST", ROUTE, status=503, json={"error": "busy"}, headers={"Retry-After": "1"})
    with Runner(kind, fixture_server.url, timeout=0.5) as run, pytest.raises(ServerError):
        run("chat_completion", HI)
    assert len(fixture_server.requests) == 1


def test_429_and_503_stay_retried(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", ROUTE, status=429, json={"error": "slow down"}, headers={"retry-after-ms": "1"}, times=1)
    fixture_server.add("POST", ROUTE, status=503, json={"error": "busy"}, headers={"retry-after-ms": "1"}, times=1)
    fixture_server.add("POST", ROUTE, json=COMPLETION)
    with Runner(kind, fixture_server.url, timeout=5) as run:
        assert run("chat_completion", HI).choices[0].message.content == "ok"
    assert len(fixture_server.requests) == 3


def test_a_stream_longer_than_the_timeout_is_never_cut(fixture_server: FixtureServer, kind: str) -> None:
    # Eight chunks 0.25 s apart: about 2 s in all, each wait well within timeout=1.
    fixture_server.add("POST", ROUTE, sse=[chunk(str(i)) for i in range(8)], chunk_delay=0.25)
    with Runner(kind, fixture_server.url, timeout=1) as run:
        chunks = run("chat_completion", HI, stream=True)
    assert "".join(c.choices[0].delta.content for c in chunks) == "01234567"


def test_a_stream_that_does_not_start_times_out(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", ROUTE, sse=[chunk()], delay=3)
    with Runner(kind, fixture_server.url, timeout=0.5) as run, pytest.raises(InferenceTimeoutError, match=r"0\.5s"):
        run("chat_completion", HI, stream=True)
    assert len(fixture_server.requests) == 1


def test_a_stream_that_stalls_between_chunks_times_out(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", ROUTE, sse=[chunk(), chunk()], stall_after_chunks=2)
    with Runner(kind, fixture_server.url, timeout=0.5) as run, pytest.raises(InferenceTimeoutError, match=r"0\.5s"):
        run("chat_completion", HI, stream=True)


def test_explicit_phases_are_named(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", ROUTE, json=COMPLETION, delay=3)
    with (
        Runner(kind, fixture_server.url, timeout=Timeout(read=0.3), max_retries=0) as run,
        pytest.raises(InferenceTimeoutError, match=r"after 0.3s \(waiting for the answer\)"),
    ):
        run("chat_completion", HI)


def test_client_timeout_reads_as_given() -> None:
    from omniinfer import InferenceClient

    assert InferenceClient(timeout=30).timeout == 30
    assert InferenceClient().timeout is None
    phases = Timeout(connect=1, read=2)
    assert InferenceClient(timeout=phases).timeout is phases


def test_which_timeouts_may_have_been_processed() -> None:
    post = Request("POST", "http://h/x", {})
    get = Request("GET", "http://h/x", {})
    assert may_have_been_processed(InferenceTimeoutError("read"), post)
    assert not may_have_been_processed(ConnectTimeoutError("connect"), post)  # never sent
    assert not may_have_been_processed(InferenceTimeoutError("read"), get)  # safe to repeat


def test_first_token_and_total_phases_are_named(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", ROUTE, sse=[chunk()], stall_after_chunks=0)  # the head at once, then nothing
    with (
        Runner(kind, fixture_server.url, timeout=Timeout(first_token=0.3), max_retries=0) as run,
        pytest.raises(InferenceTimeoutError, match=r"after 0\.3s \(waiting for the first token\)"),
    ):
        run("chat_completion", HI, stream=True)
    fixture_server.add("POST", ROUTE, json=COMPLETION, delay=3)
    with (
        Runner(kind, fixture_server.url, timeout=Timeout(read=5, total=0.3), max_retries=0) as run,
        pytest.raises(InferenceTimeoutError, match=r"after 0\.3s \(for the whole call\)"),
    ):
        run("chat_completion", HI)


def test_each_wait_keeps_its_own_deadline_on_a_reused_connection(fixture_server: FixtureServer) -> None:
    """The async transport keeps one timer per connection across waits (not one per wait): a wait
    is neither cut by an earlier wait's deadline nor left to a later one."""
    import asyncio
    import time

    from omniinfer import AsyncInferenceClient

    fixture_server.add("POST", ROUTE, json=COMPLETION, times=1)
    fixture_server.add("POST", ROUTE, json=COMPLETION, delay=3)

    async def calls() -> tuple[float, float]:
        async with AsyncInferenceClient(base_url=fixture_server.url, timeout=0.6, max_retries=0) as client:
            await client.chat_completion(HI)  # answered at once: the connection's timer is set for 0.6 s on
            await asyncio.sleep(0.3)
            started = time.monotonic()
            with pytest.raises(InferenceTimeoutError):  # same connection, its answer 3 s away
                await client.chat_completion(HI)
            cut_after = time.monotonic() - started
        sent = len(fixture_server.requests)
        fixture_server.clear()
        fixture_server.add("POST", ROUTE, sse=[chunk()], stall_after_chunks=0)  # the head at once, then nothing
        phases = Timeout(read=5, first_token=0.4)  # the head's wait: 5 s; the first token's: 0.4 s, earlier
        async with AsyncInferenceClient(base_url=fixture_server.url, timeout=phases, max_retries=0) as client:
            started = time.monotonic()
            with pytest.raises(InferenceTimeoutError, match="first token"):
                async for _ in await client.chat_completion(HI, stream=True):
                    pass
            first_token_after = time.monotonic() - started
        return sent, cut_after, first_token_after

    sent, cut_after, first_token_after = asyncio.run(calls())
    assert sent == 2
    assert 0.55 <= cut_after < 2.5  # its own 0.6 s: not the first call's timer (0.3 s in), not the server's 3 s
    assert 0.35 <= first_token_after < 2.5  # the earlier deadline armed the timer anew: not after the head's 5 s
