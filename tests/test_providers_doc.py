"""docs/providers.md is generated from the provider registry and must stay in step with it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from omniinfer.providers import REGISTRY

ROOT = Path(__file__).resolve().parent.parent


def _generator() -> object:
    spec = importlib.util.spec_from_file_location("gen_providers_doc", ROOT / "scripts" / "gen_providers_doc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_match_the_registry() -> None:
    generator = _generator()
    expected = generator.render()  # type: ignore[attr-defined]
    actual = (ROOT / "docs" / "providers.md").read_text(encoding="utf-8")
    assert actual == expected, "docs/providers.md is out of date: run scripts/gen_providers_doc.py"


def test_every_provider_and_task_is_in_the_table() -> None:
    text = (ROOT / "docs" / "providers.md").read_text(encoding="utf-8")
    for provider in REGISTRY.values():
        assert f"| {provider.id} |" in text
        for task in provider.tasks:
            assert task in text
