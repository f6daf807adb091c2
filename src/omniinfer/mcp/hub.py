"""Agents from the Hub: `tiny-agents run julien-c/flux-schnell-generator` fetches the folder
`julien-c/flux-schnell-generator/` of the dataset `tiny-agents/tiny-agents` (its `agent.json`, and
`PROMPT.md` or `AGENTS.md` when present) into the Hugging Face cache, so that a later run works
without a network.

The downloads are a flow run by the library's own driver: the stored Hugging Face token goes with
them (to the Hub host only: a redirect to a storage host drops it), a 404 for a prompt file means
the agent has none, and a 404 for `agent.json` means there is no such agent. When the Hub cannot be
reached (or `HF_HUB_OFFLINE=1`), the cached copy is used.
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from omniinfer._core.context import USER_AGENT, ClientContext, make_context
from omniinfer._core.records import Request, Response
from omniinfer._core.tokens import hf_home
from omniinfer.errors import InferenceError, NotFoundError
from omniinfer.mcp.config import FILENAME_CONFIG, PROMPT_FILENAMES
from omniinfer.providers import hub_offline, hub_url

DATASET = "tiny-agents/tiny-agents"
# Seconds to connect and for each wait for data: a Hub that does not answer falls back to the cache.
HUB_TIMEOUT = 20.0

Flow = Generator[Request, Response, Any]

# `owner/name` (or deeper): segments of letters, digits, `-`, `_` and `.`, none of them `.` or `..`.
_AGENT_ID = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]*(/[A-Za-z0-9_\-][A-Za-z0-9_.\-]*)+")


class HubAgentError(Exception):
    """An agent could not be had from the Hub (and no cached copy exists); one line, for the user."""


class AgentNotFoundError(HubAgentError):
    """The dataset has no such agent."""

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id
        super().__init__(f"agent {agent_id!r} not found: the Hub dataset {DATASET} has no {agent_id}/{FILENAME_CONFIG}")


@dataclass(frozen=True)
class FetchedAgent:
    """Where the agent's files are, and a note for the user when the cached copy stood in."""

    path: Path
    warning: str | None = None


def is_agent_id(text: str) -> bool:
    """True for `owner/name`-style ids of the dataset (not for paths like `./x`, `/x` or `~/x`)."""
    return _AGENT_ID.fullmatch(text) is not None and not text.endswith((".json", "/"))


def cache_dir(agent_id: str) -> Path:
    return Path(hf_home()) / "omniinfer" / "tiny-agents" / agent_id


def fetch_agent(agent_id: str) -> FetchedAgent:
    """Download the agent into the cache (or use the cached copy when the Hub is out of reach)."""
    if not is_agent_id(agent_id):
        raise ValueError(f"expected a Hub agent id like 'owner/name', got {agent_id!r}")
    folder = cache_dir(agent_id)
    cached = (folder / FILENAME_CONFIG).is_file()
    if hub_offline():
        if cached:
            return FetchedAgent(folder)
        raise HubAgentError(f"agent {agent_id!r} is not in the cache ({folder}) and HF_HUB_OFFLINE is set")
    try:
        files = _run(lambda ctx: download_agent(ctx, agent_id))
    except InferenceError as error:
        if cached:
            return FetchedAgent(folder, f"could not reach the Hub ({error}); using the cached copy of {agent_id!r}")
        raise HubAgentError(f"could not download agent {agent_id!r} from the Hub dataset {DATASET}: {error}") from None
    store(folder, files)
    return FetchedAgent(folder)


def download_agent(ctx: ClientContext, agent_id: str) -> Flow:
    """{file name: content} of the agent's folder: `agent.json`, then the first prompt file found."""
    config = yield from _download(ctx, agent_id, FILENAME_CONFIG)
    if config is None:
        raise AgentNotFoundError(agent_id)
    files = {FILENAME_CONFIG: config}
    for name in PROMPT_FILENAMES:  # the order in which a local folder's prompt files are read
        prompt = yield from _download(ctx, agent_id, name)
        if prompt is not None:
            files[name] = prompt
            break
    return files


def _download(ctx: ClientContext, agent_id: str, name: str) -> Flow:
    """The file's bytes, or None when the Hub has no such file (404)."""
    url = f"{hub_url()}/datasets/{DATASET}/resolve/main/{quote(agent_id)}/{quote(name)}"
    headers = {"user-agent": ctx.headers.get("user-agent", USER_AGENT)}
    token = ctx.api_key()
    if token:
        headers["authorization"] = f"Bearer {token}"
    try:
        response = yield Request("GET", url, headers, None, False, "hub", token)
    except NotFoundError:
        return None
    return response.body


def store(folder: Path, files: dict[str, bytes]) -> None:
    """Write the downloaded files (each replaced at once) and drop prompt files the Hub no longer has."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        partial = folder / f".{name}.partial"
        partial.write_bytes(content)
        os.replace(partial, folder / name)
    for name in PROMPT_FILENAMES:
        if name not in files:
            (folder / name).unlink(missing_ok=True)


def _run(factory: Any) -> Any:
    # The I/O modules load only when an agent is actually fetched.
    from omniinfer._http import sync_driver
    from omniinfer._http.sync_transport import SyncTransport

    ctx = make_context(None, None, None, HUB_TIMEOUT, None, None, None, None, None)
    transport = SyncTransport()
    try:
        return sync_driver.run(factory, transport, ctx)
    finally:
        transport.close()
