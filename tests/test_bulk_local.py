"""Bulk jobs on the `local` provider: a real GGUF model (SmolLM2-135M-Instruct, 98 MB, from a PyPI
package via ../shared/peers/gguf_models.sh, as in test_local_hub_model.py) run in-process by the real
llama-cpp-python, through `omniinfer.bulk.run` and through `omniinfer bulk`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import omniinfer.bulk as bulk
from peers import PEERS

pytest.importorskip("llama_cpp", reason="the local provider needs omniinfer[local]")
pytestmark = pytest.mark.timeout(600)  # the first run materialises the model (a PyPI package)

# Where the crash check's verdict is kept between runs (as in test_local_model.py): checked once.
HOME = os.environ.get("OMNIINFER_TEST_HOME", "/tmp/omniinfer-test-home")
PROMPTS = ["Say hello.", "Name a colour.", "What is two plus two?"]
MAX_TOKENS = 4


@pytest.fixture(scope="module")
def smollm() -> Path:
    made = subprocess.run(
        ["bash", str(PEERS / "gguf_models.sh"), "smollm"], capture_output=True, text=True, timeout=300
    )
    assert made.returncode == 0, made.stderr[-2000:]
    return Path(made.stdout.strip().splitlines()[-1])


@pytest.fixture(autouse=True)
def model_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNIINFER_HOME", HOME)
    monkeypatch.setenv("OMNIINFER_QUIET", "1")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def assert_answered(record: dict[str, Any], model: Path) -> None:
    assert record["error"] is None and record["error_type"] is None, record["error"]
    assert isinstance(record["text"], str) and record["text"].strip()
    assert record["input_tokens"] > 0 and 0 < record["output_tokens"] <= MAX_TOKENS
    assert record["provider"] == "local" and record["model"] == str(model)
    assert record["attempts"] == 1
    assert record["result"]["choices"][0]["message"]["content"] == record["text"]


def test_bulk_run_on_the_local_provider(smollm: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"prompt": prompt}) + "\n" for prompt in PROMPTS))
    out = tmp_path / "out.jsonl"
    summary = bulk.run(
        "chat",
        source,
        output=out,
        provider="local",
        model=str(smollm),
        params={"max_tokens": MAX_TOKENS, "temperature": 0},
        quiet=True,
    )
    records = read_jsonl(out)
    assert sorted(r["id"] for r in records) == list(range(len(PROMPTS)))  # one record per row
    for record in records:
        assert_answered(record, smollm)
    assert summary.succeeded == len(PROMPTS) and summary.failed == 0 and summary.exit_code == 0
    assert summary.requests == len(PROMPTS) and summary.rate_limited == 0
    assert summary.input_tokens == sum(r["input_tokens"] for r in records)
    assert summary.output_tokens == sum(r["output_tokens"] for r in records)


def test_cli_bulk_on_the_local_provider(smollm: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    rows = [{"key": f"q{i}", "prompt": prompt} for i, prompt in enumerate(PROMPTS)]
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = tmp_path / "out.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE", "OMNIINFER_"))}
    env.update({"OMNIINFER_HOME": HOME, "HF_HOME": str(tmp_path / "no-hf-home")})
    done = subprocess.run(
        [
            *(sys.executable, "-m", "omniinfer", "bulk", "chat"),
            *("--input", str(source), "--output", str(out)),
            *("--provider", "local", "--model", str(smollm), "--concurrency", "2", "--id-column", "key"),
            *("--param", f"max_tokens={MAX_TOKENS}", "--param", "temperature=0", "--quiet"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == ""  # --quiet: no progress, no summary, no model-loading notice
    records = read_jsonl(out)
    assert sorted(r["id"] for r in records) == [row["key"] for row in rows]  # one record per row, by its id
    for record in records:
        assert_answered(record, smollm)


@pytest.mark.parametrize("quiet", [True, False])
def test_a_quiet_job_prints_nothing_not_even_the_models_loading(
    smollm: Path, tmp_path: Path, quiet: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh process (a model loads once per process) without OMNIINFER_QUIET: `quiet=True` alone
    # must keep stderr empty; the same job without it says that the model is loading (the control).
    monkeypatch.delenv("OMNIINFER_QUIET")
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"prompt": PROMPTS[0]}) + "\n")
    code = (
        "import sys, omniinfer.bulk as bulk\n"
        "s = bulk.run('chat', sys.argv[1], output=sys.argv[2], provider='local', model=sys.argv[3],\n"
        "             params={'max_tokens': 2}, quiet=sys.argv[4] == 'quiet')\n"
        "print(s.succeeded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(source), str(tmp_path / "out.jsonl"), str(smollm), "quiet" if quiet else "-"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "1"
    if quiet:
        assert done.stderr == ""
    else:
        assert f"omniinfer: loading {smollm.name}" in done.stderr
