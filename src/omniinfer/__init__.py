"""omniinfer: one client for inference providers, dedicated endpoints and local servers.

    from omniinfer import InferenceClient, AsyncInferenceClient

Names are loaded on first use (PEP 562) so that `import omniinfer` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from omniinfer._version import __version__ as __version__

_ERRORS = (
    "AuthenticationError",
    "BadRequestError",
    "GenerationError",
    "HfHubHTTPError",
    "IncompleteGenerationError",
    "IncompleteStreamError",
    "InferenceConnectionError",
    "InferenceError",
    "InferenceHTTPError",
    "InferenceTimeoutError",
    "JobFailedError",
    "LocalEngineCrashError",
    "MalformedResponseError",
    "NotFoundError",
    "OverloadedError",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ServerError",
    "TextGenerationError",
    "UnknownError",
    "ValidationError",
)

_LOCATIONS: dict[str, str] = {
    "InferenceClient": "omniinfer.client",
    "AsyncInferenceClient": "omniinfer.async_client",
    "Timeout": "omniinfer._core.records",
    "ResponseMeta": "omniinfer._core.meta",
    "last_response_meta": "omniinfer._core.meta",
    "MCPClient": "omniinfer.mcp.client",
    "Agent": "omniinfer.mcp.agent",
    **{name: "omniinfer.errors" for name in _ERRORS},
}


def _type_names() -> list[str]:
    import omniinfer.types as types_module

    return list(types_module.__all__)


def __getattr__(name: str) -> Any:
    module = _LOCATIONS.get(name)
    if module is None:
        if name.startswith("_") or name not in _type_names():
            raise AttributeError(f"module 'omniinfer' has no attribute {name!r}")
        module = "omniinfer.types"
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LOCATIONS) | set(_type_names()))


__all__ = sorted([*_LOCATIONS, "__version__"])  # output types are listed in omniinfer.types.__all__

if TYPE_CHECKING:
    from omniinfer._core.meta import ResponseMeta as ResponseMeta
    from omniinfer._core.meta import last_response_meta as last_response_meta
    from omniinfer._core.records import Timeout as Timeout
    from omniinfer.async_client import AsyncInferenceClient as AsyncInferenceClient
    from omniinfer.client import InferenceClient as InferenceClient
    from omniinfer.errors import *  # noqa: F403
    from omniinfer.mcp.agent import Agent as Agent
    from omniinfer.mcp.client import MCPClient as MCPClient
    from omniinfer.types import *  # noqa: F403
