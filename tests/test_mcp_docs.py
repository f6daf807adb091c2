"""The example of docs/agents.md runs as written (only the server URL is pointed at the llama peer)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import mcp_peers
from mcp_peers import REPO

# Fixtures from tests/mcp_peers.py: pytest looks them up by name in this module.
llama_base_url = mcp_peers.llama_base_url

pytestmark = [pytest.mark.peer, pytest.mark.timeout(60)]

DOC = REPO / "docs" / "agents.md"
DOC_URL = "http://127.0.0.1:8080/v1"


def test_agents_doc_example_runs(tmp_path: Path, llama_base_url: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    files = dict(
        (match.group(1), match.group(2)) for match in re.finditer(r"```python\n# (\S+\.py)\n(.*?)```", text, re.S)
    )
    assert set(files) == {"weather_server.py", "agent_example.py"}
    assert DOC_URL in files["agent_example.py"]
    for name, code in files.items():
        (tmp_path / name).write_text(code.replace(DOC_URL, llama_base_url), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "agent_example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=55
    )
    assert done.returncode == 0, done.stderr
    # the output shown in the doc
    assert "[get_weather] The weather in Paris is sunny, 18 degrees Celsius." in done.stdout
    assert "[get_weather] The weather in Paris is sunny, 18 degrees Celsius." in text
