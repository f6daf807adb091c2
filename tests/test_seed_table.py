"""Every ✅ of the Hugging Face guide's "Supported providers and tasks" table is served here."""

from __future__ import annotations

import re

import pytest

from cassettes import SHARED
from omniinfer.cli.catalogue import task_id
from omniinfer.providers import REGISTRY

GUIDE = SHARED / "seed" / "000_13230b68a468b596.txt"
PROVIDER_IDS = {
    "Black Forest Labs": "black-forest-labs",
    "Cerebras": "cerebras",
    "Cohere": "cohere",
    "fal-ai": "fal-ai",
    "Featherless AI": "featherless-ai",
    "Fireworks AI": "fireworks-ai",
    "Groq": "groq",
    "HF Inference": "hf-inference",
    "Hyperbolic": "hyperbolic",
    "Nebius AI Studio": "nebius",
    "Novita AI": "novita",
    "Replicate": "replicate",
    "Sambanova": "sambanova",
    "Together": "together",
}


def _table() -> list[tuple[str, str, bool]]:
    """(client method, provider id, supported) for every cell of the guide's table."""
    if not GUIDE.exists():
        pytest.skip(f"the guide is not available: {GUIDE}")
    text = GUIDE.read_text(encoding="utf-8")
    lines = [line.strip() for line in text[text.index("which providers support which tasks") :].splitlines()]
    lines = [line for line in lines if line]
    at = lines.index("Task") + 1
    providers: list[str] = []
    while not lines[at].startswith("["):
        providers.append(lines[at])
        at += 1
    cells = []
    while at < len(lines) and (found := re.match(r"\[([a-z_\\]+)\(\)\]", lines[at])):
        method = found.group(1).replace("\\", "")
        marks = lines[at + 1 : at + 1 + len(providers)]
        cells += [(method, PROVIDER_IDS[name], mark == "✅") for name, mark in zip(providers, marks, strict=True)]
        at += 1 + len(providers)
    return cells


def test_every_supported_cell_is_served() -> None:
    cells = _table()
    assert len({method for method, _, _ in cells}) == 28  # the guide's rows
    missing = [(m, p) for m, p, supported in cells if supported and task_id(m) not in REGISTRY[p].tasks]
    assert missing == []
    assert ("tabular_regression", "hf-inference", True) in cells
