"""Runs a flow with asyncio I/O; polling waits never block the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from omniinfer._core import taps
from omniinfer._core.context import ClientContext
from omniinfer._core.meta import AsyncStream, ResponseMeta, attach
from omniinfer._core.records import EventStream, Request, Response, Sleep, Timeout
from omniinfer._core.stepping import Flow, after_answer, deadline_of, guarded, sleep_for
from omniinfer._core.timeouts import restated
from omniinfer._http.async_transport import AsyncResponse, AsyncTransport
from omniinfer.errors import InferenceError, InferenceTimeoutError


async def run(
    factory: Callable[[ClientContext], Flow],
    transport: AsyncTransport,
    ctx: ClientContext,
    task: str | None = None,
    arguments: dict[str, Any] | None = None,
) -> Any:
    """Run the task flow `factory(ctx)` to its result (or its stream), with retries and fallback.
    `task` and its `arguments` name the call for its OpenTelemetry span."""
    timeout = ctx.timeout
    deadline = deadline_of(timeout)
    flow = guarded(factory, ctx, deadline)
    hops = 0
    meta = ResponseMeta(ctx, task, arguments)
    response = None
    try:
        item = next(flow)
        while True:
            if isinstance(item, Sleep):
                await asyncio.sleep(sleep_for(item, deadline))
                item = flow.send(None)
                continue
            request: Request = item
            meta.sent(request)
            try:
                tap = taps.ACTIVE  # a cassette (omniinfer.testing) records or replays what is sent
                if tap is None:
                    answer = await transport.send(request, timeout.connect, timeout.read, deadline)
                else:
                    answer = await tap.send_async(transport, request, timeout.connect, timeout.read, deadline)
                head = answer.head
                meta.received(head.status, head.headers, answer.url)
                streaming = request.stream and 200 <= head.status < 300
                body = b"" if streaming else await answer.read()
            except InferenceError as error:  # the flow (and its retry policy) decides what follows
                if isinstance(error, InferenceTimeoutError):
                    error = restated(error, timeout, deadline)
                item = flow.throw(error)
                continue
            response = Response(head.status, head.headers, body, answer.url)
            item, hops = after_answer(flow, request, response, streaming, hops)
    except StopIteration as stop:
        result = stop.value
        if isinstance(result, EventStream):
            return AsyncStream(_events(answer, result, timeout, deadline, meta), meta)
        if response is not None:
            meta.usage = response.usage
        return attach(result, meta)
    except BaseException as error:
        meta.failed(error)
        raise


async def _events(
    answer: AsyncResponse, events: EventStream[Any], timeout: Timeout, deadline: float | None, meta: ResponseMeta
) -> AsyncIterator[Any]:
    first = True
    last: list[Any] = []  # the last items handed out: the final chunk tells the answer's id and finish reasons
    try:
        async for piece in answer.iter_bytes(first_wait=timeout.first_token, keep_deadline=timeout.stream_total):
            first = False
            items = events.consume(piece)
            if items:
                meta.first_token()
                last = items
                for item in items:
                    yield item
            if events.error is not None:
                raise events.error
        final = events.finish(clean=answer.head.framed)
        for item in final:
            yield item
        meta.usage, meta.last_event = events.usage, (final or last or [None])[-1]
        if events.error is not None:
            raise events.error
        meta.finished()
    except InferenceTimeoutError as error:
        stated = restated(error, timeout, deadline if first or timeout.stream_total else None, first)
        meta.failed(stated)
        raise stated from None
    except BaseException as error:
        meta.failed(error)
        raise
    finally:
        answer.close()
