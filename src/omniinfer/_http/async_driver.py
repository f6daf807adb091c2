"""Runs a flow with asyncio I/O; polling waits never block the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from omniinfer._core.records import EventStream, Request, Response, Sleep, Timeout
from omniinfer._core.stepping import Flow, advance, deadline_of, redirect_target, sleep_for
from omniinfer._http.async_transport import AsyncResponse, AsyncTransport


async def run(flow: Flow, transport: AsyncTransport, timeout: Timeout) -> Any:
    deadline = deadline_of(timeout)
    hops = 0
    try:
        item = next(flow)
        while True:
            if isinstance(item, Sleep):
                await asyncio.sleep(sleep_for(item, deadline))
                item = flow.send(None)
                continue
            request: Request = item
            answer = await transport.send(request, timeout.connect, timeout.read, deadline)
            head = answer.head
            if request.stream and 200 <= head.status < 300:
                item = flow.send(Response(head.status, head.headers, b"", answer.url))
                continue  # a streaming flow returns its EventStream now
            response = Response(head.status, head.headers, await answer.read(), answer.url)
            follow = redirect_target(request, response, hops)
            if follow is not None:
                item, hops = follow, hops + 1
                continue
            hops = 0
            item = advance(flow, request, response)
    except StopIteration as stop:
        result = stop.value
        if isinstance(result, EventStream):
            return _events(answer, result, timeout)
        return result


async def _events(answer: AsyncResponse, events: EventStream[Any], timeout: Timeout) -> AsyncIterator[Any]:
    try:
        async for piece in answer.iter_bytes(first_wait=timeout.first_token):
            for item in events.consume(piece):
                yield item
            if events.error is not None:
                raise events.error
        for item in events.finish():
            yield item
        if events.error is not None:
            raise events.error
    finally:
        answer.close()
