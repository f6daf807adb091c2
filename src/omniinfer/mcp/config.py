"""Tiny-agent configuration: loading `agent.json` (+ `PROMPT.md`/`AGENTS.md`), checking it, and
filling its `${input:<id>}` placeholders.

Checks happen here, before anything is started, so that a mistake is reported as one line naming
the file, the key and what was expected (`ConfigError`), not as a traceback from deep inside a
transport. Pure apart from reading the files: asking the user for input values is the CLI's job.

agent.json keys:
  model        model id (required unless endpointUrl is set)
  provider     inference provider
  endpointUrl  an OpenAI-compatible base URL, e.g. "http://127.0.0.1:8080/v1" (becomes base_url)
  apiKey       token for the provider or endpoint
  inputs       [{id, description, type, password}]: values asked for at start-up
  servers      [{type: stdio, command, args, env, cwd} | {type: sse|http, url, headers, ...}]
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from omniinfer.mcp.types import SERVER_TYPES

FILENAME_CONFIG = "agent.json"
PROMPT_FILENAMES = ("PROMPT.md", "AGENTS.md")
PLACEHOLDER_RE = re.compile(r"\$\{input:([^}]*)\}")

# The reference client's default agent, used when no path is given.
DEFAULT_AGENT: dict[str, Any] = {
    "model": "Qwen/Qwen2.5-72B-Instruct",
    "provider": "nebius",
    "servers": [
        {
            "type": "stdio",
            "command": "npx",
            "args": [
                "-y",
                "@modelcontextprotocol/server-filesystem",
                str(Path.home() / ("Desktop" if sys.platform == "darwin" else "")),
            ],
        },
        {"type": "stdio", "command": "npx", "args": ["@playwright/mcp@latest"]},
    ],
}

_SERVER_KEYS: dict[str, dict[str, str]] = {
    # key -> expected kind, per server type ("type" and "allowed_tools" are common to all)
    "stdio": {"command": "str!", "args": "list[str]", "env": "dict[str,str]", "cwd": "str"},
    "sse": {"url": "url!", "headers": "dict[str,str]", "timeout": "seconds", "sse_read_timeout": "seconds"},
    "http": {
        "url": "url!",
        "headers": "dict[str,str]",
        "timeout": "seconds",
        "sse_read_timeout": "seconds",
        "terminate_on_close": "bool",
    },
}
_TOP_KEYS = ("model", "provider", "endpointUrl", "apiKey", "inputs", "servers")


class ConfigError(ValueError):
    """A bad agent config: `path` is the file, `key` the JSON path inside it (None for the whole file)."""

    def __init__(self, path: Path | str, key: str | None, message: str) -> None:
        self.path = Path(path)
        self.key = key
        self.message = message
        where = f"{self.path}: key '{key}'" if key else str(self.path)
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class InputSpec:
    """One entry of `inputs`: a value asked for at start-up (or read from the environment)."""

    id: str
    description: str = ""
    type: str = "promptString"
    password: bool = False

    @property
    def env_var(self) -> str:
        """The environment variable that provides the value when the user gives none."""
        return env_var_for(self.id)


@dataclass(frozen=True)
class AgentConfig:
    """A checked agent config. `servers` are flat dicts ready for `Agent(servers=...)`."""

    source: Path
    model: str | None = None
    provider: str | None = None
    endpoint_url: str | None = None
    api_key: str | None = None
    inputs: tuple[InputSpec, ...] = ()
    servers: tuple[dict[str, Any], ...] = ()
    prompt: str | None = None
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def used_inputs(self) -> dict[str, list[str]]:
        """For each declared input, the keys whose value contains its placeholder (maybe none)."""
        used: dict[str, list[str]] = {spec.id: [] for spec in self.inputs}
        for key, value in _placeholder_sites(self):
            for input_id in PLACEHOLDER_RE.findall(value):
                used.setdefault(input_id, []).append(key)
        return used

    def with_inputs(self, values: Mapping[str, str]) -> AgentConfig:
        """A copy with every `${input:<id>}` replaced by `values[id]` (an id left out becomes "")."""

        def fill(value: Any) -> Any:
            if isinstance(value, str):
                return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), ""), value)
            if isinstance(value, list):
                return [fill(item) for item in value]
            if isinstance(value, dict):
                return {key: fill(item) for key, item in value.items()}
            return value

        return replace(
            self,
            api_key=fill(self.api_key),
            endpoint_url=fill(self.endpoint_url),
            servers=tuple(fill(server) for server in self.servers),
        )


def env_var_for(input_id: str) -> str:
    """`my-token` -> `MY_TOKEN`: the environment variable an input falls back to."""
    return input_id.replace("-", "_").upper()


def load_agent_config(path: str | Path | None) -> AgentConfig:
    """Load an agent from a folder (agent.json + PROMPT.md or AGENTS.md), a JSON file, or the default."""
    if path is None:
        return parse_agent_config(DEFAULT_AGENT, Path("<default agent>"))
    location = Path(path).expanduser()
    prompt: str | None = None
    if location.is_dir():
        config_file = location / FILENAME_CONFIG
        if not config_file.is_file():
            raise ConfigError(location, None, f"expected a folder with an {FILENAME_CONFIG} file, found none")
        for name in PROMPT_FILENAMES:
            prompt_file = location / name
            if prompt_file.is_file():
                prompt = _read_text(prompt_file)
                break
    elif location.is_file():
        config_file = location
    else:
        # Agents of the Hub dataset (`owner/name`) are fetched into the cache by the CLI first
        # (omniinfer.mcp.hub), which then passes their folder here.
        raise ConfigError(location, None, "expected an agent folder or a JSON file, but nothing is there")
    text = _read_text(config_file)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(
            config_file,
            None,
            f"expected valid JSON, got an error at line {err.lineno}, column {err.colno}: {err.msg}",
        ) from None
    config = parse_agent_config(data, config_file)
    return replace(config, prompt=prompt) if prompt is not None else config


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(path, None, f"expected a readable UTF-8 file: {err}") from None


def parse_agent_config(data: Any, source: Path) -> AgentConfig:
    """Check the decoded JSON of an agent config; raise ConfigError for the first problem found."""
    checker = _Checker(source)
    if not isinstance(data, dict):
        raise ConfigError(source, None, f"expected a JSON object at the top level, got {_kind(data)}")
    for key in data:
        if key not in _TOP_KEYS and not key.startswith("$"):
            checker.warn(key, f"unknown key ignored (known keys: {', '.join(_TOP_KEYS)})")
    model = checker.optional_str(data, "model", "model")
    provider = checker.optional_str(data, "provider", "provider")
    endpoint_url = checker.optional_str(data, "endpointUrl", "endpointUrl")
    if endpoint_url is not None and not endpoint_url.startswith(("http://", "https://", "${input:")):
        raise ConfigError(source, "endpointUrl", f"expected an http:// or https:// URL, got {endpoint_url!r}")
    api_key = checker.optional_str(data, "apiKey", "apiKey")
    if model is None and endpoint_url is None:
        raise ConfigError(source, "model", "expected a model id string (required unless 'endpointUrl' is set)")

    inputs: list[InputSpec] = []
    for i, item in enumerate(checker.optional_list(data, "inputs", "inputs")):
        key = f"inputs[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(source, key, f"expected an object with an 'id', got {_kind(item)}")
        input_id = checker.required_str(item, "id", f"{key}.id")
        if any(spec.id == input_id for spec in inputs):
            raise ConfigError(source, f"{key}.id", f"expected a unique id, but {input_id!r} is declared twice")
        description = checker.optional_str(item, "description", f"{key}.description") or ""
        input_type = checker.optional_str(item, "type", f"{key}.type") or "promptString"
        password = item.get("password", False)
        if not isinstance(password, bool):
            raise ConfigError(source, f"{key}.password", f"expected true or false, got {_kind(password)}")
        inputs.append(InputSpec(input_id, description, input_type, password))

    servers = [
        checker.server(item, f"servers[{i}]")
        for i, item in enumerate(checker.optional_list(data, "servers", "servers"))
    ]
    config = AgentConfig(
        source=source,
        model=model,
        provider=provider,
        endpoint_url=endpoint_url,
        api_key=api_key,
        inputs=tuple(inputs),
        servers=tuple(servers),
        warnings=tuple(checker.warnings),
    )
    declared = {spec.id for spec in inputs}
    for key, value in _placeholder_sites(config):
        for input_id in PLACEHOLDER_RE.findall(value):
            if input_id not in declared:
                raise ConfigError(
                    source,
                    key,
                    f"expected '${{input:{input_id}}}' to name an input declared in 'inputs', found none",
                )
    return config


def _placeholder_sites(config: AgentConfig) -> list[tuple[str, str]]:
    """(key, string value) of every string a placeholder may appear in."""
    sites: list[tuple[str, str]] = []
    if config.api_key is not None:
        sites.append(("apiKey", config.api_key))
    if config.endpoint_url is not None:
        sites.append(("endpointUrl", config.endpoint_url))

    def walk(value: Any, key: str) -> None:
        if isinstance(value, str):
            sites.append((key, value))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{key}[{i}]")
        elif isinstance(value, dict):
            for name, item in value.items():
                walk(item, f"{key}.{name}")

    for i, server in enumerate(config.servers):
        walk(server, f"servers[{i}]")
    return sites


class _Checker:
    """Type checks that raise ConfigError with the JSON path of the offending key."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.warnings: list[str] = []

    def warn(self, key: str, message: str) -> None:
        self.warnings.append(f"{self.source}: key '{key}': {message}")

    def optional_str(self, obj: dict[str, Any], name: str, key: str) -> str | None:
        value = obj.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise ConfigError(self.source, key, f"expected a non-empty string, got {_kind(value)}")
        return value

    def required_str(self, obj: dict[str, Any], name: str, key: str) -> str:
        value = self.optional_str(obj, name, key)
        if value is None:
            raise ConfigError(self.source, key, "expected a non-empty string, but the key is missing")
        return value

    def optional_list(self, obj: dict[str, Any], name: str, key: str) -> list[Any]:
        value = obj.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ConfigError(self.source, key, f"expected a list, got {_kind(value)}")
        return value

    def server(self, item: Any, key: str) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise ConfigError(self.source, key, f"expected an object with a 'type', got {_kind(item)}")
        server_type = item.get("type")
        if server_type not in SERVER_TYPES:
            expected = ", ".join(f'"{t}"' for t in SERVER_TYPES)
            got = "nothing" if server_type is None else json.dumps(server_type)
            raise ConfigError(self.source, f"{key}.type", f"expected one of {expected}, got {got}")
        params: dict[str, Any] = dict(item)
        params.pop("type")
        prefix = key
        if isinstance(params.get("config"), dict):
            # The first tiny-agents format nested the parameters under "config".
            nested = params.pop("config")
            for extra in params:
                self.warn(f"{key}.{extra}", "unknown key ignored")
            params, prefix = dict(nested), f"{key}.config"
        expected_keys = _SERVER_KEYS[server_type]
        result: dict[str, Any] = {"type": server_type}
        for name, kind in expected_keys.items():
            required = kind.endswith("!")
            value = params.get(name)
            if value is None:
                if required:
                    what = "a URL string" if kind == "url!" else "a non-empty string"
                    raise ConfigError(self.source, f"{prefix}.{name}", f"expected {what}, but the key is missing")
                continue
            result[name] = self._value(value, kind.rstrip("!"), f"{prefix}.{name}")
        if params.get("allowed_tools") is not None:
            result["allowed_tools"] = self._value(params["allowed_tools"], "list[str]", f"{prefix}.allowed_tools")
        for name in params:
            if name not in expected_keys and name != "allowed_tools":
                known = ", ".join([*expected_keys, "allowed_tools"])
                self.warn(f"{prefix}.{name}", f"unknown key ignored for a {server_type!r} server (known: {known})")
        return result

    def _value(self, value: Any, kind: str, key: str) -> Any:
        if kind == "str":
            if not isinstance(value, str) or not value:
                raise ConfigError(self.source, key, f"expected a non-empty string, got {_kind(value)}")
        elif kind == "url":
            if not isinstance(value, str) or not value.startswith(("http://", "https://", "${input:")):
                raise ConfigError(self.source, key, f"expected an http:// or https:// URL, got {_kind(value)}")
        elif kind == "list[str]":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(self.source, key, f"expected a list of strings, got {_kind(value)}")
        elif kind == "dict[str,str]":
            if not isinstance(value, dict):
                raise ConfigError(self.source, key, f"expected an object of strings, got {_kind(value)}")
            for name, item in value.items():
                if not isinstance(item, str):
                    raise ConfigError(self.source, f"{key}.{name}", f"expected a string, got {_kind(item)}")
        elif kind == "seconds":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(self.source, key, f"expected a positive number of seconds, got {_kind(value)}")
        elif kind == "bool" and not isinstance(value, bool):
            raise ConfigError(self.source, key, f"expected true or false, got {_kind(value)}")
        return value


def _kind(value: Any) -> str:
    """A JSON value described for an error message: its JSON type, and the value when it is short."""
    names = {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }
    if value is None:
        return "null"
    name = names.get(type(value), type(value).__name__)
    shown = json.dumps(value, ensure_ascii=False) if not isinstance(value, (dict, list)) else ""
    return f"{name} {shown}" if shown and len(shown) <= 60 else name
