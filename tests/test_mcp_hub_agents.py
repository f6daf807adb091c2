"""Agents of the Hub dataset tiny-agents/tiny-agents: download (with the token, to the Hub only),
cache under HF_HOME, an offline second run from the cache, and an unknown agent. The fixture server
stands in for the Hub (HF_ENDPOINT); the CLI runs as a subprocess, as a user would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixture_server import FixtureServer
from omniinfer.mcp.config import load_agent_config
from omniinfer.mcp.hub import DATASET, AgentNotFoundError, HubAgentError, cache_dir, fetch_agent, is_agent_id
from peers import free_port

pytestmark = [pytest.mark.timeout(60)]

AGENT_ID = "julien-c/flux-schnell-generator"
RESOLVE = f"/datasets/{DATASET}/resolve/main/{AGENT_ID}"
NOWHERE = "http://127.0.0.1:9/v1"  # the agent's endpoint: the sessions below end before any question
CONFIG = {"model": "black-forest-labs/FLUX.1-schnell", "endpointUrl": NOWHERE, "servers": []}
PROMPT = "You generate images with FLUX.1 [schnell]."


def serve_agent(hub: FixtureServer, *, prompt_file: str | None = "PROMPT.md") -> None:
    hub.add("GET", f"{RESOLVE}/agent.json", host="huggingface.co", json=CONFIG)
    if prompt_file is not None:
        hub.add("GET", f"{RESOLVE}/{prompt_file}", host="huggingface.co", body=PROMPT.encode())


def dead_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omniinfer.cli.tiny_agents", *args],
        input="",
        capture_output=True,
        text=True,
        timeout=55,
        env=dict(os.environ),
    )


def test_download_then_cache(hub: FixtureServer) -> None:
    serve_agent(hub)
    fetched = fetch_agent(AGENT_ID)
    assert fetched.warning is None
    assert fetched.path == Path(os.environ["HF_HOME"]) / "omniinfer" / "tiny-agents" / AGENT_ID
    assert json.loads((fetched.path / "agent.json").read_text()) == CONFIG
    assert (fetched.path / "PROMPT.md").read_text() == PROMPT
    config = load_agent_config(fetched.path)
    assert config.model == CONFIG["model"] and config.endpoint_url == NOWHERE and config.prompt == PROMPT
    paths = [request.path for request in hub.requests]
    assert paths == [f"{RESOLVE}/agent.json", f"{RESOLVE}/PROMPT.md"]  # AGENTS.md only without PROMPT.md


def test_agents_md_when_there_is_no_prompt_md(hub: FixtureServer) -> None:
    serve_agent(hub, prompt_file="AGENTS.md")
    fetched = fetch_agent(AGENT_ID)
    assert load_agent_config(fetched.path).prompt == PROMPT
    assert not (fetched.path / "PROMPT.md").exists()
    assert [r.path.rsplit("/", 1)[1] for r in hub.requests] == ["agent.json", "PROMPT.md", "AGENTS.md"]


def test_no_prompt_file_at_all(hub: FixtureServer) -> None:
    serve_agent(hub, prompt_file=None)
    assert load_agent_config(fetch_agent(AGENT_ID).path).prompt is None


def test_a_prompt_removed_from_the_hub_leaves_the_cache_too(hub: FixtureServer) -> None:
    folder = cache_dir(AGENT_ID)
    folder.mkdir(parents=True)
    (folder / "PROMPT.md").write_text("old prompt")
    serve_agent(hub, prompt_file=None)
    assert load_agent_config(fetch_agent(AGENT_ID).path).prompt is None


def test_offline_second_run_uses_the_cache(hub: FixtureServer, monkeypatch: pytest.MonkeyPatch) -> None:
    serve_agent(hub)
    first = fetch_agent(AGENT_ID)
    dead_hub(monkeypatch)
    second = fetch_agent(AGENT_ID)
    assert second.path == first.path
    assert second.warning is not None and "cached copy" in second.warning and AGENT_ID in second.warning
    assert load_agent_config(second.path).prompt == PROMPT
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    calls = len(hub.requests)
    assert fetch_agent(AGENT_ID) == type(first)(first.path)  # no request, no warning
    assert len(hub.requests) == calls


def test_unreachable_hub_without_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    dead_hub(monkeypatch)
    with pytest.raises(HubAgentError, match=f"could not download agent '{AGENT_ID}' from the Hub dataset {DATASET}"):
        fetch_agent(AGENT_ID)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubAgentError, match="HF_HUB_OFFLINE"):
        fetch_agent(AGENT_ID)


def test_unknown_agent(hub: FixtureServer) -> None:
    with pytest.raises(AgentNotFoundError) as caught:
        fetch_agent("someone/no-such-agent")
    assert str(caught.value) == (
        f"agent 'someone/no-such-agent' not found: the Hub dataset {DATASET} has no someone/no-such-agent/agent.json"
    )
    assert not cache_dir("someone/no-such-agent").exists()


def test_the_token_goes_to_the_hub_only(hub: FixtureServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_hub_token")
    with FixtureServer() as storage:  # another port: another origin, as the Hub's file storage is
        storage.add("GET", "/agent.json", json=CONFIG)
        location = {"location": storage.url + "/agent.json"}
        hub.add("GET", f"{RESOLVE}/agent.json", host="huggingface.co", status=302, headers=location)
        fetched = fetch_agent(AGENT_ID)
        stored = storage.requests
    assert json.loads((fetched.path / "agent.json").read_text()) == CONFIG
    assert hub.requests and all(r.headers.get("authorization") == "Bearer hf_hub_token" for r in hub.requests)
    assert len(stored) == 1 and "authorization" not in stored[0].headers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (AGENT_ID, True),
        ("org/sub/agent", True),
        ("agent", False),
        ("./agent", False),
        ("/abs/agent", False),
        ("~/agent", False),
        ("a/../b", False),
        ("a/b.json", False),
        ("a/b/", False),
    ],
)
def test_is_agent_id(text: str, expected: bool) -> None:
    assert is_agent_id(text) is expected


# --- the command line ----------------------------------------------------------------------------


def test_cli_runs_a_hub_agent_then_runs_it_offline(hub: FixtureServer, monkeypatch: pytest.MonkeyPatch) -> None:
    serve_agent(hub)
    done = run_cli("run", AGENT_ID)
    assert done.returncode == 0, done.stderr
    assert "Agent loaded with 0 tools:" in done.stdout
    assert done.stderr == ""
    dead_hub(monkeypatch)
    again = run_cli("run", AGENT_ID)
    assert again.returncode == 0, again.stderr
    assert "Agent loaded with 0 tools:" in again.stdout
    assert again.stderr.startswith("tiny-agents: warning: could not reach the Hub")


def test_cli_unknown_agent_is_one_line_and_exit_1(hub: FixtureServer) -> None:
    done = run_cli("run", "someone/no-such-agent")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"tiny-agents: error: agent 'someone/no-such-agent' not found: the Hub dataset {DATASET} has no "
        "someone/no-such-agent/agent.json"
    ]


def test_omniinfer_agent_run_fetches_hub_agents_too(hub: FixtureServer) -> None:
    serve_agent(hub)
    done = subprocess.run(
        [sys.executable, "-m", "omniinfer", "agent", "run", AGENT_ID],
        input="",
        capture_output=True,
        text=True,
        timeout=55,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    assert "Agent loaded with 0 tools:" in done.stdout


def test_a_local_folder_wins_over_a_hub_id(hub: FixtureServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "julien-c" / "flux-schnell-generator"
    folder.mkdir(parents=True)
    (folder / "agent.json").write_text(json.dumps({"model": "m", "endpointUrl": NOWHERE}))
    monkeypatch.chdir(tmp_path)
    done = run_cli("run", AGENT_ID)
    assert done.returncode == 0, done.stderr
    assert hub.requests == []
