"""A native crash in the `local` provider's engine never takes the caller's process down.

No llama.cpp is built here: a stand-in `llama_cpp` package (written to a temporary folder and put
first on the path of this process and of its children) behaves like the engine, and dies with a real
signal on the models named to crash, as a natively built llama.cpp dies with SIGILL on a machine
that traps its instructions.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from omniinfer import AsyncInferenceClient, InferenceClient
from omniinfer.errors import LocalEngineCrashError, NotFoundError

QUESTION = [{"role": "user", "content": "Hello?"}]

STAND_IN = '''
"""A stand-in for llama-cpp-python: crashes on models whose file name says so."""
import os, signal
from pathlib import Path

LOADS = Path(os.environ["STAND_IN_LOADS"])

class Llama:
    def __init__(self, model_path, **options):
        with LOADS.open("a") as loads:
            loads.write(f"{os.getpid()} {Path(model_path).name}\\n")
        name = Path(model_path).name
        if name.startswith("sigill"):
            os.kill(os.getpid(), signal.SIGILL)
        if name.startswith("sigsegv"):
            os.kill(os.getpid(), signal.SIGSEGV)
        if name.startswith("rejected"):
            raise ValueError("Failed to load model from file")

    def create_completion(self, prompt, **options):
        return {"choices": [{"text": " ok", "index": 0, "finish_reason": "length"}]}

    def create_chat_completion(self, messages, **options):
        return {
            "id": "chatcmpl-stand-in",
            "object": "chat.completion",
            "created": 0,
            "model": "stand-in",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi."}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        }
'''


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The stand-in engine on this process's path and its children's; yields the file of loads."""
    package = tmp_path / "engine" / "llama_cpp"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(STAND_IN)
    loads = tmp_path / "loads.txt"
    loads.touch()
    monkeypatch.setenv("STAND_IN_LOADS", str(loads))
    monkeypatch.setenv("OMNIINFER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(package.parent), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.syspath_prepend(str(package.parent))
    real = sys.modules.pop("llama_cpp", None)
    try:
        yield loads
    finally:
        sys.modules.pop("llama_cpp", None)  # the stand-in, if this process loaded it
        if real is not None:
            sys.modules["llama_cpp"] = real


def _model(tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(b"GGUF" + bytes(60))
    return str(path)


def _loads(loads: Path) -> list[tuple[bool, str]]:
    """(in this process?, model file) for every load the engine saw."""
    return [(int(pid) == os.getpid(), name) for pid, name in (line.split() for line in loads.read_text().splitlines())]


def test_sigill_on_load_is_a_typed_error_and_the_process_carries_on(stand_in: Path, tmp_path: Path) -> None:
    crashing = _model(tmp_path, "sigill-model.gguf")
    with InferenceClient(crashing, provider="local") as client:
        with pytest.raises(LocalEngineCrashError) as caught:
            client.chat_completion(QUESTION, max_tokens=4)
        error = caught.value
        assert error.signal_name == "SIGILL" and error.provider == "local" and error.model == crashing
        assert "CPU instructions this machine does not execute" in str(error)
        assert error.fix_command in str(error)
        assert "GGML_NATIVE=OFF" in error.fix_command and "--no-cache-dir" in error.fix_command
        assert f"{sys.executable} -m pip install --force-reinstall" in error.fix_command
        # The verdict is kept: a second call fails at once, without a second crash.
        with pytest.raises(LocalEngineCrashError):
            client.chat_completion(QUESTION, max_tokens=4)
    assert _loads(stand_in) == [(False, "sigill-model.gguf")]  # once, in a child, never in this process
    verdicts = list((tmp_path / "home" / "preflight").glob("*.json"))
    assert [json.loads(v.read_text())["verdict"] for v in verdicts] == ["crash"]

    # This process still works: a model that loads runs in-process as usual, after its own check.
    with InferenceClient(_model(tmp_path, "fine-model.gguf"), provider="local") as client:
        assert client.chat_completion(QUESTION, max_tokens=4).choices[0].message.content == "Hi."
    assert _loads(stand_in)[1:] == [(False, "fine-model.gguf"), (True, "fine-model.gguf")]


def test_the_async_client_gets_the_same_error(stand_in: Path, tmp_path: Path) -> None:
    crashing = _model(tmp_path, "sigsegv-model.gguf")

    async def main() -> LocalEngineCrashError:
        async with AsyncInferenceClient(crashing, provider="local") as client:
            with pytest.raises(LocalEngineCrashError) as caught:
                await client.chat_completion(QUESTION, max_tokens=4, stream=True)
            return caught.value

    error = asyncio.run(main())
    assert error.signal_name == "SIGSEGV"
    assert "may be damaged or unsupported" in str(error) and error.fix_command in str(error)
    assert _loads(stand_in) == [(False, "sigsegv-model.gguf")]


def test_an_ordinary_load_failure_is_not_a_crash(stand_in: Path, tmp_path: Path) -> None:
    # The child fails without a signal: nothing is cached, and the in-process load reports the file.
    with InferenceClient(_model(tmp_path, "rejected-model.gguf"), provider="local") as client:
        with pytest.raises(NotFoundError, match="could not be loaded as a GGUF model"):
            client.chat_completion(QUESTION, max_tokens=4)
    assert _loads(stand_in) == [(False, "rejected-model.gguf"), (True, "rejected-model.gguf")]
    assert not list((tmp_path / "home" / "preflight").glob("*.json"))


def test_checked_models_are_not_checked_again(stand_in: Path, tmp_path: Path) -> None:
    model = _model(tmp_path, "fine-model.gguf")
    for _ in range(2):  # two clients: the second trusts the cached verdict
        with InferenceClient(model, provider="local") as client:
            client.chat_completion(QUESTION, max_tokens=4)
    assert _loads(stand_in) == [(False, "fine-model.gguf"), (True, "fine-model.gguf"), (True, "fine-model.gguf")]
