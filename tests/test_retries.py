"""Retries: what is sent again, how often, and what never is — on both clients, over loopback."""

from __future__ import annotations

import copy
import pickle
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clients import Runner
from fixture_server import FixtureServer
from omniinfer import BadRequestError, InferenceConnectionError, RateLimitError, ServerError
from omniinfer._core.records import Request
from omniinfer._core.retry import RetryPolicy, retry_delay, server_wait
from omniinfer.errors import InferenceHTTPError
from samples import CHUNK, COMPLETION, HI, ROUTE

POST = Request("POST", "http://127.0.0.1/v1/chat/completions", {})


def test_503_with_retry_after_then_success(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", ROUTE, status=503, json={"error": "warming up"}, headers={"Retry-After": "0.2"}, times=1)
    fixture_server.add("POST", ROUTE, json=COMPLETION)
    started = time.monotonic()
    with Runner(kind, fixture_server.url) as run:
        assert run("chat_completion", HI).choices[0].message.content == "ok"
    assert time.monotonic() - started >= 0.2  # the server's wait was honoured
    assert len(fixture_server.requests) == 2


def test_reset_before_response_is_retried(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", ROUTE, reset=True, times=1)
    fixture_server.add("POST", ROUTE, json=COMPLETION)
    with Runner(kind, fixture_server.url) as run:
        assert run("chat_completion", HI).choices[0].message.content == "ok"


def test_stream_retried_before_its_first_byte_only(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", ROUTE, status=502, json={"error": "bad gateway"}, times=1)
    fixture_server.add("POST", ROUTE, sse=[CHUNK, "data: [DONE]\n\n"], times=1)
    fixture_server.add("POST", ROUTE, sse=[CHUNK, CHUNK, CHUNK], reset_after_chunks=1)
    with Runner(kind, fixture_server.url) as run:
        assert len(run("chat_completion", HI, stream=True)) == 1
        assert len(fixture_server.requests) == 2
        with pytest.raises(InferenceConnectionError):
            run("chat_completion", HI, stream=True)  # cut mid-stream: raised, not resent
    assert len(fixture_server.requests) == 3


def test_429_storm_gives_up_after_max_retries(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", ROUTE, status=429, json={"error": "slow down"}, headers={"retry-after-ms": "10"})
    with Runner(kind, fixture_server.url, max_retries=3) as run, pytest.raises(RateLimitError):
        run("chat_completion", HI)
    assert len(fixture_server.requests) == 4


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_client_errors_are_not_retried(fixture_server: FixtureServer, status: int) -> None:
    fixture_server.add("POST", ROUTE, status=status, json={"error": "no"})
    with Runner("sync", fixture_server.url) as run, pytest.raises(InferenceHTTPError) as caught:
        run("chat_completion", HI)
    assert caught.value.status_code == status
    assert len(fixture_server.requests) == 1
    if status == 400:
        assert isinstance(caught.value, BadRequestError)


def test_max_retries_zero_disables_retries(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", ROUTE, status=500, json={"error": "boom"})
    with Runner(kind, fixture_server.url, max_retries=0) as run, pytest.raises(ServerError):
        run("chat_completion", HI)
    assert len(fixture_server.requests) == 1


def test_retry_after_beyond_the_cap_is_not_waited_for(fixture_server: FixtureServer) -> None:
    fixture_server.add("POST", ROUTE, status=503, json={"error": "maintenance"}, headers={"Retry-After": "3600"})
    with Runner("sync", fixture_server.url) as run, pytest.raises(ServerError):
        run("chat_completion", HI)
    assert len(fixture_server.requests) == 1


def test_invalid_max_retries_is_rejected() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)


def test_server_wait_forms() -> None:
    assert server_wait({"retry-after": "2"}) == 2.0
    assert server_wait({"retry-after-ms": "250"}) == 0.25
    assert server_wait({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    assert server_wait({"retry-after": "soon"}) is None
    assert server_wait({}) is None


@given(st.integers(0, 10), st.integers(0, 10))
def test_backoff_is_bounded(attempt: int, retries: int) -> None:
    policy = RetryPolicy(max_retries=retries)
    error = ServerError("x", status_code=503)
    delay = retry_delay(policy, attempt, error, None, POST)
    if attempt >= retries:
        assert delay is None
    else:
        assert delay is not None and 0 <= delay <= policy.backoff_max


def test_deadline_stops_retrying() -> None:
    error = ServerError("x", status_code=503, headers={"retry-after": "5"})
    assert retry_delay(RetryPolicy(), 0, error, time.monotonic() + 1, POST) is None


def test_response_meta_on_results_and_streams(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", ROUTE, status=503, json={"error": "busy"}, headers={"retry-after-ms": "1"}, times=1)
    fixture_server.add("POST", ROUTE, json=COMPLETION, headers={"X-Request-Id": "req-7"})
    with Runner(kind, fixture_server.url) as run:
        out = run("chat_completion", HI)
    meta = out.response_meta
    assert (meta.status, meta.request_id, meta.attempts) == (200, "req-7", 2)
    assert meta.url == fixture_server.url + ROUTE
    assert meta.headers["x-request-id"] == "req-7"
    assert 0 < meta.time_to_first_byte <= meta.elapsed
    assert "response_meta" not in out and "_response_meta" not in out  # metadata is not part of the data
    # A result shipped to another process (Ray, multiprocessing) keeps its metadata, still not as data.
    shipped = pickle.loads(pickle.dumps(out))
    assert shipped == out and dict(shipped) == dict(out) and "_response_meta" not in shipped
    assert (shipped.response_meta.request_id, shipped.response_meta.attempts) == ("req-7", 2)
    assert copy.deepcopy(out).response_meta.request_id == "req-7"


def test_stream_meta_has_time_to_first_token(fixture_server: FixtureServer) -> None:
    fixture_server.add("POST", ROUTE, sse=[CHUNK, CHUNK, "data: [DONE]\n\n"], headers={"x-request-id": "s1"})
    from omniinfer import InferenceClient

    with InferenceClient(fixture_server.url) as client:
        stream = client.chat_completion(HI, stream=True)
        assert stream.response_meta.request_id == "s1"
        assert len(list(stream)) == 2
    meta = stream.response_meta
    assert meta.time_to_first_token is not None and meta.elapsed is not None
    assert meta.time_to_first_token <= meta.elapsed


def test_each_attempt_is_logged_without_the_token(
    fixture_server: FixtureServer, caplog: pytest.LogCaptureFixture
) -> None:
    fixture_server.add("POST", ROUTE, status=503, json={"error": "busy"}, headers={"retry-after-ms": "1"}, times=1)
    fixture_server.add("POST", ROUTE, json=COMPLETION)
    secret = "sk-never-in-logs"
    with caplog.at_level("DEBUG", logger="omniinfer"), Runner("sync", fixture_server.url, token=secret) as run:
        run("chat_completion", HI)
    attempts = [r.getMessage() for r in caplog.records if "(provider" in r.getMessage()]
    assert len(attempts) == 2 and attempts[1].endswith("attempt 2)")
    assert any("retrying" in r.getMessage() for r in caplog.records)
    assert secret not in caplog.text


def test_last_response_meta_covers_plain_results(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", "/", json=[{"generated_text": "plain"}], headers={"X-Request-Id": "tg-1"})
    with Runner(kind, fixture_server.url) as run:
        assert run("text_generation", "x") == "plain"  # a str cannot carry attributes
    meta = run.last_meta  # omniinfer.last_response_meta(), read in the calling thread or task
    assert meta is not None and meta.request_id == "tg-1" and meta.status == 200
