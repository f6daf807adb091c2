"""The provider registry: provider id -> Provider. Lookups raise ValueError naming what exists."""

from __future__ import annotations

import os

from omniinfer.providers._spec import MappingEntry, Prepared, Provider, ProviderCall, TaskRoute
from omniinfer.providers.black_forest_labs import BLACK_FOREST_LABS
from omniinfer.providers.deepinfra import DEEPINFRA
from omniinfer.providers.fal_ai import FAL_AI
from omniinfer.providers.hf_inference import HF_INFERENCE
from omniinfer.providers.hyperbolic import HYPERBOLIC
from omniinfer.providers.local import LOCAL
from omniinfer.providers.nebius import NEBIUS
from omniinfer.providers.novita import NOVITA
from omniinfer.providers.nscale import NSCALE
from omniinfer.providers.openai_style import PROVIDERS as _OPENAI_STYLE
from omniinfer.providers.replicate import REPLICATE
from omniinfer.providers.together import TOGETHER
from omniinfer.providers.wavespeed import WAVESPEED
from omniinfer.providers.zai_org import ZAI_ORG

_ALL = [
    *_OPENAI_STYLE,
    BLACK_FOREST_LABS,
    DEEPINFRA,
    FAL_AI,
    HF_INFERENCE,
    HYPERBOLIC,
    LOCAL,
    NEBIUS,
    NOVITA,
    NSCALE,
    REPLICATE,
    TOGETHER,
    WAVESPEED,
    ZAI_ORG,
]
REGISTRY: dict[str, Provider] = {p.id: p for p in sorted(_ALL, key=lambda p: p.id)}

DEFAULT_ROUTER_URL = "https://router.huggingface.co"
DEFAULT_HUB_URL = "https://huggingface.co"


def get_provider(provider_id: str) -> Provider:
    try:
        return REGISTRY[provider_id]
    except KeyError:
        raise ValueError(
            f"Provider {provider_id!r} not supported. Available values: 'auto' or any provider from {sorted(REGISTRY)}."
        ) from None


def get_task_route(provider: Provider, task: str) -> TaskRoute:
    try:
        return provider.tasks[task]
    except KeyError:
        raise ValueError(
            f"Task {task!r} not supported for provider {provider.id!r}. Available tasks: {sorted(provider.tasks)}."
        ) from None


def router_url() -> str:
    """Read per request so that a private gateway (or a test server) can be set at any time."""
    return os.environ.get("OMNIINFER_ROUTER_URL", DEFAULT_ROUTER_URL).rstrip("/")


def hub_url() -> str:
    return os.environ.get("HF_ENDPOINT", DEFAULT_HUB_URL).rstrip("/")


def hub_offline() -> bool:
    """`HF_HUB_OFFLINE` is set: what comes from the Hub comes from the local cache only."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def env_name(provider_id: str, suffix: str = "") -> str:
    return "OMNIINFER_BASE_URL_" + provider_id.upper().replace("-", "_") + suffix


def direct_url(provider: Provider) -> str | None:
    return os.environ.get(env_name(provider.id), provider.direct_url or "").rstrip("/") or None


__all__ = [
    "REGISTRY",
    "MappingEntry",
    "Prepared",
    "Provider",
    "ProviderCall",
    "TaskRoute",
    "direct_url",
    "get_provider",
    "get_task_route",
    "hub_url",
    "router_url",
]
