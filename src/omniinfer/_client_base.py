"""What both clients share besides their task methods: construction, settings, the OpenAI-style
`client.chat.completions.create` alias and the repr. The task methods live in client.py and are
generated into async_client.py by scripts/gen_async_client.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omniinfer._core.context import ClientContext, make_context
from omniinfer._core.records import Timeout


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
        max_retries: int = 2,
        fallback: bool = False,
        max_connections: int = 256,
    ) -> None:
        self._ctx: ClientContext = make_context(
            model, provider, token, timeout, headers, cookies, bill_to, base_url, api_key, max_retries, fallback
        )
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
    def headers(self) -> dict[str, str]:
        return self._ctx.headers

    @property
    def cookies(self) -> dict[str, str] | None:
        return self._ctx.cookies

    @property
    def timeout(self) -> Timeout:
        return self._ctx.timeout

    @property
    def chat(self) -> _Chat:
        """OpenAI-style alias: `client.chat.completions.create(...)` is `client.chat_completion(...)`."""
        return _Chat(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}(model={self.model!r}, provider={self.provider!r})>"
