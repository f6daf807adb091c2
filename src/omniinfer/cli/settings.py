"""Which client a command builds: the flags, then OMNIINFER_PROVIDER / OMNIINFER_MODEL, then the
offline default (the `local` provider with the catalogue's default model) when nothing at all is
configured — no provider, no model, no token."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from typing import Any

from omniinfer.cli.output import Reporter


@dataclass(slots=True)
class Settings:
    provider: str | None
    model: str | None

    def client_kwargs(self) -> dict[str, Any]:
        return {"provider": self.provider, "model": self.model}


def _looks_local(model: str) -> bool:
    from omniinfer.local.catalogue import lookup

    return model.endswith(".gguf") or lookup(model) is not None


def resolve(args: argparse.Namespace, task: str, reporter: Reporter) -> Settings:
    """The provider and model for `task` (a provider-registry task id, e.g. "conversational")."""
    provider: str | None = args.provider or os.environ.get("OMNIINFER_PROVIDER") or None
    model: str | None = args.base_url or args.model or os.environ.get("OMNIINFER_MODEL") or None
    from omniinfer.local.catalogue import DEFAULT_MODEL
    from omniinfer.providers.local import LOCAL

    if provider is None and model is not None and _looks_local(model):
        provider = "local"  # a .gguf file or a catalogue name can only mean an in-process model
    if provider == "local" and model is None:
        model = DEFAULT_MODEL
    if provider is None and model is None and task in LOCAL.tasks and not _has_token():
        provider, model = "local", DEFAULT_MODEL
        reporter.notice(
            f"no provider, model or token configured: using the local model {model} "
            "(runs offline in this process; --provider/--model or HF_TOKEN to change)"
        )
    if provider == "local":
        # An in-process model needs no token, and a stored Hugging Face token would make the client
        # try to route the call through Hugging Face: leave it out of this process's calls.
        os.environ["HF_HUB_DISABLE_IMPLICIT_TOKEN"] = "1"
    return Settings(provider, model)


def _has_token() -> bool:
    from omniinfer._core.tokens import implicit_token

    return implicit_token() is not None


def quiet_environment(quiet: bool) -> None:
    """`--quiet` reaches the model installer (which may run inside the client) through the environment."""
    if quiet:
        os.environ["OMNIINFER_QUIET"] = "1"


def stdin_is_terminal() -> bool:
    from omniinfer._core.console import is_terminal

    return is_terminal(sys.stdin)
