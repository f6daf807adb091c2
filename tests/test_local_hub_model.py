"""A real GGUF model (SmolLM2-135M-Instruct, 98 MB, from a PyPI package via ../shared/peers) served by
the loopback Hub stand-in and run by the real llama-cpp-python: `provider="local"` with a Hub id."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub_stub import HubStub
from omniinfer import InferenceClient
from omniinfer.errors import NotFoundError
from peers import PEERS

pytest.importorskip("llama_cpp", reason="the local provider needs omniinfer[local]")
pytestmark = pytest.mark.timeout(600)

REPO = "test-org/SmolLM2-135M-Instruct-GGUF"
FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def smollm() -> bytes:
    made = subprocess.run(
        ["bash", str(PEERS / "gguf_models.sh"), "smollm"], capture_output=True, text=True, timeout=300
    )
    assert made.returncode == 0, made.stderr[-2000:]
    return Path(made.stdout.strip().splitlines()[-1]).read_bytes()


@pytest.fixture
def stub(smollm: bytes, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[HubStub]:
    server = HubStub(repos={REPO: {FILE: smollm, "README.md": b"# SmolLM2\n"}}).start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("OMNIINFER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OMNIINFER_QUIET", "1")
    try:
        yield server
    finally:
        server.stop()


def test_a_hub_model_is_downloaded_checked_and_run_in_process(stub: HubStub) -> None:
    stub.cut_after = 40_000_000  # and the connection drops on the way
    with InferenceClient(provider="local", model=f"{REPO}:Q4_1") as client:
        out = client.chat_completion([{"role": "user", "content": "Say hello."}], max_tokens=8, temperature=0)
        assert isinstance(out.choices[0].message.content, str) and out.choices[0].message.content.strip()
        assert out.usage.completion_tokens > 0
        client.chat_completion([{"role": "user", "content": "Again."}], max_tokens=2)
    assert [d.range for d in stub.downloads()] == [None, "bytes=40000000-"]  # one file, resumed once
    assert sum(1 for s in stub.seen if s.path.startswith("/api/models/")) == 1  # listed once per client

    stub.stop()  # a later client works from the cache, with the Hub gone
    with InferenceClient(provider="local", model=REPO) as client:
        assert client.chat_completion([{"role": "user", "content": "Hi"}], max_tokens=2).choices


def test_a_repository_the_hub_does_not_have_is_not_found(stub: HubStub) -> None:
    with InferenceClient(provider="local", model="test-org/nothing-here") as client:
        with pytest.raises(NotFoundError, match="test-org/nothing-here is not a model repository"):
            client.chat_completion([{"role": "user", "content": "Hi"}], max_tokens=2)
