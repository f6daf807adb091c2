"""Where a call goes: URL endpoint or provider, router or direct, which model id, which headers.

Shared policy, not provider code. `resolve` is a flow step: it may yield one Hub request (the
provider mapping, cached for the process) before it returns the `Target`.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from omniinfer._core.context import USER_AGENT, ClientContext, is_url
from omniinfer._core.fallback import choose
from omniinfer._core.headers import merged
from omniinfer._core.paths import model_path
from omniinfer._core.records import Request, Response
from omniinfer.providers import (
    MappingEntry,
    Provider,
    TaskRoute,
    direct_url,
    get_provider,
    get_task_route,
    hub_url,
    router_url,
)

Step = Generator[Request, Response, Any]
log = logging.getLogger("omniinfer")


@dataclass(slots=True)
class Target:
    """A resolved destination. `provider` is None for a URL endpoint (then `route` is None too)."""

    base: str  # URL the task route is appended to (for an endpoint: the URL the user gave)
    headers: dict[str, str] = field(repr=False)
    provider: Provider | None
    route: TaskRoute | None
    model_id: str | None  # provider-side model id (None for endpoints)
    secret: str | None = field(default=None, repr=False)
    hf_model: str | None = None  # the Hub id the caller gave (LoRA adapters are resolved from it)
    mapping: MappingEntry | None = None

    @property
    def routed(self) -> bool:
        """True when the call goes through the Hugging Face router."""
        return self.provider is not None and self.base.startswith(router_url() + "/")

    @property
    def provider_id(self) -> str | None:
        return self.provider.id if self.provider else None

    def url(self) -> str:
        if self.route is None:
            return self.base
        route = self.route.route
        if "{model}" in route:
            route = route.replace("{model}", model_path(self.model_id or ""))
        return self.base + "/" + route.lstrip("/")

    def request(
        self,
        body: bytes | None,
        *,
        stream: bool = False,
        url: str | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> Request:
        headers = self.headers
        if extra_headers:
            headers = merged(headers, extra_headers)
        return Request("POST", url or self.url(), headers, body, stream, self.provider_id, self.secret, self.model_id)


_mapping_cache: dict[tuple[str, str], list[MappingEntry]] = {}
_info_cache: dict[tuple[str, str], Any] = {}


def clear_hub_cache() -> None:
    """Forget the Hub answers (provider mappings, model info, task lists) cached by this process."""
    with _mapping_lock:
        _mapping_cache.clear()
        _info_cache.clear()


_mapping_lock = threading.Lock()


def _base_headers(ctx: ClientContext) -> dict[str, str]:
    """The client's own headers and cookies merged, remade only when `client.headers` or `cookies`
    changed since the last call (a fresh copy per call: callers add to it). The user-agent goes with
    every request but stays out of `client.headers`, as in the reference."""
    cached = ctx.base_headers
    if cached is None or cached[0] != ctx.headers or cached[1] != ctx.cookies:
        cookie = {"cookie": "; ".join(f"{k}={v}" for k, v in ctx.cookies.items())} if ctx.cookies else None
        base = merged({"content-type": "application/json", "user-agent": USER_AGENT}, ctx.headers, cookie)
        cached = ctx.base_headers = (dict(ctx.headers), dict(ctx.cookies) if ctx.cookies else None, base)
    return dict(cached[2])


def endpoint_target(ctx: ClientContext, url: str) -> Target:
    """A dedicated endpoint or a local server: no Hub, no provider; the token (if any) goes along."""
    token = ctx.api_key()
    headers = _base_headers(ctx)
    if token and "authorization" not in headers:  # the caller's own Authorization header wins
        headers["authorization"] = f"Bearer {token}"
    return Target(url.rstrip("/") or url, headers, None, None, None, token)


def destination(ctx: ClientContext, model: str | None) -> tuple[str | None, str | None]:
    """(where a call goes, the model to name in its body) for a call's `model=`.

    A client made with an endpoint URL (`base_url=`, a URL model) sends every task there: a model id
    given to the call then names the model the endpoint should run, in the body. A URL given to the
    call replaces the client's; otherwise the call's model wins over the client's."""
    if is_url(ctx.model) and model is not None and not is_url(model):
        return ctx.model, model
    return model or ctx.model, None


def resolve(ctx: ClientContext, task: str, model: str | None) -> Step:
    """The Target for `task` with `model` (a Hub id, a URL, or None)."""
    if is_url(model):
        assert model is not None
        return endpoint_target(ctx, model)
    provider_name = ctx.provider
    if isinstance(provider_name, list):  # a fallback list: the first one not yet failed in this call
        provider_name = choose(provider_name, ctx.excluded)
    if provider_name in (None, "auto"):
        provider_name = (yield from _auto_provider(ctx, task, model)) if model else "hf-inference"
    assert isinstance(provider_name, str)
    provider = get_provider(provider_name)
    route = get_task_route(provider, task)
    if model is None and provider.checks_hub_task:
        model = yield from recommended_model(ctx, task)
    if model is None:
        model = provider.default_model
    if model is None:
        raise ValueError(
            f"Provider {provider.id!r} needs a model for task {task!r}: pass `model=` to the client or the call."
        )
    key = ctx.api_key()
    if provider.direct_url is not None and not provider.token_required and not provider.router_allowed:
        key = None  # served in-process without a token (the `local` provider): never routed, no token sent
    routed = provider.direct_url is None or (key is not None and key.startswith("hf_"))
    if key is None and provider.token_required:
        raise ValueError(
            f"You must provide an api_key to work with the {provider.id} API"
            + (
                ", or log in with a Hugging Face token (HF_TOKEN) to route the call through Hugging Face."
                if provider.router_allowed
                else " (its own key: it cannot be reached through the Hugging Face router)."
            )
        )
    if routed and not provider.router_allowed:
        raise ValueError(
            f"Provider {provider.id!r} cannot be reached through the Hugging Face router: "
            f"pass the provider's own API key (not an hf_ token)."
        )
    if provider.model_is_hub_id:
        model_path(model)  # an impossible id fails here, before any request
    model_id = model
    entry: MappingEntry | None = None
    if provider.checks_hub_task:
        yield from check_hub_task(ctx, task, model)
    if provider.uses_hub_mapping:
        entry = yield from _mapping_entry(ctx, provider.id, task, model)
        model_id = entry.provider_id
    auth = None
    if key is not None:
        auth = {"authorization": f"Bearer {key}"} if routed else provider.direct_auth(key)
    headers = merged(_base_headers(ctx), auth, provider.extra_headers)
    if routed:
        base = f"{router_url()}/{provider.id}"
    else:
        base = direct_url(provider) or f"{router_url()}/{provider.id}"
    return Target(base, headers, provider, route, model_id, key, model, entry)


def _hub_headers(ctx: ClientContext) -> dict[str, str]:
    # The Hub sorts the mapping by the user's preferences when it knows who asks. Only an hf_ token
    # goes there: a provider's key never leaves for another host.
    key = ctx.api_key()
    headers = {"user-agent": ctx.headers.get("user-agent", USER_AGENT)}
    if key and key.startswith("hf_"):
        headers["authorization"] = f"Bearer {key}"
    return headers


def provider_mapping(ctx: ClientContext, model: str) -> Step:
    """The model's provider mapping from the Hub, fetched once per process."""
    hub = hub_url()
    cache_key = (hub, model)
    cached = _mapping_cache.get(cache_key)
    if cached is not None:
        return cached
    key = ctx.api_key()
    url = f"{hub}/api/models/{model_path(model)}?expand=inferenceProviderMapping"
    response = yield Request("GET", url, _hub_headers(ctx), None, False, "hub", key)
    entries = parse_mapping(response.json())
    with _mapping_lock:
        _mapping_cache[cache_key] = entries
    return entries


def _hub_json(ctx: ClientContext, path: str) -> Step:
    """GET a Hub API path once per process (model info, task list)."""
    hub = hub_url()
    cache_key = (hub, path)
    if cache_key in _info_cache:
        return _info_cache[cache_key]
    response = yield Request("GET", f"{hub}{path}", _hub_headers(ctx), None, False, "hub", ctx.api_key())
    value = response.json()
    _info_cache[cache_key] = value
    return value


def recommended_model(ctx: ClientContext, task: str) -> Step:
    tasks = yield from _hub_json(ctx, "/api/tasks")
    entry = tasks.get(task) if isinstance(tasks, dict) else None
    models = entry.get("widgetModels") if isinstance(entry, dict) else None
    if not models:
        raise ValueError(f"Task {task!r} has no recommended model: pass `model=` explicitly.")
    model = str(models[0])
    log.info("Using recommended model %s for task %s.", model, task)
    return model


def check_hub_task(ctx: ClientContext, task: str, model: str) -> Step:
    """hf-inference answers only for the model's own task; say so before the call rather than after."""
    info = yield from _hub_json(ctx, f"/api/models/{model_path(model)}")
    if not isinstance(info, dict):
        return None
    pipeline_tag = info.get("pipeline_tag")
    tags = info.get("tags") or []
    if task == "conversational":
        ok = pipeline_tag in ("text-generation", "image-text-to-text") and "conversational" in tags
    elif task == "text-generation":
        ok = pipeline_tag in ("text-generation", "text2text-generation")
    elif task in ("feature-extraction", "sentence-similarity"):
        ok = pipeline_tag == task or (pipeline_tag in ("feature-extraction", "sentence-similarity") and task in tags)
    else:
        ok = pipeline_tag == task
    if not ok and pipeline_tag is not None:
        raise ValueError(
            f"Model {model!r} doesn't support task {task!r} on provider 'hf-inference': its task is {pipeline_tag!r}."
        )
    return None


def parse_mapping(info: Any) -> list[MappingEntry]:
    raw = info.get("inferenceProviderMapping") if isinstance(info, dict) else None
    items: list[tuple[str, dict[str, Any]]] = []
    if isinstance(raw, dict):
        items = [(name, value) for name, value in raw.items() if isinstance(value, dict)]
    elif isinstance(raw, list):
        items = [(str(value.get("provider")), value) for value in raw if isinstance(value, dict)]
    return [
        MappingEntry(
            provider=name,
            provider_id=str(value.get("providerId", "")),
            status=value.get("status"),
            task=value.get("task"),
            adapter=value.get("adapter"),
            adapter_weights_path=value.get("adapterWeightsPath"),
            type=value.get("type"),
        )
        for name, value in items
    ]


def _auto_provider(ctx: ClientContext, task: str, model: str) -> Step:
    from omniinfer.providers import REGISTRY

    entries = yield from provider_mapping(ctx, model)
    serving = [
        entry.provider
        for entry in entries
        if task in getattr(REGISTRY.get(entry.provider), "tasks", ()) and entry.task in (None, task)
    ]
    if serving:
        return choose(serving, ctx.excluded) if ctx.fallback else serving[0]
    raise ValueError(
        f"No provider serves model {model!r} for task {task!r}"
        + (f" (mapped providers: {[e.provider for e in entries]})." if entries else ": no provider mapping found.")
    )


def _mapping_entry(ctx: ClientContext, provider: str, task: str, model: str) -> Step:
    entries = yield from provider_mapping(ctx, model)
    entry = next((e for e in entries if e.provider == provider), None)
    if entry is None:
        raise ValueError(f"Model {model} is not supported by provider {provider}.")
    if entry.task is not None and entry.task != task:
        raise ValueError(
            f"Model {model} is not supported for task {task} and provider {provider}. Supported task: {entry.task}."
        )
    if entry.status == "staging":
        warnings.warn(
            f"Model {model} is in staging mode for provider {provider}. Meant for test purposes only.",
            UserWarning,
            stacklevel=2,
        )
    elif entry.status == "error":
        warnings.warn(f"Model {model} is in error state for provider {provider}.", UserWarning, stacklevel=2)
    return entry
