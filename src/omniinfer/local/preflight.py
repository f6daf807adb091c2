"""A crash in llama.cpp must never take the caller's process down.

llama.cpp is native code: built for CPU features a machine advertises but does not execute (AMX or
AVX-512 under some hypervisors), or fed a damaged file, it dies with SIGILL, SIGSEGV or SIGABRT, and
with it the process that loaded it. So before a model is first loaded in-process, a child process
loads the same file with the same engine and generates a couple of tokens (prompt batches and
single-token steps, the two kinds of kernels). Its verdict is cached per engine build, model file and
CPU (`$OMNIINFER_HOME/preflight/`), so each pair is probed once; the model then runs in-process at
full speed (bench/local_isolation.py measures both choices; bench/RESULTS.md has the figures).

A child killed by a signal becomes LocalEngineCrashError (with the command that fixes a non-portable
build); a child that fails normally (a file llama.cpp rejects) says nothing: the in-process load
then raises the usual error. `OMNIINFER_LOCAL_PREFLIGHT=0` skips the check.

Run as `python -m omniinfer.local.preflight MODEL.gguf` it is the child itself.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import platform
import signal
import subprocess
import sys
from pathlib import Path

from omniinfer.errors import LocalEngineCrashError
from omniinfer.local.install import home, locked, write_atomically

# What the child generates from: long enough for a batched prompt step, then single-token steps.
PROBE_PROMPT = "The quick brown fox jumps over the lazy dog. " * 8
PROBE_TOKENS = 2
# Loading a large model can take minutes; a child that takes longer is left undecided (not cached).
PROBE_TIMEOUT = 900.0

# The flags of the portable build (scripts/install_llama_cpp.sh builds the same way).
PORTABLE_CMAKE_ARGS = "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
_CHILD_FAILED = 3  # the child's exit code for an ordinary Python error (not a crash)


def reinstall_command() -> str:
    """The exact command that rebuilds llama-cpp-python portably for this interpreter."""
    arch = platform.machine().lower()
    flags = PORTABLE_CMAKE_ARGS if arch in ("x86_64", "amd64") else "-DGGML_NATIVE=OFF"
    return (
        f'CMAKE_ARGS="{flags}" {sys.executable} -m pip install --force-reinstall --no-cache-dir '
        "--no-binary llama-cpp-python llama-cpp-python"
    )


def enabled() -> bool:
    return os.environ.get("OMNIINFER_LOCAL_PREFLIGHT", "1").strip().lower() not in ("0", "false", "no", "off")


def check(model: Path) -> None:
    """Raise LocalEngineCrashError if loading and running `model` crashes the engine; otherwise
    return (at once when this engine, model and CPU were checked before)."""
    if not enabled():
        return
    verdict_path = home() / "preflight" / f"{_key(model)}.json"
    verdict = _read(verdict_path)
    if verdict is None:
        verdict_path.parent.mkdir(parents=True, exist_ok=True)
        with locked(verdict_path.with_suffix(".lock")):  # two clients loading at once probe once
            verdict = _read(verdict_path) or _probe(model, verdict_path)
    if verdict.get("verdict") == "crash":
        raise _crash_error(model, str(verdict.get("signal", "a signal")), str(verdict.get("detail", "")))


def _key(model: Path) -> str:
    """What the verdict depends on: the engine's native files, the model file, the CPU, Python."""
    facts: list[object] = [sys.version, platform.machine(), _cpu_identity()]
    spec = importlib.util.find_spec("llama_cpp")
    if spec is not None and spec.origin:
        package = Path(spec.origin).parent
        facts.append(str(package))
        for native in sorted(package.rglob("*")):
            if native.suffix in (".so", ".dylib", ".dll") or native.name == ".omniinfer-build":
                stat = native.stat()
                facts.append((native.name, stat.st_size, stat.st_mtime_ns))
    stat = model.stat()
    facts.append((str(model.resolve()), stat.st_size, stat.st_mtime_ns))
    return hashlib.sha256(repr(facts).encode()).hexdigest()[:32]


def _cpu_identity() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            lines = [line for line in cpuinfo if line.startswith(("model name", "flags", "Features"))]
        return "".join(sorted(set(lines)))
    except OSError:
        return platform.processor()


def _read(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("verdict") in ("ok", "crash") else None


def _probe(model: Path, verdict_path: Path) -> dict[str, object]:
    """Run the child and cache a definite verdict; an undecided one (no crash seen) allows the load."""
    command = [sys.executable, "-m", "omniinfer.local.preflight", str(model)]
    env = {**os.environ, "OMNIINFER_QUIET": "1"}
    try:
        done = subprocess.run(command, capture_output=True, env=env, timeout=PROBE_TIMEOUT, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return {"verdict": "ok", "undecided": True}
    died_by = _signal_of(done.returncode)
    if died_by is None:
        if done.returncode != 0:
            return {"verdict": "ok", "undecided": True}  # an ordinary error: the in-process load reports it
        verdict: dict[str, object] = {"verdict": "ok"}
    else:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        verdict = {"verdict": "crash", "signal": died_by, "detail": " | ".join(detail)}
    verdict["model"] = str(model)
    write_atomically(verdict_path, json.dumps(verdict))
    return verdict


def _signal_of(returncode: int) -> str | None:
    """The name of the signal (or Windows exception) that ended a child, None for a normal exit."""
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    if returncode >= 0xC0000000:  # a Windows NTSTATUS: 0xC000001D is an illegal instruction
        return f"exception {returncode:#x}"
    return None


def _crash_error(model: Path, died_by: str, detail: str) -> LocalEngineCrashError:
    if died_by in ("SIGILL", "exception 0xc000001d"):
        why = (
            "the engine uses CPU instructions this machine does not execute (llama-cpp-python was built "
            "for another CPU, or with -march=native on a virtual machine that traps some of them)"
        )
    else:
        why = "the model file may be damaged or unsupported by this llama.cpp, or the engine was built for another CPU"
    message = (
        f"llama.cpp crashed ({died_by}) while loading and running {model} in a test process; it was not "
        f"loaded in this one. Likely cause: {why}. Fix: reinstall llama-cpp-python portably:\n"
        f"    {reinstall_command()}" + (f"\n(engine output: {detail})" if detail else "")
    )
    return LocalEngineCrashError(
        message, signal_name=died_by, model=str(model), fix_command=reinstall_command(), provider="local"
    )


def _run_child(model: str) -> int:
    """The child: load the model with the engine and settings of an in-process load, then generate."""
    from omniinfer.local import models

    try:  # a crash here is the expected outcome on a bad build: no core file for it
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass
    try:
        llama = models.load(Path(model), embedding=False)
        llama.create_completion(PROBE_PROMPT, max_tokens=PROBE_TOKENS, temperature=0.0)
    except Exception as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return _CHILD_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(_run_child(sys.argv[1]))
