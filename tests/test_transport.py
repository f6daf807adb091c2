"""Deadlines and connection reuse, over real loopback sockets, on both clients."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from clients import Runner
from fixture_server import FixtureServer
from omniinfer import InferenceConnectionError, InferenceTimeoutError, Timeout
from samples import CHUNK, COMPLETION, HI


def test_stalled_server_times_out(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", "/v1/chat/completions", stall=True)
    with Runner(kind, fixture_server.url, timeout=0.3) as run, pytest.raises(InferenceTimeoutError) as caught:
        run("chat_completion", HI)
    assert isinstance(caught.value, TimeoutError)
    assert caught.value.url == fixture_server.url + "/v1/chat/completions"


def test_stream_that_stalls_mid_way_times_out(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", "/v1/chat/completions", sse=[CHUNK, CHUNK, CHUNK], stall_after_chunks=1)
    with Runner(kind, fixture_server.url, timeout=0.3) as run, pytest.raises(InferenceTimeoutError):
        run("chat_completion", HI, stream=True)


def test_total_deadline_bounds_a_slow_dribble(fixture_server: FixtureServer, kind: str) -> None:
    # Each chunk comes before the read timeout, but the whole answer takes longer than `total`.
    fixture_server.add("POST", "/v1/chat/completions", sse=[CHUNK] * 20 + ["data: [DONE]\n\n"], chunk_delay=0.1)
    with Runner(kind, fixture_server.url, timeout=Timeout(read=1.0, total=0.5)) as run:
        with pytest.raises(InferenceTimeoutError):
            run("chat_completion", HI, stream=True)


def test_first_token_deadline(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", "/v1/chat/completions", sse=[CHUNK, "data: [DONE]\n\n"], stall_after_chunks=0)
    with Runner(kind, fixture_server.url, timeout=Timeout(read=5.0, first_token=0.3)) as run:
        with pytest.raises(InferenceTimeoutError):
            run("chat_completion", HI, stream=True)


def test_slow_headers_time_out(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", "/v1/chat/completions", json=COMPLETION, delay=2.0)
    with Runner(kind, fixture_server.url, timeout=0.3) as run, pytest.raises(InferenceTimeoutError):
        run("chat_completion", HI)


@pytest.fixture
def full_backlog() -> Iterator[str]:
    """A listening socket whose accept queue is full: new connections hang in the handshake."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(8):
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(filler)
    yield f"http://127.0.0.1:{port}"
    for sock in [*fillers, listener]:
        sock.close()


def test_connect_timeout(full_backlog: str, kind: str) -> None:
    with Runner(kind, full_backlog, timeout=Timeout(connect=0.3, read=5)) as run:
        with pytest.raises(InferenceTimeoutError):
            run("chat_completion", HI)


def test_refused_connection_is_a_connection_error(kind: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with Runner(kind, f"http://127.0.0.1:{port}") as run, pytest.raises(InferenceConnectionError) as caught:
        run("chat_completion", HI)
    assert isinstance(caught.value, ConnectionError)


def test_connections_are_reused_for_calls_and_streams(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", "/v1/chat/completions", json=COMPLETION)
    fixture_server.add("POST", "/stream/v1/chat/completions", sse=[CHUNK, CHUNK, "data: [DONE]\n\n"])
    with Runner(kind) as run:
        for _ in range(5):
            assert run("chat_completion", HI, model=fixture_server.url).choices[0].message.content == "ok"
            assert len(run("chat_completion", HI, model=fixture_server.url + "/stream", stream=True)) == 2
    assert fixture_server.connections_accepted == 1


def test_server_closing_an_idle_connection_is_transparent(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", "/v1/chat/completions", json=COMPLETION, headers={"Connection": "close"}, times=1)
    fixture_server.add("POST", "/v1/chat/completions", json=COMPLETION)
    with Runner(kind, fixture_server.url) as run:
        for _ in range(3):
            assert run("chat_completion", HI).choices[0].message.content == "ok"
    assert fixture_server.connections_accepted == 2


def test_a_request_the_server_resets_is_not_resent_once_per_pooled_connection(fixture_server: FixtureServer) -> None:
    import asyncio

    from omniinfer import AsyncInferenceClient

    fixture_server.add("POST", "/v1/chat/completions", json=COMPLETION)
    fixture_server.add("POST", "/poison/v1/chat/completions", reset=True)

    async def main() -> None:
        async with AsyncInferenceClient(max_retries=0) as client:
            # Eight pooled connections, all idle and healthy.
            await asyncio.gather(*(client.chat_completion(HI, model=fixture_server.url) for _ in range(8)))
            with pytest.raises(InferenceConnectionError):
                await client.chat_completion(HI, model=fixture_server.url + "/poison")

    asyncio.run(main())
    poisoned = [r for r in fixture_server.requests if r.path.startswith("/poison")]
    assert len(poisoned) == 1  # written whole, then reset: max_retries=0 means one send, never a resend
