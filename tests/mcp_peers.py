"""Real MCP servers and the llama.cpp peer for the MCP tests, started once per test session.

Test modules import the fixtures they use (`from mcp_peers import demo_http_url, ...`); this is not
a conftest so that it stays out of the other tests' way.

Servers come from ../shared/peers (installed by scripts/install_mcp_peers.sh, which the fixtures
run). Where a peer cannot be installed or started the tests FAIL, so that CI cannot pass by
skipping them; OMNIINFER_SKIP_PEERS=1 turns that into skips for a quick local run.
OMNIINFER_LLAMA_URL=http://127.0.0.1:PORT reuses a llama.cpp server that is already running.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from peers import free_port

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("OMNIINFER_SHARED", REPO.parent / "shared"))
PEERS = SHARED / "peers"
MCP_SERVERS = PEERS / "mcp_servers.sh"
INSTALL_SCRIPT = REPO / "scripts" / "install_mcp_peers.sh"
LLAMA_TEMPLATE = PEERS / "qwen25-tools-bare-json.jinja"


def peer_unavailable(reason: str) -> NoReturn:
    if os.environ.get("OMNIINFER_SKIP_PEERS") == "1":
        pytest.skip(reason)
    pytest.fail(f"{reason} (set OMNIINFER_SKIP_PEERS=1 to skip peer tests locally)", pytrace=False)


# ---- processes ---------------------------------------------------------------------------------


def children_of(pid: int) -> set[int]:
    """Pids whose parent is `pid` (zombies included: an unreaped child is still left behind)."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces: the fields after it are fixed.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.add(int(entry.name))
    return found


def process_exists(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def _stop(pid: int) -> None:
    """Stop a server started in the background by a peer script (not our child: it was re-parented)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        state = _state(pid)
        if state is None or state == "Z":
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


# ---- one server per session ----------------------------------------------------------------------
# Each test module binds these fixtures into its own namespace, so pytest sees one session fixture per
# module. The registry below makes them share one server (started on first use, stopped when the last
# user is torn down at the end of the session) and one verdict when a peer cannot be started.


@dataclass
class _Shared:
    value: str = ""
    stop: Callable[[], None] | None = None
    failure: str | None = None
    users: int = 0


_SHARED: dict[str, _Shared] = {}


def _shared(key: str, start: Callable[[], tuple[str, Callable[[], None] | None]]) -> Iterator[str]:
    entry = _SHARED.setdefault(key, _Shared())
    if entry.failure is not None:
        peer_unavailable(entry.failure)
    if entry.users == 0:
        try:
            entry.value, entry.stop = start()
        except (pytest.fail.Exception, pytest.skip.Exception) as outcome:
            entry.failure = str(outcome.msg).replace(" (set OMNIINFER_SKIP_PEERS=1 to skip peer tests locally)", "")
            raise
    entry.users += 1
    try:
        yield entry.value
    finally:
        entry.users -= 1
        if entry.users == 0 and entry.stop is not None:
            entry.stop()


# ---- MCP servers -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def mcp_servers_installed() -> Iterator[None]:
    """Install the MCP peers (idempotent: fast when they are already there)."""
    for _ in _shared("install", _install):
        yield


def _install() -> tuple[str, None]:
    if not MCP_SERVERS.exists():
        peer_unavailable(f"MCP peer script not found at {MCP_SERVERS}")
    try:
        done = subprocess.run(["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        peer_unavailable("installing the MCP peers took more than 5 minutes")
    if done.returncode != 0:
        peer_unavailable(f"installing the MCP peers failed: {done.stderr.strip()[-2000:]}")
    return "", None


def stdio_command(name: str, *args: str) -> list[str]:
    """The command line that starts MCP server `name` on stdio (everything, filesystem DIR, time, demo)."""
    done = subprocess.run(["bash", str(MCP_SERVERS), "cmd", name, *args], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        peer_unavailable(f"no command for MCP server {name!r}: {done.stderr.strip()[-1000:]}")
    return shlex.split(done.stdout.strip())


def _serve(name: str, transport: str, path: str) -> Iterator[str]:
    def start() -> tuple[str, Callable[[], None]]:
        port = free_port()
        try:
            done = subprocess.run(
                ["bash", str(MCP_SERVERS), "start", name, transport, str(port)],
                capture_output=True,
                text=True,
                timeout=60,
            )
        except subprocess.TimeoutExpired:
            peer_unavailable(f"MCP server {name} ({transport}) did not start within 60 s")
        if done.returncode != 0:
            peer_unavailable(f"MCP server {name} ({transport}) failed to start: {done.stderr.strip()[-2000:]}")
        pid = int(done.stdout.strip().splitlines()[-1])
        return f"http://127.0.0.1:{port}{path}", lambda: _stop(pid)

    yield from _shared(f"mcp-{name}-{transport}", start)


@pytest.fixture(scope="session")
def demo_stdio(mcp_servers_installed: None) -> list[str]:
    return stdio_command("demo")


@pytest.fixture(scope="session")
def everything_stdio(mcp_servers_installed: None) -> list[str]:
    return stdio_command("everything")


@pytest.fixture(scope="session")
def time_stdio(mcp_servers_installed: None) -> list[str]:
    return stdio_command("time")


@pytest.fixture
def filesystem_stdio(mcp_servers_installed: None, tmp_path: Path) -> tuple[list[str], Path]:
    """(command, allowed directory): server-filesystem restricted to a fresh temp folder."""
    return stdio_command("filesystem", str(tmp_path)), tmp_path


@pytest.fixture(scope="session")
def everything_sse_url(mcp_servers_installed: None) -> Iterator[str]:
    yield from _serve("everything", "sse", "/sse")


@pytest.fixture(scope="session")
def everything_http_url(mcp_servers_installed: None) -> Iterator[str]:
    yield from _serve("everything", "http", "/mcp")


@pytest.fixture(scope="session")
def demo_sse_url(mcp_servers_installed: None) -> Iterator[str]:
    yield from _serve("demo", "sse", "/sse")


@pytest.fixture(scope="session")
def demo_http_url(mcp_servers_installed: None) -> Iterator[str]:
    yield from _serve("demo", "http", "/mcp")


# ---- llama.cpp ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def llama_base_url(llama_url: str) -> str:
    """OpenAI-compatible base URL (…/v1) of the session's llama.cpp peer (tests/peers.py)."""
    return llama_url + "/v1"
