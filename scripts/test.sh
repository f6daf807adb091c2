#!/usr/bin/env bash
# Set up and run every check: lint, types, the generated async client, and the whole test suite
# (real llama.cpp and MCP peers included: they are started by the tests and stopped after).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The real peers the tests talk to: MCP servers (npm, PyPI) and the llama.cpp server, built once
# here (about 5 minutes on a fresh machine) so that no test spends its timeout on a build.
scripts/install_mcp_peers.sh --with-llama
# nginx and tinyproxy for the real-server matrix of the HTTP engine (Debian packages; skipped when present).
scripts/install_wire_peers.sh
.venv/bin/ruff check src tests scripts examples bench
.venv/bin/ruff format --check src tests scripts examples bench
.venv/bin/mypy
.venv/bin/python scripts/gen_async_client.py --check
.venv/bin/python -m pytest -p no:cacheprovider "$@"
