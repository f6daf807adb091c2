"""docs/tasks.md stays in step with the client's methods and the provider registry."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_tasks_table_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/gen_docs_tables.py", "--check"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_table_lists_every_task_method() -> None:
    from omniinfer.client import InferenceClient

    page = (REPO / "docs" / "tasks.md").read_text(encoding="utf-8")
    utilities = {"close", "health_check", "get_endpoint_info"}
    methods = [
        n for n, m in vars(InferenceClient).items() if callable(m) and not n.startswith("_") and n not in utilities
    ]
    assert len(methods) >= 29
    for method in methods:
        assert f"| `{method}` |" in page, method
