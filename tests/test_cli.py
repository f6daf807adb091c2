"""The `omniinfer` command line, run as a user runs it: a subprocess, against the fixture server."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from fixture_server import FixtureServer


def omniinfer(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m omniinfer ARGS` with no token and no Hub settings of the developer's."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE", "OMNIINFER_"))}
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "omniinfer", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=clean,
        timeout=60,
    )


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    return {"HF_HOME": str(tmp_path / "hf"), "OMNIINFER_HOME": str(tmp_path / "omniinfer")}


def _chunk(text: str, finish: str | None = None) -> dict[str, Any]:
    delta = {"content": text} if text else {}
    return {
        "object": "chat.completion.chunk",
        "id": "1",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _chat_server(server: FixtureServer) -> str:
    server.add(
        "POST", "/v1/chat/completions", sse=[_chunk("Paris"), _chunk(" is."), _chunk("", "stop"), "data: [DONE]\n\n"]
    )
    return server.url + "/v1"


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), "blue").save(buffer, format="PNG")
    return buffer.getvalue()


def test_chat_streams_the_answer_for_a_piped_prompt(fixture_server: FixtureServer, home: dict[str, str]) -> None:
    url = _chat_server(fixture_server)
    done = omniinfer("chat", "--base-url", url, "--system", "Be brief.", stdin="Capital of France?\n", env=home)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Paris is.\n"
    body = fixture_server.requests[0].json()
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of France?"},
    ]
    assert body["stream"] is True
    assert done.stderr == ""  # a configured target: no notice


def test_chat_options_reach_the_request(fixture_server: FixtureServer, home: dict[str, str], tmp_path: Path) -> None:
    url = _chat_server(fixture_server)
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    schema_file = tmp_path / "city.json"
    schema_file.write_text(json.dumps(schema))
    done = omniinfer(
        "chat", "Where?", "--model", url, "--max-tokens", "12", "--temperature", "0", "--json-schema", str(schema_file),
        env=home,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    body = fixture_server.requests[0].json()
    assert body["messages"] == [{"role": "user", "content": "Where?"}]
    assert body["max_tokens"] == 12 and body["temperature"] == 0
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == schema


def test_run_text_to_image_writes_the_image(
    fixture_server: FixtureServer, home: dict[str, str], tmp_path: Path
) -> None:
    fixture_server.add("POST", "/", host="t2i.example", body=_png(), headers={"Content-Type": "image/png"})
    out = tmp_path / "out" / "cat.png"
    model = fixture_server.host_url("t2i.example")
    done = omniinfer(
        "run", "text-to-image", "a cat", "--model", model, "--param", "seed=3", "--output", str(out), env=home
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"output": str(out), "kind": "image", "width": 4, "height": 3}
    with Image.open(out) as image:
        assert image.size == (4, 3)
    body = fixture_server.requests[0].json()
    assert body["inputs"] == "a cat" and body["parameters"]["seed"] == 3


def test_run_text_task_prints_json(fixture_server: FixtureServer, home: dict[str, str]) -> None:
    fixture_server.add("POST", "/", host="tgi.example", json=[{"generated_text": "four"}])
    done = omniinfer(
        "run", "text_generation", "--model", fixture_server.host_url("tgi.example"), "--param", "max_new_tokens=3",
        stdin="2+2=", env=home,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == "four"
    body = fixture_server.requests[0].json()
    assert body["inputs"] == "2+2=" and body["parameters"]["max_new_tokens"] == 3


def test_inference_error_exits_1_with_the_typed_message(fixture_server: FixtureServer, home: dict[str, str]) -> None:
    fixture_server.add("POST", "/v1/chat/completions", status=503, json={"error": "model is loading"})
    done = omniinfer("chat", "hi", "--base-url", fixture_server.url + "/v1", env=home)
    assert done.returncode == 1
    assert done.stdout == ""
    assert "ServerError" in done.stderr and "model is loading" in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["chat", "hi", "--max-tokens", "many"],  # argparse
        ["run", "no-such-task", "x"],
        ["run", "text-to-image", "a cat", "--model", "http://127.0.0.1:9/"],  # no --output
        ["run", "text-generation", "x", "--model", "http://127.0.0.1:9/", "--param", "nope=1"],
        ["chat", "hi", "--json-schema", "/nonexistent/schema.json"],
        ["chat", "hi", "--provider", "no-such-provider", "--model", "org/model"],  # the client refuses it
        [],
    ],
)
def test_usage_errors_exit_2(args: list[str], home: dict[str, str]) -> None:
    done = omniinfer(*args, env=home)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.strip()


def test_empty_piped_prompt_is_a_usage_error(home: dict[str, str]) -> None:
    done = omniinfer("chat", "--base-url", "http://127.0.0.1:9/v1", stdin="  \n", env=home)
    assert done.returncode == 2
    assert "no prompt" in done.stderr


def test_providers_and_tasks_tables(home: dict[str, str]) -> None:
    providers = omniinfer("providers", env=home)
    assert providers.returncode == 0
    lines = providers.stdout.splitlines()
    assert lines[0].split() == ["PROVIDER", "HOST", "ACCESS", "TASKS"]
    local = next(line for line in lines if line.startswith("local "))
    assert "no token" in local and "conversational" in local and "feature-extraction" in local
    tasks = omniinfer("tasks", env=home)
    assert tasks.returncode == 0
    rows = {line.split()[0]: line for line in tasks.stdout.splitlines()[2:]}
    assert "chat_completion" in rows["conversational"] and "local" in rows["conversational"]
    assert "text_to_image" in rows["text-to-image"]
    assert len(rows) == 29  # every task method of the client
    assert "hf-inference" in rows["tabular-regression"]


def test_help_does_not_import_the_client() -> None:
    code = (
        "import sys; from omniinfer.cli.main import build_parser; build_parser().format_help();"
        "heavy = ('omniinfer.client', 'omniinfer.providers', 'omniinfer.tasks');"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "[]", done.stderr


def test_version_and_console_script(home: dict[str, str]) -> None:
    done = omniinfer("--version", env=home)
    assert done.returncode == 0 and done.stdout.startswith("omniinfer ")
    script = Path(sys.executable).with_name("omniinfer")
    if script.exists():
        assert subprocess.run([str(script), "--help"], capture_output=True, timeout=30).returncode == 0
