#!/usr/bin/env bash
# Install llama-cpp-python (the engine of the `local` provider) into a Python environment, built
# portably: never -march=native. Some virtual machines advertise CPU features in cpuid (AMX,
# AVX-512) that their hypervisor traps, and a natively built engine then dies with SIGILL on the
# first matrix product. On x86-64 the build targets AVX2/FMA/F16C (every x86-64 CPU since 2013-2015).
#
# The wheel is built once per (version, flags, Python) into our own cache, keyed on exactly those,
# and pip's cache is never read for it: pip caches wheels by name and version only, so a wheel built
# natively elsewhere would otherwise be reused whatever the flags say.
#
#   scripts/install_llama_cpp.sh [PYTHON]          install into PYTHON (default .venv/bin/python)
#   scripts/install_llama_cpp.sh [PYTHON] --force  rebuild even if a cached portable wheel exists
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
FORCE=${2:-}
VERSION=${OMNIINFER_LLAMA_CPP_VERSION:-0.3.36}
ARCH=$(uname -m)
FLAGS="-DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF"
if [ "$ARCH" = "x86_64" ]; then
  FLAGS="$FLAGS -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
  FLAGS="$FLAGS -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
fi
PYTAG=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
KEY=$(printf '%s|%s|%s|%s' "$VERSION" "$ARCH" "$PYTAG" "$FLAGS" | sha256sum | cut -c1-16)
CACHE=${OMNIINFER_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/omniinfer/wheels}/llama-cpp-python-$VERSION-$KEY

installed_key=$("$PY" -c 'import importlib.metadata as m, pathlib, sys
try:
    d = m.distribution("llama-cpp-python")
except m.PackageNotFoundError:
    sys.exit(0)
p = pathlib.Path(str(d.locate_file(""))) / "llama_cpp" / ".omniinfer-build"
print(p.read_text().strip() if p.exists() else "")' 2>/dev/null || true)
if [ "$installed_key" = "$KEY" ] && [ "$FORCE" != "--force" ]; then
  exit 0
fi

if [ "$FORCE" = "--force" ] || ! ls "$CACHE"/*.whl >/dev/null 2>&1; then
  echo "Building llama-cpp-python $VERSION portably ($ARCH: ${FLAGS}); several minutes, once..." >&2
  rm -rf "$CACHE.tmp" && mkdir -p "$CACHE.tmp"
  CMAKE_ARGS="$FLAGS" CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
    "$PY" -m pip wheel -q --no-cache-dir --no-deps --no-binary llama-cpp-python \
    -w "$CACHE.tmp" "llama-cpp-python==$VERSION" >&2
  rm -rf "$CACHE" && mv "$CACHE.tmp" "$CACHE"
fi
"$PY" -m pip install -q --disable-pip-version-check --no-cache-dir --force-reinstall --no-deps "$CACHE"/*.whl
"$PY" -m pip install -q --disable-pip-version-check "llama-cpp-python==$VERSION"
# Mark the installed engine with the build key, so a later run knows it is ours and portable.
"$PY" -c 'import importlib.util, pathlib, sys
spec = importlib.util.find_spec("llama_cpp")
pathlib.Path(spec.origin).with_name(".omniinfer-build").write_text(sys.argv[1] + "\n")' "$KEY"
