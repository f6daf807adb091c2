"""Errors as the reference client's users catch them: `e.response`, OSError, construction, pickling;
and clients that pickle as their settings. Both clients, against the fixture server and cassettes."""

from __future__ import annotations

import inspect
import pickle
from typing import Any, ClassVar

import pytest

import omniinfer.errors as errors_module
from cassettes import load
from clients import Runner
from fixture_server import FixtureServer
from omniinfer import AsyncInferenceClient, InferenceClient
from omniinfer.errors import (
    BadRequestError,
    ErrorRequest,
    ErrorResponse,
    HfHubHTTPError,
    InferenceError,
    InferenceHTTPError,
    NotFoundError,
    ValidationError,
)
from samples import COMPLETION, HI, ROUTE

MESSAGES = [{"role": "user", "content": "What is deep learning?"}]


def _error_classes() -> list[type[InferenceError]]:
    return [
        obj
        for _, obj in inspect.getmembers(errors_module, inspect.isclass)
        if issubclass(obj, InferenceError) and obj.__module__ == errors_module.__name__
    ]


def test_every_error_of_the_family_is_an_oserror() -> None:
    classes = _error_classes()
    assert len(classes) >= 19
    assert all(issubclass(cls, OSError) for cls in classes)
    assert HfHubHTTPError is InferenceHTTPError
    assert issubclass(BadRequestError, ValueError)
    assert all(cls("x").response is None and cls("x").request is None for cls in classes)  # as requests' errors


def test_e_response_on_an_http_error(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add(
        "POST",
        ROUTE,
        status=404,
        json={"error": "no such model"},
        headers={"X-Request-Id": "req-42", "Content-Type": "application/json"},
    )
    with Runner(kind, fixture_server.url, token="hf_secret_value") as run:
        try:
            run("chat_completion", HI)
        except HfHubHTTPError as e:  # the reference's spelling
            error = e
        else:
            pytest.fail("no error raised")
    assert type(error) is NotFoundError
    response = error.response
    assert response.status_code == 404
    assert response.headers["x-request-id"] == "req-42" == response.headers["X-Request-ID"]
    assert response.json() == {"error": "no such model"}
    assert "no such model" in response.text
    assert response.url == f"{fixture_server.url}/v1/chat/completions"
    assert (response.request.method, response.request.url) == ("POST", response.url)
    assert error.request is response.request
    assert (response.reason, response.ok) == ("Not Found", False)
    assert error.request_id == "req-42" and error.server_message == "no such model"
    assert "hf_secret_value" not in repr(response.request) + str(error) + response.text


def test_e_response_on_a_recorded_error(hub: FixtureServer, kind: str) -> None:
    load(hub, "TestInferenceClient.test_chat_completion_unprocessable_entity")
    with Runner(kind, "meta-llama/Meta-Llama-3-70B-Instruct", provider="hf-inference", token="hf_bad_token") as run:
        with pytest.raises(HfHubHTTPError) as caught:
            run("chat_completion", MESSAGES, max_tokens=200, stop=["blah"])
    response = caught.value.response
    assert response.status_code == 401
    assert response.json()["error"] == "Invalid username or password."
    assert response.request.method == "POST"
    assert "hf_bad_token" not in pickle.dumps(caught.value).decode("latin-1")


def test_a_recorded_tgi_error_carries_its_response(hub: FixtureServer, kind: str) -> None:
    load(hub, "TestTextGenerationClientVCR.test_generate_validation_error")
    with Runner(kind, "google/flan-t5-xxl", provider="hf-inference") as run, pytest.raises(ValidationError) as caught:
        run("text_generation", "test", max_new_tokens=10_000)
    assert caught.value.response.status_code == 422
    assert caught.value.response.json()["error_type"] == "validation"


def test_an_error_event_in_a_stream_has_a_response(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", ROUTE, sse=[{"error": "model overloaded", "error_type": "overloaded"}])
    with Runner(kind, fixture_server.url) as run, pytest.raises(HfHubHTTPError) as caught:
        run("chat_completion", HI, stream=True)
    response = caught.value.response
    assert response.status_code == 200  # the error came inside a 200 stream
    assert response.json() == {"error": "model overloaded", "error_type": "overloaded"}
    assert response.request.method == "POST"


def test_an_error_raised_by_a_call_pickles(fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", ROUTE, status=400, json={"error": "bad stop"}, headers={"x-request-id": "r1"})
    with Runner(kind, fixture_server.url) as run, pytest.raises(BadRequestError) as caught:
        run("chat_completion", HI)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is BadRequestError and str(copy) == str(caught.value)
    assert (copy.status_code, copy.server_message, copy.request_id, copy.url) == (
        400,
        "bad stop",
        "r1",
        copy.response.url,
    )
    assert copy.response.json() == {"error": "bad stop"} and copy.response.request.method == "POST"


def test_construct_as_in_the_reference() -> None:
    bare = HfHubHTTPError("plain message")
    assert str(bare) == "plain message" and bare.response is None and bare.status_code is None
    response = ErrorResponse(503, {"Retry-After": "1"}, b"busy", "https://h/x", ErrorRequest("GET", "https://h/x"))
    with_response = HfHubHTTPError("busy", response=response)
    assert with_response.status_code == 503 and with_response.headers["retry-after"] == "1"
    assert with_response.url == "https://h/x" and with_response.request.method == "GET"
    positional = HfHubHTTPError("busy", response)  # 0.33's positional spelling
    assert positional.response is response

    class ForeignResponse:  # a requests/httpx response a user hands over
        status_code = 429
        headers: ClassVar[dict[str, str]] = {"X-Request-Id": "abc"}
        content = b"slow down"
        url = "https://x/y"
        request = None

    foreign = HfHubHTTPError("slow down", response=ForeignResponse())
    assert (foreign.status_code, foreign.request_id, foreign.body) == (429, "abc", b"slow down")
    foreign.append_to_message(" (more)")
    assert str(foreign) == "slow down (more)"


def _sample(cls: type[InferenceError]) -> InferenceError:
    if issubclass(cls, InferenceHTTPError):
        response = ErrorResponse(
            418, {"x-request-id": "id-1"}, b'{"error":"x"}', "https://h/p", ErrorRequest("POST", "https://h/p")
        )
        return cls(f"{cls.__name__} text", response=response, server_message="x", provider="prov")
    return cls(f"{cls.__name__} text", url="https://h/p", provider="prov")


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda c: c.__name__)
def test_every_error_class_round_trips_through_pickle(cls: type[InferenceError]) -> None:
    error = _sample(cls)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        copy = pickle.loads(pickle.dumps(error, protocol=protocol))
        assert type(copy) is cls and str(copy) == str(error) and copy.args == error.args
        assert (copy.url, copy.provider) == ("https://h/p", "prov")
        if isinstance(error, InferenceHTTPError):
            assert isinstance(copy, InferenceHTTPError)
            fields = ("status_code", "request_id", "server_message", "body")
            assert [getattr(copy, f) for f in fields] == [418, "id-1", "x", b'{"error":"x"}']
            assert copy.response.status_code == 418 and copy.response.json() == {"error": "x"}
            assert copy.request.method == "POST" and copy.headers["X-Request-Id"] == "id-1"


def test_utils_exports_the_reference_spellings() -> None:
    from omniinfer.utils import BadRequestError as Bad
    from omniinfer.utils import HfHubHTTPError as Http
    from omniinfer.utils import get_token

    assert Http is HfHubHTTPError and Bad is BadRequestError
    assert get_token() is None  # the tests run with no stored token


# --- clients --------------------------------------------------------------------------------------


def _call(client: Any) -> Any:
    if isinstance(client, AsyncInferenceClient):
        import asyncio

        async def run() -> Any:
            try:
                return await client.chat_completion(HI)
            finally:
                await client.close()

        return asyncio.run(run())
    return client.chat_completion(HI)


@pytest.mark.parametrize("client_class", [InferenceClient, AsyncInferenceClient])
def test_a_client_pickles_as_its_settings_and_reconnects(
    fixture_server: FixtureServer, client_class: type[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    fixture_server.add("POST", ROUTE, json=COMPLETION)
    monkeypatch.setenv("HF_TOKEN", "hf_stored_on_this_machine")
    client = client_class(fixture_server.url, timeout=30, headers={"x-team": "a"})
    assert _call(client).choices[0].message.content == "ok"  # the pool now holds a connection
    data = pickle.dumps(client)
    assert b"hf_stored_on_this_machine" not in data  # the machine's token stays on the machine
    copy = pickle.loads(data)
    assert type(copy) is client_class and (copy.model, copy.headers["x-team"]) == (fixture_server.url, "a")
    assert copy._transport is not client._transport
    assert _call(copy).choices[0].message.content == "ok"
    sent = [r for r in fixture_server.requests if r.method == "POST"]
    assert len(sent) == 2 and sent[1].headers["authorization"] == "Bearer hf_stored_on_this_machine"
    if client_class is InferenceClient:
        client.close()


def test_a_pickled_client_keeps_its_own_token_out_of_its_repr(fixture_server: FixtureServer) -> None:
    fixture_server.add("POST", ROUTE, json=COMPLETION)
    client = InferenceClient(fixture_server.url, token="hf_given_token")
    copy = pickle.loads(pickle.dumps(client))
    assert "hf_given_token" not in repr(copy)
    copy.chat_completion(HI)
    assert fixture_server.requests[-1].headers["authorization"] == "Bearer hf_given_token"
    copy.close()
