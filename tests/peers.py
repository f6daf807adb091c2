"""The real llama.cpp server from ../shared/peers, started once per test session.

The integration tests need it; where it cannot be built or started they fail loudly (CI must not
pass by skipping them). OMNIINFER_SKIP_PEERS=1 turns them into skips for a quick local run, and
OMNIINFER_LLAMA_URL (chat) and OMNIINFER_LLAMA_EMBEDDINGS_URL (embeddings) point them at servers
that are already running.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("OMNIINFER_SHARED", REPO.parent / "shared"))
PEERS = SHARED / "peers"
TOOLS_TEMPLATE = PEERS / "qwen25-tools-bare-json.jinja"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unavailable(reason: str) -> None:
    if os.environ.get("OMNIINFER_SKIP_PEERS") == "1":
        pytest.skip(reason)
    pytest.fail(reason + " (set OMNIINFER_SKIP_PEERS=1 to skip peer tests locally)", pytrace=False)


@pytest.fixture(scope="session")
def llama_url() -> Iterator[str]:
    """Root URL (http://127.0.0.1:PORT) of a llama.cpp server with Qwen2.5-0.5B, tool template, temp 0."""
    yield from _llama_server("OMNIINFER_LLAMA_URL", "--chat-template-file", str(TOOLS_TEMPLATE), "--temp", "0")


@pytest.fixture(scope="session")
def llama_embeddings_url() -> Iterator[str]:
    """Root URL of a llama.cpp server with Qwen2.5-0.5B serving `/v1/embeddings` (mean pooling, 896-d)."""
    yield from _llama_server("OMNIINFER_LLAMA_EMBEDDINGS_URL", "--embeddings", "--pooling", "mean")


def _llama_server(env_override: str, *server_args: str) -> Iterator[str]:
    """Start llama.cpp with `server_args` for the session (or use the server `env_override` names)."""
    given = os.environ.get(env_override)
    if given:
        yield given.rstrip("/")
        return
    script = PEERS / "llama_server.sh"
    if not script.exists():
        _unavailable(f"llama.cpp peer script not found at {script}")
    port = free_port()
    try:
        started = subprocess.run(
            [str(script), str(port), "qwen", *server_args],
            capture_output=True,
            text=True,
            timeout=900,  # the first run builds llama.cpp (about 5 minutes on 2 cores)
        )
    except subprocess.TimeoutExpired:
        _unavailable("llama.cpp peer did not start within 15 minutes")
    if started.returncode != 0:
        _unavailable(f"llama.cpp peer failed to start: {started.stderr.strip()[-2000:]}")
    pid = int(started.stdout.strip().splitlines()[-1])
    watch(pid)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


_WATCHDOGS: list[subprocess.Popen[bytes]] = []  # kept: a collected Popen of a live process warns


def watch(server_pid: int) -> None:
    """Have the server stopped when this test process dies, however it dies (see watchdog.py)."""
    watchdog = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("watchdog.py")), str(os.getpid()), str(server_pid)],
        start_new_session=True,  # not in pytest's process group: it must outlive a killed run
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _WATCHDOGS.append(watchdog)
