"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fixture_server import FixtureServer
from omniinfer._core.fallback import BREAKER
from omniinfer.routing import clear_hub_cache


@pytest.fixture
def fixture_server() -> Iterator[FixtureServer]:
    """A started loopback FixtureServer, stopped (stalled handlers included) after the test."""
    server = FixtureServer().start()
    try:
        yield server
    finally:
        server.stop()


from peers import llama_embeddings_url, llama_url  # noqa: E402,F401  (session fixtures: the real llama.cpp servers)


@pytest.fixture(autouse=True)
def _isolated_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's own token or Hub settings."""
    for name in (
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HF_TOKEN_PATH",
        "HF_HUB_DISABLE_IMPLICIT_TOKEN",
        "HF_ENDPOINT",
        "OMNIINFER_ROUTER_URL",
        # Tests talk to loopback servers: a proxy set on the machine must not come in between.
        *(name for proxy in ("http_proxy", "https_proxy", "all_proxy") for name in (proxy, proxy.upper())),
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    # Each test's fixture server may reuse a port an earlier one had: no Hub answer crosses tests.
    clear_hub_cache()
    BREAKER.reset()  # the circuit breaker is process-wide: each test starts with every provider closed


@pytest.fixture
def hub(fixture_server: FixtureServer, monkeypatch: pytest.MonkeyPatch) -> FixtureServer:
    """The fixture server standing in for the Hub and the router, as a private gateway would."""
    monkeypatch.setenv("HF_ENDPOINT", fixture_server.host_url("huggingface.co"))
    monkeypatch.setenv("OMNIINFER_ROUTER_URL", fixture_server.host_url("router.huggingface.co"))
    return fixture_server


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    """Run a test once with each client."""
    return str(request.param)
