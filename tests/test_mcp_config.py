"""agent.json loading: folders, single files, prompts, checks with precise errors, input placeholders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from omniinfer.mcp.config import DEFAULT_AGENT, ConfigError, env_var_for, load_agent_config


def write_agent(folder: Path, config: Any, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = config if isinstance(config, str) else json.dumps(config)
    (folder / "agent.json").write_text(text, encoding="utf-8")
    for name, content in files.items():
        (folder / name).write_text(content, encoding="utf-8")
    return folder


FULL = {
    "model": "Qwen/Qwen2.5-72B-Instruct",
    "provider": "nebius",
    "endpointUrl": "http://127.0.0.1:8080/v1",
    "apiKey": "${input:api-key}",
    "inputs": [
        {"type": "promptString", "id": "api-key", "description": "Your key", "password": True},
        {"id": "gh-token", "description": "GitHub token"},
        {"id": "unused"},
    ],
    "servers": [
        {
            "type": "stdio",
            "command": "npx",
            "args": ["-y", "srv"],
            "env": {"GITHUB_TOKEN": "${input:gh-token}"},
        },
        {
            "type": "sse",
            "url": "http://127.0.0.1:1/sse",
            "headers": {"Authorization": "Bearer ${input:gh-token}"},
        },
        {"type": "http", "url": "http://127.0.0.1:1/mcp", "timeout": 5, "allowed_tools": ["a"]},
        {"type": "stdio", "config": {"command": "old-style", "cwd": "/tmp"}},
    ],
}


def test_folder_with_prompt(tmp_path: Path) -> None:
    folder = write_agent(tmp_path / "agent", FULL, **{"PROMPT.md": "Be brief.", "AGENTS.md": "ignored"})
    config = load_agent_config(folder)
    assert config.source == folder / "agent.json"
    assert (config.model, config.provider, config.endpoint_url) == (
        "Qwen/Qwen2.5-72B-Instruct",
        "nebius",
        "http://127.0.0.1:8080/v1",
    )
    assert config.prompt == "Be brief."  # PROMPT.md wins over AGENTS.md
    assert [(i.id, i.password, i.env_var) for i in config.inputs] == [
        ("api-key", True, "API_KEY"),
        ("gh-token", False, "GH_TOKEN"),
        ("unused", False, "UNUSED"),
    ]
    assert config.servers[3] == {"type": "stdio", "command": "old-style", "cwd": "/tmp"}
    assert config.servers[2] == {
        "type": "http",
        "url": "http://127.0.0.1:1/mcp",
        "timeout": 5,
        "allowed_tools": ["a"],
    }
    assert config.warnings == ()


def test_agents_md_and_single_file(tmp_path: Path) -> None:
    folder = write_agent(tmp_path / "a", {"model": "m"}, **{"AGENTS.md": "From AGENTS.md"})
    assert load_agent_config(str(folder)).prompt == "From AGENTS.md"
    single = tmp_path / "solo.json"
    single.write_text(json.dumps({"endpointUrl": "http://127.0.0.1:1/v1"}), encoding="utf-8")
    config = load_agent_config(single)
    assert (config.model, config.endpoint_url, config.prompt, config.servers) == (
        None,
        "http://127.0.0.1:1/v1",
        None,
        (),
    )


def test_default_agent() -> None:
    config = load_agent_config(None)
    assert config.model == DEFAULT_AGENT["model"] == "Qwen/Qwen2.5-72B-Instruct"
    assert [s["command"] for s in config.servers] == ["npx", "npx"]


def test_placeholders_are_filled_everywhere_they_are_used(tmp_path: Path) -> None:
    config = load_agent_config(write_agent(tmp_path, FULL))
    assert config.used_inputs() == {
        "api-key": ["apiKey"],
        "gh-token": ["servers[0].env.GITHUB_TOKEN", "servers[1].headers.Authorization"],
        "unused": [],
    }
    filled = config.with_inputs({"api-key": "k-1", "gh-token": "t-2"})
    assert filled.api_key == "k-1"
    assert filled.servers[0]["env"] == {"GITHUB_TOKEN": "t-2"}
    assert filled.servers[1]["headers"] == {"Authorization": "Bearer t-2"}
    assert config.servers[0]["env"] == {"GITHUB_TOKEN": "${input:gh-token}"}  # the original is unchanged
    assert env_var_for("my-gh-token") == "MY_GH_TOKEN"


BAD_CONFIGS = [
    # (agent.json text, key named in the error, words of the error)
    ('{"model": "m",}', None, "expected valid JSON, got an error at line 1, column 15"),
    ("[1, 2]", None, "expected a JSON object at the top level, got a list"),
    ("{}", "model", "expected a model id string (required unless 'endpointUrl' is set)"),
    ('{"model": 3}', "model", "expected a non-empty string, got a number 3"),
    ('{"model": "m", "endpointUrl": "ftp://x"}', "endpointUrl", "expected an http:// or https:// URL"),
    ('{"model": "m", "servers": {}}', "servers", "expected a list, got an object"),
    (
        '{"model": "m", "servers": [{"command": "x"}]}',
        "servers[0].type",
        'expected one of "stdio", "sse", "http", got nothing',
    ),
    (
        '{"model": "m", "servers": [{"type": "ws"}]}',
        "servers[0].type",
        'expected one of "stdio", "sse", "http", got "ws"',
    ),
    (
        '{"model": "m", "servers": [{"type": "stdio"}]}',
        "servers[0].command",
        "expected a non-empty string, but the key is missing",
    ),
    (
        '{"model": "m", "servers": [{"type": "sse"}]}',
        "servers[0].url",
        "expected a URL string, but the key is missing",
    ),
    (
        '{"model": "m", "servers": [{"type": "stdio", "command": "x", "args": "a b"}]}',
        "servers[0].args",
        "expected a list of strings",
    ),
    (
        '{"model": "m", "servers": [{"type": "stdio", "command": "x", "env": {"PORT": 1}}]}',
        "servers[0].env.PORT",
        "expected a string, got a number 1",
    ),
    (
        '{"model": "m", "servers": [{"type": "http", "url": "http://h", "timeout": -1}]}',
        "servers[0].timeout",
        "expected a positive number of seconds",
    ),
    (
        '{"model": "m", "inputs": [{"description": "d"}]}',
        "inputs[0].id",
        "expected a non-empty string, but the key is missing",
    ),
    ('{"model": "m", "inputs": [{"id": "a"}, {"id": "a"}]}', "inputs[1].id", "expected a unique id"),
    (
        '{"model": "m", "inputs": [{"id": "a", "password": "yes"}]}',
        "inputs[0].password",
        "expected true or false",
    ),
    (
        '{"model": "m", "apiKey": "${input:nope}"}',
        "apiKey",
        "expected '${input:nope}' to name an input declared in 'inputs'",
    ),
]


@pytest.mark.parametrize(("text", "key", "words"), BAD_CONFIGS)
def test_bad_config_errors_name_file_key_and_expectation(
    tmp_path: Path, text: str, key: str | None, words: str
) -> None:
    folder = write_agent(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_agent_config(folder)
    error = info.value
    assert error.path == folder / "agent.json"
    assert error.key == key
    assert words in error.message
    assert str(error).startswith(f"{folder / 'agent.json'}: ")
    if key:
        assert f"key '{key}'" in str(error)
    assert "\n" not in str(error)


def test_missing_paths(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"expected a folder with an agent\.json file"):
        load_agent_config(tmp_path)
    with pytest.raises(ConfigError, match="expected an agent folder or a JSON file"):
        load_agent_config(tmp_path / "nothing-here")


def test_unknown_keys_are_warned_about_not_fatal(tmp_path: Path) -> None:
    config = load_agent_config(
        write_agent(tmp_path, {"model": "m", "modle": "x", "servers": [{"type": "stdio", "command": "c", "arg": []}]})
    )
    assert len(config.warnings) == 2
    assert "key 'modle': unknown key ignored" in config.warnings[0]
    assert "key 'servers[0].arg': unknown key ignored for a 'stdio' server" in config.warnings[1]
    assert config.servers == ({"type": "stdio", "command": "c"},)
