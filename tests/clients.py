"""Drive either client with one test body: `Runner("sync"|"async", **client_kwargs)(method, ...)`.

Streams are read to their end (into a list) inside the call, so the same assertions hold for both.
The async client runs on one event loop per runner, so its pooled connections live across calls.
"""

from __future__ import annotations

import asyncio
from typing import Any

from omniinfer import AsyncInferenceClient, InferenceClient
from omniinfer._core.meta import AsyncStream, ResponseMeta, Stream, last_response_meta


class Runner:
    def __init__(self, kind: str, *args: Any, **kwargs: Any) -> None:
        self.kind = kind
        self.loop = asyncio.new_event_loop() if kind == "async" else None
        self.last_meta: ResponseMeta | None = None
        self.client: Any = (AsyncInferenceClient if kind == "async" else InferenceClient)(*args, **kwargs)

    def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.loop is None:
            result = getattr(self.client, method)(*args, **kwargs)
            self.last_meta = last_response_meta()
            return list(result) if isinstance(result, Stream) else result
        return self.loop.run_until_complete(self._acall(method, *args, **kwargs))

    async def _acall(self, method: str, *args: Any, **kwargs: Any) -> Any:
        result = await getattr(self.client, method)(*args, **kwargs)
        # Read in the task that made the call: each task has its own "last call".
        self.last_meta = last_response_meta()
        if isinstance(result, AsyncStream):
            return [item async for item in result]
        return result

    def close(self) -> None:
        if self.loop is None:
            self.client.close()
        else:
            self.loop.run_until_complete(self.client.close())
            self.loop.close()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
