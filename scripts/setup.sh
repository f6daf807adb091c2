#!/usr/bin/env bash
# Create .venv and install omniinfer with what the tests need. Idempotent.
# llama-cpp-python (the `local` provider's engine) is built portably by install_llama_cpp.sh first,
# so that the `local` extra below finds it installed and pip never builds or reuses a native one.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
scripts/install_llama_cpp.sh .venv/bin/python
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test,local]"
