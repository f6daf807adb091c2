"""The examples of docs/observability.md and docs/testing.md, run as written (each page's python blocks
as one program, in a fresh interpreter) against the fixture server standing in for the local server
they name."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from fixture_server import FixtureServer
from samples import DONE, ROUTE, chunk, completion

DOCS = Path(__file__).resolve().parent.parent / "docs"
USAGE = {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}


def program(page: str, server: FixtureServer) -> str:
    text = (DOCS / page).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert blocks, f"no python examples in {page}"
    return "\n".join(blocks).replace("http://localhost:8080", server.url)


def run(code: str, cwd: Path) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_observability_examples(fixture_server: FixtureServer, tmp_path: Path) -> None:
    fixture_server.add("POST", ROUTE, json=completion("hi", usage=USAGE), times=1)
    fixture_server.add("POST", ROUTE, sse=[chunk("1 2 3"), {**chunk(""), "choices": [], "usage": USAGE}, DONE], times=1)
    fixture_server.add("POST", ROUTE, json=completion("hi", usage=USAGE))
    fixture_server.add("POST", "/v1/embeddings", json={"data": [{"embedding": [0.1]}], "usage": {"prompt_tokens": 1}})
    out = run(program("observability.md", fixture_server), tmp_path).splitlines()
    assert out[0] == "Usage(input_tokens=9, output_tokens=2)"
    assert out[1] == "3 11 2"  # the chat call, then two embeddings calls of one prompt token each
    assert out[2] == "1 2 3"
    assert out[3].startswith("Usage(input_tokens=9, output_tokens=2) ")
    assert out[4] == "chat my-model"
    assert out[5] == "2 127.0.0.1"


def test_testing_examples(fixture_server: FixtureServer, tmp_path: Path) -> None:
    fixture_server.add("POST", ROUTE, json=completion("hi"), times=1)
    fixture_server.add("POST", ROUTE, sse=[chunk("hello"), DONE], times=1)
    code = program("testing.md", fixture_server)
    first = run(code, tmp_path)
    assert "No recording of POST" in first and "tests/cassettes/chat.yaml" in first
    assert (tmp_path / "tests" / "cassettes" / "chat.yaml").exists()
    assert len(fixture_server.requests) == 2
    fixture_server.clear()  # forgets its answers and the requests it saw: the second run replays
    assert run(code, tmp_path) == first
    assert fixture_server.requests == []
