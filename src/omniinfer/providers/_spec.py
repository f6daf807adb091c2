"""What a provider is: data (hosts, auth, routes) plus the few hooks where it really differs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# (payload, provider-side model id) -> payload; may mutate and return its argument.
PayloadHook = Callable[[dict[str, Any], str], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class TaskRoute:
    """How one provider serves one task. `route` is appended to the provider's base URL; `{model}`
    in it is replaced by the provider-side model id."""

    route: str
    payload_hook: PayloadHook | None = None
    # "chat": OpenAI chat body; "completions": OpenAI completions body; "tgi": TGI body.
    protocol: str = "chat"


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@dataclass(frozen=True, slots=True)
class Provider:
    id: str
    direct_url: str | None  # the provider's own host; None when it is reachable through the router only
    tasks: dict[str, TaskRoute]
    # The auth header(s) for a direct key; through the router it is always Bearer hf_...
    direct_auth: Callable[[str], dict[str, str]] = bearer
    token_required: bool = True
    router_allowed: bool = True
    uses_hub_mapping: bool = True
    # hf-inference serves Hub ids directly: it checks the model's task instead of mapping it, and
    # picks the Hub's recommended model for the task when none is given.
    checks_hub_task: bool = False
    extra_headers: dict[str, str] = field(default_factory=dict)
