"""The tiny-agents command line, driven as a user would: a subprocess fed through stdin.

`python -m omniinfer.cli.tiny_agents run DIR` with a temp agent.json that points at the real
llama.cpp peer (endpointUrl) and real MCP servers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import mcp_peers
from mcp_peers import children_of, process_exists, stdio_command

# Fixtures from tests/mcp_peers.py: pytest looks them up by name in this module.
demo_stdio = mcp_peers.demo_stdio
everything_stdio = mcp_peers.everything_stdio
llama_base_url = mcp_peers.llama_base_url
mcp_servers_installed = mcp_peers.mcp_servers_installed

pytestmark = [pytest.mark.timeout(60)]

NOWHERE = "http://127.0.0.1:9/v1"  # for sessions that end before any question is asked
WEATHER = "The weather in Paris is sunny, 18 degrees Celsius."


def agent_dir(tmp_path: Path, config: dict[str, Any], prompt: str | None = None) -> Path:
    folder = tmp_path / "agent"
    folder.mkdir()
    (folder / "agent.json").write_text(json.dumps(config), encoding="utf-8")
    if prompt is not None:
        (folder / "PROMPT.md").write_text(prompt, encoding="utf-8")
    return folder


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ROOT_DIR", "FS_TOKEN")}
    env.update(extra)
    return env


def run_cli(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omniinfer.cli.tiny_agents", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=55,
        env=env or cli_env(),
    )


class LiveCli:
    """A running CLI whose stdout/stderr are collected in the background, for Ctrl+C tests."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "omniinfer.cli.tiny_agents", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=0,
            env=cli_env(),
        )
        self.out: list[str] = []
        self.err: list[str] = []
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.pumps = [
            threading.Thread(target=self._pump, args=(stream, sink), daemon=True)
            for stream, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))
        ]
        for pump in self.pumps:
            pump.start()

    @staticmethod
    def _pump(stream: Any, sink: list[str]) -> None:
        while chunk := stream.read(1):
            sink.append(chunk)

    def stdout(self) -> str:
        return "".join(self.out)

    def stderr(self) -> str:
        return "".join(self.err)

    def wait_for(self, text: str, *, stream: str = "out", count: int = 1, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = self.stdout() if stream == "out" else self.stderr()
            if seen.count(text) >= count:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not seen on std{stream}:\n{self.stdout()}\n---\n{self.stderr()}")

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def interrupt(self) -> None:
        self.proc.send_signal(signal.SIGINT)

    def close(self) -> int:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            return self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            for pump in self.pumps:
                pump.join(timeout=5)
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    stream.close()


# ---- with the model ------------------------------------------------------------------------------


@pytest.mark.peer
def test_question_answered_with_a_tool_result_then_eof_exits_0(
    tmp_path: Path, llama_base_url: str, demo_stdio: list[str]
) -> None:
    folder = agent_dir(
        tmp_path,
        {
            "model": "qwen",
            "endpointUrl": llama_base_url,
            "servers": [{"type": "stdio", "command": demo_stdio[0], "args": demo_stdio[1:]}],
        },
        prompt="You are a helpful assistant. Use the tools to answer.",
    )
    done = run_cli("run", str(folder), stdin="What is the weather in Paris?\n")
    assert done.returncode == 0, done.stderr
    assert "Agent loaded with 2 tools:" in done.stdout
    assert " • add\n • get_weather\n" in done.stdout
    assert 'get_weather {"city": "Paris"}' in done.stdout  # the streamed call
    assert f"Tool[get_weather] " in done.stdout  # noqa: F541
    assert WEATHER in done.stdout  # the tool's result...
    answer = done.stdout.split(WEATHER, 1)[1]
    assert "18" in answer  # ...and the model's answer built on it
    assert "Traceback" not in done.stderr


@pytest.mark.peer
def test_ctrl_c_once_aborts_the_turn_and_the_session_goes_on(
    tmp_path: Path, llama_base_url: str, everything_stdio: list[str]
) -> None:
    # The everything server's long-running operation takes 10 s: Ctrl+C lands during the tool call.
    folder = agent_dir(
        tmp_path,
        {
            "model": "qwen",
            "endpointUrl": llama_base_url,
            "servers": [
                {
                    "type": "stdio",
                    "command": everything_stdio[0],
                    "args": everything_stdio[1:],
                    "allowed_tools": ["trigger-long-running-operation"],
                }
            ],
        },
    )
    cli = LiveCli("run", str(folder))
    try:
        cli.wait_for("» ")
        cli.send("Trigger the long running operation.")
        cli.wait_for("<Tool ", timeout=45)
        cli.wait_for("}", timeout=45)  # the call's arguments are complete: the tool is running
        time.sleep(1)
        interrupted_at = time.monotonic()
        cli.interrupt()
        cli.wait_for("Interrupted. Press Ctrl+C again to quit.", stream="err")
        cli.wait_for("» ", count=2, timeout=8)  # back at the prompt, long before the tool's 10 s
        assert time.monotonic() - interrupted_at < 8
        assert "Long running operation completed" not in cli.stdout()
    finally:
        code = cli.close()
    assert code == 0, cli.stderr()
    assert "Traceback" not in cli.stderr()


# ---- without a model: inputs, keys and errors ----------------------------------------------------


def filesystem_agent(tmp_path: Path) -> Path:
    """server-filesystem whose folder argument and env come from inputs: it only starts when the
    placeholder was filled with an existing folder."""
    command = stdio_command("filesystem", "PLACEHOLDER")
    return agent_dir(
        tmp_path,
        {
            "endpointUrl": NOWHERE,
            "inputs": [
                {"id": "root-dir", "description": "Folder to share"},
                {"id": "fs-token", "description": "A secret", "password": True},
            ],
            "servers": [
                {
                    "type": "stdio",
                    "command": command[0],
                    "args": [*command[1:-1], "${input:root-dir}"],
                    "env": {"FS_TOKEN": "${input:fs-token}"},
                }
            ],
        },
    )


@pytest.mark.peer
def test_inputs_are_read_from_stdin(tmp_path: Path, mcp_servers_installed: None) -> None:
    folder = filesystem_agent(tmp_path)
    shared = tmp_path / "shared"
    shared.mkdir()
    done = run_cli("run", str(folder), stdin=f"{shared}\nhunter2-secret\n")
    assert done.returncode == 0, done.stderr
    assert "Some initial inputs are required by the agent." in done.stdout
    assert " • root-dir: Folder to share (default: load from ROOT_DIR)." in done.stdout
    assert " • fs-token: A secret (default: load from FS_TOKEN)." in done.stdout
    assert "Agent loaded with 14 tools:" in done.stdout
    assert "hunter2-secret" not in done.stdout + done.stderr


@pytest.mark.peer
def test_empty_input_falls_back_to_the_environment(tmp_path: Path, mcp_servers_installed: None) -> None:
    folder = filesystem_agent(tmp_path)
    done = run_cli("run", str(folder), stdin="\n\n", env=cli_env(ROOT_DIR=str(tmp_path)))
    assert done.returncode == 0, done.stderr
    assert "Value successfully loaded from 'ROOT_DIR'" in done.stdout
    assert "No value found for 'FS_TOKEN' in environment variables. Continuing." in done.stdout
    assert "Agent loaded with 14 tools:" in done.stdout


@pytest.mark.peer
def test_a_server_that_cannot_start_is_one_error_line(tmp_path: Path, mcp_servers_installed: None) -> None:
    folder = filesystem_agent(tmp_path)
    # end of input at the prompts, the environment names a folder that does not exist: the server
    # refuses to start
    done = run_cli("run", str(folder), stdin="", env=cli_env(ROOT_DIR=str(tmp_path / "missing")))
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith("tiny-agents: error: Could not connect to stdio MCP server ")
    assert "Traceback" not in done.stderr


def test_end_of_input_at_the_prompt_exits_0(tmp_path: Path) -> None:
    folder = agent_dir(tmp_path, {"model": "m", "endpointUrl": NOWHERE})
    done = run_cli("run", str(folder), stdin="")
    assert done.returncode == 0, done.stderr
    assert "Agent loaded with 0 tools:" in done.stdout
    assert done.stdout.endswith("» \n")
    assert done.stderr == ""


def test_single_json_file(tmp_path: Path) -> None:
    config = tmp_path / "my-agent.json"
    config.write_text(json.dumps({"model": "m", "endpointUrl": NOWHERE}), encoding="utf-8")
    done = run_cli("run", str(config), stdin="")
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("config", "key", "expected"),
    [
        (
            '{"model": "m", "servers": [{"type": "stdio"}]}',
            "servers[0].command",
            "expected a non-empty string",
        ),
        (
            '{"model": "m", "servers": [{"type": "tcp", "url": "x"}]}',
            "servers[0].type",
            'expected one of "stdio"',
        ),
        ('{"model": "m", "inputs": "x"}', "inputs", "expected a list, got a string"),
        ('{"model": "m"', None, "expected valid JSON, got an error at line 1, column 14"),
    ],
)
def test_bad_config_is_one_line_on_stderr_and_exit_2(
    tmp_path: Path, config: str, key: str | None, expected: str
) -> None:
    folder = tmp_path / "agent"
    folder.mkdir()
    (folder / "agent.json").write_text(config, encoding="utf-8")
    done = run_cli("run", str(folder))
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"tiny-agents: error: {folder / 'agent.json'}: ")
    if key:
        assert f"key '{key}'" in lines[0]
    assert expected in lines[0]


def test_missing_path_is_exit_2(tmp_path: Path) -> None:
    done = run_cli("run", str(tmp_path / "nope"))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"tiny-agents: error: {tmp_path / 'nope'}: expected an agent folder or a JSON file, but nothing is there"
    )


def test_ctrl_c_twice_at_the_prompt_exits_130(tmp_path: Path) -> None:
    folder = agent_dir(tmp_path, {"model": "m", "endpointUrl": NOWHERE})
    cli = LiveCli("run", str(folder))
    try:
        cli.wait_for("» ")
        cli.interrupt()
        cli.wait_for("Interrupted. Press Ctrl+C again to quit.", stream="err")
        assert cli.proc.poll() is None  # once: still running
        cli.interrupt()
        assert cli.proc.wait(timeout=15) == 130
        assert "Exiting..." in cli.stderr()
        assert "Traceback" not in cli.stderr()
    finally:
        cli.close()


def test_ctrl_c_while_a_server_starts_exits_130_and_stops_it(tmp_path: Path) -> None:
    # a "server" that never answers the initialize request
    hang = [sys.executable, "-c", "import time; time.sleep(60)"]
    folder = agent_dir(
        tmp_path, {"endpointUrl": NOWHERE, "servers": [{"type": "stdio", "command": hang[0], "args": hang[1:]}]}
    )
    cli = LiveCli("run", str(folder))
    try:
        deadline = time.monotonic() + 20
        while not children_of(cli.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        (server,) = children_of(cli.proc.pid)
        time.sleep(0.5)
        cli.interrupt()
        assert cli.proc.wait(timeout=15) == 130
        assert not process_exists(server)
        assert "Traceback" not in cli.stderr()
    finally:
        cli.close()


def test_usage_and_the_omniinfer_agent_subcommand(tmp_path: Path) -> None:
    from omniinfer.cli.tiny_agents import main

    assert main(["--help"]) == 0
    assert main([]) == 2
    # how the `omniinfer` CLI mounts the command: `omniinfer agent run PATH`
    folder = agent_dir(tmp_path, {"model": "m", "endpointUrl": NOWHERE})
    code = (
        "import argparse, sys\n"
        "from omniinfer.cli.tiny_agents import add_agent_subcommand\n"
        "parser = argparse.ArgumentParser(prog='omniinfer')\n"
        "add_agent_subcommand(parser.add_subparsers(dest='command'))\n"
        "args = parser.parse_args(sys.argv[1:])\n"
        "sys.exit(args.func(args))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "agent", "run", str(folder)],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert "Agent loaded with 0 tools:" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-c", code, "agent", "run", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("omniinfer agent: error: ")
    # and through the omniinfer command itself
    done = subprocess.run(
        [sys.executable, "-m", "omniinfer.cli.main", "agent", "run", str(folder)],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert "Agent loaded with 0 tools:" in done.stdout
