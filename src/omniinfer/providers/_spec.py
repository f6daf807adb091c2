"""What a provider is: data (hosts, auth, routes) plus the few hooks where it really differs."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omniinfer._core.records import Response
    from omniinfer.routing import Target

# (payload, provider-side model id) -> payload; may mutate and return its argument.
PayloadHook = Callable[[dict[str, Any], str], dict[str, Any]]


@dataclass(slots=True)
class ProviderCall:
    """What a provider's task hooks receive: the task's inputs and parameters, and where it goes.

    `inputs` is the task's main input as the task prepared it: text, a dict, or a loaded
    `omniinfer._core.inputs.Blob` for binary inputs. `parameters` has its None values removed.
    `deadline` (a `time.monotonic()` instant) bounds the provider's job, polling included; None
    means the default job budget counted from when the job starts (`providers._jobs`).
    """

    task: str
    inputs: Any
    parameters: dict[str, Any]
    extra: dict[str, Any]
    target: Target
    deadline: float | None = None


@dataclass(slots=True)
class Prepared:
    """The request a provider builds for a call: a JSON body (dict) or raw bytes, and optionally
    another URL (default: the route's) and extra headers."""

    body: dict[str, Any] | bytes
    url: str | None = None
    headers: dict[str, str] | None = None


# Build the provider's request from the call.
PrepareHook = Callable[[ProviderCall], Prepared]
# Turn the provider's answer into the task's raw output (bytes, or JSON-decoded data); a generator
# because it may poll a job (yielding Sleep and follow-up Requests) or download a result file.
ResultHook = Callable[[ProviderCall, "Response"], Generator[Any, Any, Any]]


@dataclass(frozen=True, slots=True)
class TaskRoute:
    """How one provider serves one task. `route` is appended to the provider's base URL; `{model}`
    in it is replaced by the provider-side model id."""

    route: str
    payload_hook: PayloadHook | None = None
    # "chat": OpenAI chat body; "completions": OpenAI completions body; "tgi": TGI body;
    # "hf": the Hugging Face task body ({"inputs", "parameters"} or raw bytes);
    # "provider": the provider's own request and answer, built and read by `prepare` / `result`.
    protocol: str = "chat"
    prepare: PrepareHook | None = None
    result: ResultHook | None = None


def native(route: str, prepare: PrepareHook, result: ResultHook | None = None) -> TaskRoute:
    """A task served in the provider's own format: `prepare` builds the request, `result` (if any)
    reads the answer (polling a job, downloading a file); without it the answer is the output."""
    return TaskRoute(route, protocol="provider", prepare=prepare, result=result)


@dataclass(frozen=True, slots=True)
class MappingEntry:
    """One provider's entry in a Hub model's inference-provider mapping."""

    provider: str
    provider_id: str
    status: str | None
    task: str | None
    adapter: str | None = None
    adapter_weights_path: str | None = None
    type: str | None = None


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
    # The model is a Hub-style id, checked as URL path segments before any request; the local
    # provider's may be a file path (it never goes into a URL).
    model_is_hub_id: bool = True
    extra_headers: dict[str, str] = field(default_factory=dict)
    # The model used when none is given (the `local` provider's catalogue default).
    default_model: str | None = None
    # Honours `stream_options: {"include_usage": true}` (a final usage-only chunk): the client asks
    # for it on streams. Providers that send usage unasked, or whose support is unknown, leave it off.
    stream_usage: bool = False
