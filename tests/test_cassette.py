"""Record/replay (omniinfer.testing): record real answers from the fixture server, stop it, and get the
very same results back from the cassette alone; secrets never reach the file; a request that was not
recorded fails loudly; the pytest plugin names cassettes after tests."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from clients import Runner
from fixture_server import FixtureServer
from omniinfer import InferenceHTTPError
from omniinfer.testing import CassetteError, NoRecordingError, cassette
from omniinfer.testing.cassette import canonical_body
from probes import loaded_after
from samples import DONE, HI, ROUTE, chunk, completion

TOKEN = "hf_cassette_secret_0123456789"
COOKIE = "session-cookie-value-42"
API_KEY = "x-api-key-value-77"
TESTS = Path(__file__).resolve().parent


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), (250, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


def _serve(server: FixtureServer) -> None:
    # An SSE body with CRLF line ends and non-ASCII text: replay must give back the same bytes.
    server.add("POST", ROUTE, json=completion("hello", usage={"prompt_tokens": 3, "completion_tokens": 1}), times=1)
    server.add(
        "POST",
        ROUTE,
        sse=[
            chunk("é"),
            "data: " + '{"object":"chat.completion.chunk","id":"1",'
            '"created":1,"model":"m","choices":[{"index":0,"delta":{"content":"!"}}]}\r\n\r\n',
            DONE,
        ],
        times=1,
    )
    server.add("POST", "/image", body=_png(), headers={"Content-Type": "image/png", "Set-Cookie": "s=" + COOKIE})
    server.add("POST", ROUTE, status=422, json={"error": "Input validation error: bad"}, times=1)


def _calls(run: Runner, base: str) -> list[Any]:
    """The same four calls, recorded or replayed; each result reduced to something comparable."""
    chat = run("chat_completion", HI, model="m", max_tokens=4)
    chunks = run("chat_completion", HI, model="m", stream=True)
    image = run("text_to_image", "a cat", model=base + "/image")
    with pytest.raises(InferenceHTTPError) as error:
        run("chat_completion", HI, model="m", temperature=9.0)
    return [
        dict(chat),
        chat.response_meta.usage,
        [dict(c) for c in chunks],
        (image.size, image.tobytes()),
        (error.value.status_code, error.value.server_message),
    ]


def test_record_then_replay_without_the_server(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "tape.yaml"
    server = FixtureServer().start()
    base = server.url
    try:
        _serve(server)
        options: dict[str, Any] = {"token": TOKEN, "cookies": {"s": COOKIE}, "headers": {"X-Api-Key": API_KEY}}
        with cassette(path, mode="record") as tape, Runner(kind, base_url=base + "/v1", **options) as run:
            assert tape.mode == "record"
            recorded = _calls(run, base)
        live_requests = len(server.requests)
    finally:
        server.stop()
    assert live_requests == 4
    text = path.read_text()
    for secret in (TOKEN, COOKIE, API_KEY):
        assert secret not in text
    assert "text/event-stream" in text and "!!binary" in text  # the stream as text, the image as bytes

    with cassette(path, mode="replay") as tape, Runner(kind, base_url=base + "/v1", **options) as run:
        replayed = _calls(run, base)
        assert tape.played == 4
    assert replayed == recorded


def test_stream_bytes_come_back_exactly(tmp_path: Path, fixture_server: FixtureServer) -> None:
    raw = b'data: {"a": "\xc3\xa9 \\u00e9"}\r\n\r\ndata: [DONE]\r\n\r\n'
    fixture_server.add("POST", "/raw", body=raw, headers={"Content-Type": "text/event-stream"})
    path = tmp_path / "raw.yaml"
    tape = cassette(path, mode="record")
    request_body = b'{"x": 1}'
    with tape:
        from omniinfer._core.records import Request
        from omniinfer._http.sync_transport import SyncTransport

        transport = SyncTransport()
        answer = tape.send(transport, Request("POST", fixture_server.url + "/raw", {}, request_body), 5, 5, None)
        assert b"".join(answer.iter_bytes()) == raw
        transport.close()
    replay = cassette(path, mode="replay")
    answer = replay.send(None, Request("POST", fixture_server.url + "/raw", {}, b'{ "x" : 1 }'), 5, 5, None)
    assert answer.read() == raw


def test_a_request_not_recorded_fails_loudly(tmp_path: Path, fixture_server: FixtureServer, kind: str) -> None:
    fixture_server.add("POST", ROUTE, json=completion("hi"))
    path = tmp_path / "one.yaml"
    with cassette(path, mode="once"), Runner(kind, base_url=fixture_server.url + "/v1") as run:
        run("chat_completion", HI)
    with cassette(path, mode="once") as tape, Runner(kind, base_url=fixture_server.url + "/v1") as run:
        assert tape.mode == "replay"
        # Key order of the JSON body does not matter...
        assert run("chat_completion", [{"content": "hi", "role": "user"}]).choices[0].message.content == "hi"
        # ...its content does.
        with pytest.raises(NoRecordingError) as missing:
            run("chat_completion", [{"role": "user", "content": "something else"}])
    message = str(missing.value)
    assert str(path) in message and "POST" in message and "/v1/chat/completions" in message
    assert "something else" in message
    assert len(fixture_server.requests) == 1  # the recording only: replay never called the server


def test_replay_needs_the_file(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match="record it first"):
        cassette(tmp_path / "absent.yaml", mode="replay")
    with pytest.raises(CassetteError, match="mode must be one of"):
        cassette(tmp_path / "x.yaml", mode="sometimes")  # type: ignore[arg-type]


def test_canonical_body() -> None:
    assert canonical_body(b'{"b": 1, "a": [1, 2]}') == canonical_body(b'{"a":[1,2],"b":1}')
    assert canonical_body(b"{not json") == b"{not json"
    body = b"--abc123\r\nContent-Disposition: form-data\r\n\r\nx\r\n--abc123--\r\n"
    assert canonical_body(body, "multipart/form-data; boundary=abc123") == body.replace(b"abc123", b"BOUNDARY")


def test_pytest_plugin_names_the_cassette_after_the_test(tmp_path: Path, fixture_server: FixtureServer) -> None:
    fixture_server.add("POST", ROUTE, json=completion("from the plugin"))
    test_file = tmp_path / "test_users_code.py"
    test_file.write_text(
        textwrap.dedent(
            f"""
            from omniinfer import InferenceClient

            def test_chat(omniinfer_cassette):
                client = InferenceClient(base_url="{fixture_server.url}/v1", token="{TOKEN}")
                out = client.chat_completion([{{"role": "user", "content": "hi"}}])
                assert out.choices[0].message.content == "from the plugin"
            """
        )
    )

    def pytest_run(*options: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(test_file), *options]
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)

    first = pytest_run()  # default: replay only, and there is nothing to replay
    assert first.returncode == 1 and "record it first" in first.stdout
    assert pytest_run("--omniinfer-record=once").returncode == 0
    recorded = tmp_path / "cassettes" / "test_users_code" / "test_chat.yaml"
    assert recorded.exists() and TOKEN not in recorded.read_text()
    served = len(fixture_server.requests)
    assert pytest_run().returncode == 0  # replayed
    assert len(fixture_server.requests) == served


def test_the_plugin_and_the_package_load_nothing_heavy() -> None:
    # pytest loads the plugin in every run of a project that installed omniinfer.
    heavy = ("yaml", "opentelemetry", "omniinfer._http.sync_transport", "asyncio")
    assert loaded_after("import omniinfer.testing.pytest_plugin", heavy) == []
