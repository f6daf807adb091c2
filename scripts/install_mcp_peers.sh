#!/usr/bin/env bash
# Install the real MCP servers that tests/test_mcp_*.py talk to, through the shared peer scripts
# (npm: server-everything + server-filesystem; PyPI: mcp-server-time + the demo server's venv).
# Idempotent and offline apart from the package registries. Everything goes under $PEERS_HOME
# (default /tmp/peers).
#
#   scripts/install_mcp_peers.sh               MCP servers only (~30 s the first time)
#   scripts/install_mcp_peers.sh --with-llama  also build the llama.cpp peer and its model once
#                                              (~5 min the first time), so that the first agent
#                                              test does not spend its timeout on the build
#
# The `mcp` Python SDK itself is a dependency of omniinfer (extra "mcp"), not a peer.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${OMNIINFER_SHARED:-$HERE/../../shared}
PEERS=$SHARED/peers
if [ ! -f "$PEERS/mcp_servers.sh" ]; then
  echo "install_mcp_peers.sh: $PEERS/mcp_servers.sh not found (set OMNIINFER_SHARED)" >&2
  exit 1
fi

bash "$PEERS/mcp_servers.sh" install

if [ "${1:-}" = "--with-llama" ]; then
  # llama_server.sh builds llama.cpp and assembles the model on first use; start it once on a free
  # port and stop it again.
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  PID=$(bash "$PEERS/llama_server.sh" "$PORT" qwen --chat-template-file "$PEERS/qwen25-tools-bare-json.jinja")
  kill "$PID"
fi
