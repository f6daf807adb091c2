"""A client's settings, validated once at construction and shared by sync and async clients."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from omniinfer._core.headers import check_headers
from omniinfer._core.records import Timeout
from omniinfer._core.retry import RetryPolicy
from omniinfer._core.tokens import implicit_token
from omniinfer._core.usage import UsageTotal
from omniinfer._version import __version__

USER_AGENT = f"omniinfer/{__version__}"


def is_url(model: str | None) -> bool:
    return model is not None and model.startswith(("http://", "https://"))


class ClientContext:
    """A client's validated settings. The token stays out of the repr."""

    __slots__ = (
        "_stored",
        "base_headers",
        "cookies",
        "excluded",
        "explicit_token",
        "fallback",
        "given_timeout",
        "headers",
        "model",
        "provider",
        "retry",
        "timeout",
        "usage",
    )

    def __init__(
        self,
        model: str | None,
        provider: str | list[str] | None,
        explicit_token: str | None,
        headers: dict[str, str],
        cookies: dict[str, str] | None,
        timeout: Timeout,
        retry: RetryPolicy,
        fallback: bool = False,
        excluded: tuple[str, ...] = (),
        given_timeout: float | Timeout | None = None,
        usage: UsageTotal | None = None,
    ) -> None:
        self.model = model
        self.provider = provider
        self.explicit_token = explicit_token
        self.headers = headers
        self.cookies = cookies
        self.timeout = timeout
        self.retry = retry
        self.fallback = fallback  # try the next provider when one fails (see _core/fallback.py)
        self.excluded = excluded  # providers that already failed during the current call
        self.given_timeout = given_timeout  # as the caller wrote it (`client.timeout`)
        self._stored: tuple[str | None] | None = None
        self.usage = usage if usage is not None else UsageTotal()  # the client's running token total
        # routing's merge of headers and cookies, with the values it was made from
        self.base_headers: tuple[dict[str, str], dict[str, str] | None, dict[str, str]] | None = None

    def excluding(self, providers: tuple[str, ...]) -> ClientContext:
        """This context for one fallback attempt: the same settings, some providers ruled out."""
        if not providers:
            return self
        clone = ClientContext(
            self.model,
            self.provider,
            self.explicit_token,
            self.headers,
            self.cookies,
            self.timeout,
            self.retry,
            self.fallback,
            providers,
            self.given_timeout,
            self.usage,
        )
        clone._stored = self._stored
        clone.base_headers = self.base_headers
        return clone

    def api_key(self) -> str | None:
        """The token to send: the one given to the client, else the stored one. The stored token is
        looked up once per client (environment, then the token file): reading it on every call
        cost more than the rest of a call."""
        if self.explicit_token is not None:
            return self.explicit_token
        stored = self._stored
        if stored is None:
            stored = self._stored = (implicit_token(),)
        return stored[0]

    def __repr__(self) -> str:
        return f"ClientContext(model={self.model!r}, provider={self.provider!r})"

    def __getstate__(self) -> tuple[None, dict[str, Any]]:
        # The token found on this machine (environment, token file) is not carried along: the
        # unpickled client looks it up where it runs. A token given to the client is its setting.
        state = {name: getattr(self, name) for name in self.__slots__}
        state["_stored"] = None
        return None, state


def make_context(
    model: str | None,
    provider: str | list[str] | None,
    token: str | bool | None,
    timeout: float | Timeout | None,
    headers: Mapping[str, str] | None,
    cookies: Mapping[str, str] | None,
    bill_to: str | None,
    base_url: str | None,
    api_key: str | None,
    max_retries: int | None = None,
    fallback: bool = False,
) -> ClientContext:
    """Apply the reference client's argument rules: aliases, conflicts, billing header.

    `headers` stay as given (plus `X-HF-Bill-To`), as the reference's `client.headers`: the
    user-agent is added per request. `max_retries=None` means 2 retries that never resend a POST
    once it may have been processed (a timeout after it was sent); an explicit `max_retries=` or
    `Timeout(...)` opts in to that resend too."""
    if model is not None and base_url is not None:
        raise ValueError(
            "Received both `model` and `base_url` arguments. Please provide only one of them: "
            "`base_url` is an "
            "alias for `model` to make the API compatible with OpenAI's client."
        )
    if token is not None and api_key is not None:
        raise ValueError(
            "Received both `token` and `api_key` arguments. Please provide only one of them: `api_key` is an "
            "alias for `token` to make the API compatible with OpenAI's client."
        )
    model = model if model is not None else base_url
    token = token if token is not None else api_key
    if token is False:
        raise ValueError("`token=False` is not supported: pass `token=None` to use no explicit token.")
    if token is True:
        warnings.warn(
            "`token=True` is deprecated: the locally stored token is used by default.",
            DeprecationWarning,
            stacklevel=3,
        )
        token = None
    if model is not None and not isinstance(model, str):
        raise TypeError(f"`model` must be a model id or a URL (str), got {type(model).__name__}")
    if token is not None and not isinstance(token, str):
        raise TypeError(f"`token`/`api_key` must be a str, got {type(token).__name__}")
    if provider is not None and not isinstance(provider, (str, list)):
        raise TypeError(f"`provider` must be a provider name (str) or a list of them, got {type(provider).__name__}")
    if isinstance(provider, list) and (not provider or not all(isinstance(p, str) for p in provider)):
        raise ValueError(f"`provider` as a list must name at least one provider, got {provider!r}")
    if headers:
        check_headers(headers)
    merged = dict(headers or {})
    if bill_to is not None:
        if not isinstance(bill_to, str) or not bill_to:
            raise ValueError("`bill_to` must be the name of an organization (a non-empty str)")
        existing = next((v for k, v in merged.items() if k.lower() == "x-hf-bill-to"), None)
        if existing is not None and existing != bill_to:
            warnings.warn(
                f"Overriding the existing X-HF-Bill-To header ({existing!r}) with bill_to={bill_to!r}.",
                UserWarning,
                stacklevel=3,
            )
        merged = {k: v for k, v in merged.items() if k.lower() != "x-hf-bill-to"}
        merged["X-HF-Bill-To"] = bill_to
        if token is not None and not token.startswith("hf_"):
            warnings.warn(
                "You've provided an external provider's API key, so requests will be billed directly by the "
                "provider. The `bill_to` parameter is only applicable for Hugging Face billing and will be "
                "ignored.",
                UserWarning,
                stacklevel=3,
            )
    return ClientContext(
        model=model,
        provider=provider,
        explicit_token=token,
        headers=merged,
        cookies=dict(cookies) if cookies else None,
        timeout=Timeout.of(timeout),
        retry=RetryPolicy(
            max_retries=2 if max_retries is None else max_retries,
            resend_after_timeout=max_retries is not None or isinstance(timeout, Timeout),
        ),
        # A list of providers always means "in this order, falling back"; "auto" falls back on request.
        fallback=bool(fallback) or isinstance(provider, list),
        given_timeout=timeout,
    )
