"""The cassette file: YAML, readable where it can be (JSON and event streams as text), exact always
(a body that YAML text would not give back byte for byte is written as base64 `!!binary`)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from omniinfer.testing.cassette import FORMAT_VERSION, CassetteError, Interaction

_HEADER = "# Recorded by omniinfer.testing.cassette: HTTP interactions, secrets redacted.\n"


def _yaml() -> Any:
    try:
        return importlib.import_module("yaml")
    except ImportError:
        raise ImportError("Cassettes need PyYAML: pip install 'omniinfer[testing]' (or pip install pyyaml)") from None


def _dumper(yaml: Any) -> Any:
    class Dumper(yaml.SafeDumper):  # type: ignore[misc]
        pass

    def text(dumper: Any, data: str) -> Any:
        # Multi-line text (event streams) as a literal block: one event per line, as on the wire.
        style = "|" if "\n" in data else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)

    Dumper.add_representer(str, text)
    return Dumper


def _body(data: bytes, yaml: Any, dumper: Any) -> str | bytes:
    """`data` as text when YAML gives exactly these bytes back, else as bytes (`!!binary`)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    if yaml.safe_load(yaml.dump(text, Dumper=dumper)) != text:
        return data
    return text


def save(path: Path, interactions: list[Interaction]) -> None:
    yaml = _yaml()
    dumper = _dumper(yaml)
    document = {
        "version": FORMAT_VERSION,
        "interactions": [
            {
                "request": {
                    "method": i.method,
                    "url": i.url,
                    "headers": i.request_headers,
                    "body": _body(i.request_body, yaml, dumper),
                },
                "response": {
                    "status": i.status,
                    "headers": i.response_headers,
                    "body": _body(i.body, yaml, dumper),
                },
            }
            for i in interactions
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.dump(document, Dumper=dumper, sort_keys=False, allow_unicode=True, width=1 << 16)
    path.write_text(_HEADER + text, encoding="utf-8")


def _as_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def load(path: Path) -> list[Interaction]:
    yaml = _yaml()
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict) or document.get("version") != FORMAT_VERSION:
            raise CassetteError(f"{path} is not an omniinfer cassette (version {FORMAT_VERSION})")
        interactions = []
        for entry in document.get("interactions") or []:
            request, response = entry["request"], entry["response"]
            interaction = Interaction(
                str(request["method"]),
                str(request["url"]),
                {str(k): str(v) for k, v in (request.get("headers") or {}).items()},
                _as_bytes(request.get("body")),
            )
            interaction.status = int(response["status"])
            interaction.response_headers = {str(k): str(v) for k, v in (response.get("headers") or {}).items()}
            interaction.body = _as_bytes(response.get("body"))
            interaction.done = True
            interactions.append(interaction)
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise CassetteError(f"Unreadable cassette {path}: {exc}") from exc
    return interactions
