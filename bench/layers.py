#!/usr/bin/env python3
"""Where an async chat call's CPU goes: the same call with the client's layers added one at a time.

    .venv/bin/python bench/layers.py [--calls 20000] [--in-flight 64] [--repeat 3] [--no-gc] [--uvloop]

Against the nginx stub of bench/stub.py (started if needed), `--in-flight` calls at a time through an
`asyncio.Semaphore`, as a user's loop would; CPU of this process per call (`time.process_time`),
median of `--repeat` runs, each layer measured in its own process so that none warms another's caches:

    bare      no omniinfer at all: a bare asyncio protocol per connection writes a fixed request head
              and the JSON body, finds the answer's end by its Content-Length and decodes its JSON (the
              floor: the event loop, the system calls and orjson)
    wire      the transport alone: request bytes out, head and body in, JSON decoded, typed output built
    + meta    and the call's ResponseMeta (timings, request id, usage, `last_response_meta`)
    + flow    and the chat task's flow (routing, payload, body checks, usage) in place of the hand-made request
    + driver  and the driver (deadline, retry and fallback policies, redirects, typed errors)
    client    `AsyncInferenceClient.chat_completion`, what users call

The differences between rows are what each layer costs in place, with many calls in flight (far more
than the same code costs in a loop of one call at a time: its objects and code are cold there).
`--no-gc` runs with the garbage collector off: a loop that keeps every result (as `asyncio.gather`
does) pays for its collections, a bulk job that writes its results and drops them does not.
Internal interfaces are used on purpose: this measures them.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LAYERS = ("bare", "wire", "meta", "flow", "driver", "client")


class BareConnection(asyncio.Protocol):
    """One keep-alive connection, one request at a time; no checks beyond what finds the answer's end."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.answer: asyncio.Future[bytes] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        start = self.buffer.lower().find(b"content-length:", 0, end) + len(b"content-length:")
        size = int(self.buffer[start : self.buffer.find(b"\r\n", start)])
        if len(self.buffer) >= end + 4 + size and self.answer is not None:
            body, self.buffer = self.buffer[end + 4 : end + 4 + size], self.buffer[end + 4 + size :]
            self.answer.set_result(body)

    async def ask(self, head: bytes, body: bytes) -> bytes:
        assert self.transport is not None
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(head % len(body) + body)
        return await self.answer


async def measure(layer: str, calls: int, in_flight: int, url: str) -> float:
    import orjson

    from omniinfer import AsyncInferenceClient
    from omniinfer._core.meta import ResponseMeta, attach
    from omniinfer._core.records import Request, Response
    from omniinfer._core.stepping import after_answer
    from omniinfer._http import async_driver
    from omniinfer.tasks.chat import chat_completion
    from omniinfer.types import ChatCompletionOutput

    client = AsyncInferenceClient(base_url=f"{url}/v1")
    transport, ctx = client._transport, client._ctx
    chat_url = f"{url}/v1/chat/completions"
    headers = {"content-type": "application/json", "user-agent": "bench"}
    gate = asyncio.Semaphore(in_flight)
    host, port = url.removeprefix("http://").split(":")
    bare_head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
        "content-length: %d\r\n\r\n"
    ).encode()
    bare_idle: list[BareConnection] = []
    if layer == "bare":
        loop = asyncio.get_running_loop()
        for _ in range(in_flight):
            bare_idle.append((await loop.create_connection(BareConnection, host, int(port)))[1])

    async def bare(messages: list[dict[str, str]]) -> Any:
        body = orjson.dumps({"model": "dummy", "messages": messages, "max_tokens": 16, "stream": False})
        connection = bare_idle.pop()
        try:
            return orjson.loads(await connection.ask(bare_head, body))
        finally:
            bare_idle.append(connection)

    async def wire(messages: list[dict[str, str]], meta: ResponseMeta | None) -> Any:
        body = orjson.dumps({"model": "dummy", "messages": messages, "max_tokens": 16, "stream": False})
        request = Request("POST", chat_url, headers, body, False, None, None, None)
        if meta is not None:
            meta.sent(request)
        answer = await transport.send(request, None, None, None)
        if meta is not None:
            meta.received(answer.head.status, answer.head.headers, answer.url)
        result = ChatCompletionOutput.from_dict(orjson.loads(await answer.read()))
        return result if meta is None else attach(result, meta)

    async def flow(messages: list[dict[str, str]]) -> Any:
        meta = ResponseMeta(ctx, "chat_completion", {"messages": messages})
        steps = chat_completion(ctx, messages, max_tokens=16)
        request = next(steps)
        meta.sent(request)
        answer = await transport.send(request, None, None, None)
        head = answer.head
        meta.received(head.status, head.headers, answer.url)
        response = Response(head.status, head.headers, await answer.read(), answer.url)
        try:
            after_answer(steps, request, response, False, 0)
        except StopIteration as stop:
            meta.usage = response.usage
            return attach(stop.value, meta)
        raise RuntimeError("the chat flow asked for a second request")

    async def one(i: int) -> None:
        messages = [{"role": "user", "content": f"row {i}"}]
        async with gate:
            if layer == "bare":
                await bare(messages)
            elif layer == "wire":
                await wire(messages, None)
            elif layer == "meta":
                await wire(messages, ResponseMeta(ctx, "chat_completion", {"messages": messages}))
            elif layer == "flow":
                await flow(messages)
            elif layer == "driver":
                await async_driver.run(
                    lambda c: chat_completion(c, messages, max_tokens=16),
                    transport,
                    ctx,
                    "chat_completion",
                    {"messages": messages},
                )
            else:
                await client.chat_completion(messages, max_tokens=16)

    await asyncio.gather(*(one(i) for i in range(min(calls, 1000))))  # connections opened, code warm
    started = time.process_time()
    await asyncio.gather(*(one(i) for i in range(calls)))
    spent = time.process_time() - started
    await client.close()
    for connection in bare_idle:
        assert connection.transport is not None
        connection.transport.close()
    return spent / calls * 1e6


def worker(args: argparse.Namespace) -> None:
    if args.no_gc:
        gc.disable()
    if args.uvloop:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    print(asyncio.run(measure(args.worker, args.calls, args.in_flight, args.url)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-gc", action="store_true", help="garbage collector off")
    parser.add_argument("--uvloop", action="store_true", help="uvloop's event loop")
    parser.add_argument("--worker", choices=LAYERS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    sys.path.insert(0, str(HERE))
    import stub

    stub.start()
    url = f"http://127.0.0.1:{stub.PORT}"
    flags = [*(["--no-gc"] if args.no_gc else []), *(["--uvloop"] if args.uvloop else [])]
    runs: dict[str, list[float]] = {layer: [] for layer in LAYERS}
    for _ in range(args.repeat):  # interleaved, so that a busy minute spreads over every layer
        for layer in LAYERS:
            command = [sys.executable, __file__, "--worker", layer, "--url", url, "--calls", str(args.calls)]
            command += ["--in-flight", str(args.in_flight), *flags]
            if sys.platform == "linux":
                command = ["taskset", "-c", "0", *command]  # the stub's nginx is on CPU 1
            runs[layer].append(float(subprocess.run(command, check=True, capture_output=True, text=True).stdout))
    previous = None
    print(f"| layer | CPU µs/call (median of {args.repeat}) | runs | added by the layer |")
    print("|---|---|---|---|")
    for layer in LAYERS:
        median = statistics.median(runs[layer])
        added = "" if previous is None else f"{median - previous:+.0f}"
        shown = " / ".join(f"{value:.0f}" for value in runs[layer])
        print(f"| {layer} | {median:.0f} | {shown} | {added} |")
        previous = median


if __name__ == "__main__":
    main()
