"""What both clients share besides their task methods: construction, settings, the OpenAI-style
`client.chat.completions.create` alias and the repr. The task methods live in client.py and are
generated into async_client.py by scripts/gen_async_client.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from omniinfer._core.context import ClientContext, make_context
from omniinfer._core.records import Timeout
from omniinfer._core.usage import UsageTotal

if TYPE_CHECKING:
    from omniinfer._http.proxy import ProxySettings


# Connections one client keeps open at once (the async client: per event loop); more calls in flight
# wait for a place. Bulk jobs' adaptive concurrency stops here too.
DEFAULT_MAX_CONNECTIONS = 256


class _Completions:
    __slots__ = ("_client",)

    def __init__(self, client: Any) -> None:
        self._client = client

    def create(self, *args: Any, **kwargs: Any) -> Any:
        """Same as `chat_completion` (OpenAI-compatible spelling)."""
        return self._client.chat_completion(*args, **kwargs)


class _Chat:
    __slots__ = ("completions",)

    def __init__(self, client: Any) -> None:
        self.completions = _Completions(client)


class ClientBase:
    """Settings shared by `InferenceClient` and `AsyncInferenceClient`."""

    def __init__(
        self,
        model: str | None = None,
        *,
        provider: str | list[str] | None = None,
        token: str | None = None,
        timeout: float | Timeout | None = None,
        headers: Mapping[str, str] | None = None,
        cookies: Mapping[str, str] | None = None,
        bill_to: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        max_retries: int | None = None,
        fallback: bool = False,
        proxies: str | Mapping[str, str] | None = None,
        trust_env: bool = True,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        self._ctx: ClientContext = make_context(
            model, provider, token, timeout, headers, cookies, bill_to, base_url, api_key, max_retries, fallback
        )
        from omniinfer._http.proxy import proxy_settings  # with the transport, not with `import omniinfer`

        self._proxies: ProxySettings = proxy_settings(proxies, trust_env)
        if isinstance(max_connections, bool) or not isinstance(max_connections, int) or max_connections < 1:
            raise ValueError(f"max_connections must be a whole number >= 1, got {max_connections!r}")
        self._max_connections = max_connections
        self._transport = self._new_transport()

    def _new_transport(self) -> Any:
        raise NotImplementedError

    @property
    def model(self) -> str | None:
        return self._ctx.model

    @property
    def provider(self) -> str | list[str] | None:
        return self._ctx.provider

    @property
    def token(self) -> str | None:
        """The token (or `api_key`) given to the client; None when it uses the stored one."""
        return self._ctx.explicit_token

    @property
    def headers(self) -> dict[str, str]:
        """The headers given to the client (and `X-HF-Bill-To`); changing them changes later calls."""
        return self._ctx.headers

    @property
    def cookies(self) -> dict[str, str] | None:
        return self._ctx.cookies

    @property
    def timeout(self) -> float | Timeout | None:
        """The timeout as given (`30`, a `Timeout`, or None)."""
        return self._ctx.given_timeout

    @property
    def proxies(self) -> str | dict[str, str] | None:
        """The proxies as given (None: the environment's, unless `trust_env=False`)."""
        return self._proxies.given

    @property
    def trust_env(self) -> bool:
        return self._proxies.trust_env

    @property
    def usage(self) -> UsageTotal:
        """Tokens used by this client's finished calls so far (`input_tokens`, `output_tokens`,
        `total_tokens`, `calls`: how many calls reported usage); `client.usage.reset()` starts over."""
        return self._ctx.usage

    @property
    def chat(self) -> _Chat:
        """OpenAI-style alias: `client.chat.completions.create(...)` is `client.chat_completion(...)`."""
        return _Chat(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}(model={self.model!r}, provider={self.provider!r})>"

    def __getstate__(self) -> dict[str, Any]:
        """A client pickles as its settings: the connection pool stays behind (sockets do not
        cross processes) and the unpickled client opens its own connections on its first call."""
        state = dict(self.__dict__)
        state.pop("_transport", None)
        state.pop("_run", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._transport = self._new_transport()  # an empty pool: nothing connects before a call
