"""Runs ONE scenario for ONE client inside that client's venv and prints one JSON line.

    <venv>/bin/python bench/worker.py --client omniinfer --scenario seq [--port 18765]
    <venv>/bin/python bench/worker.py --versions

Figures are the client process's own CPU time (user + system, resource.getrusage) over the timed phase,
divided by the calls or chunks it completed. Every answer is checked (the message text; the full streamed
text and the chunk count), so a client that drops or repeats a chunk fails instead of looking fast.
Every loop is bounded by a count and a time budget. New TCP connections and requests during the timed
phase come from nginx stub_status.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import platform
import resource
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import Any

# run as a script: this file's folder is on sys.path
from stub import CHAT_CONTENT, CHAT_MODEL, PORT, STREAM_CHUNKS, counters, expected_stream_text

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
MAX_TOKENS = 64
API_KEY = "sk-bench-not-a-secret"


@dataclass(frozen=True)
class Scenario:
    calls: int  # timed calls (streams for the stream scenarios), at most
    warmup: int  # untimed calls first: imports, lazy set-up, the connection pool
    budget_s: float  # the timed phase stops here even if `calls` are not done
    concurrency: int = 1


SCENARIOS = {
    "seq": Scenario(calls=2000, warmup=100, budget_s=20),
    "async256": Scenario(calls=5000, warmup=512, budget_s=30, concurrency=256),
    "stream": Scenario(calls=8, warmup=1, budget_s=20),  # each stream is STREAM_CHUNKS chunks
    "astream": Scenario(calls=8, warmup=1, budget_s=20),
}


# --------------------------------------------------------------------------- the three clients
@dataclass
class Ops:
    chat: Callable[[], str]
    stream: Callable[[], Iterator[str]]
    achat: Callable[[], Awaitable[str]]
    astream: Callable[[], AsyncIterator[str]]
    close: Callable[[], None]
    aclose: Callable[[], Awaitable[None]]


def hf_style(module: str, chat_url: str, stream_url: str) -> Ops:
    """omniinfer promises huggingface_hub's InferenceClient API, so both go through the same calls."""
    mod = importlib.import_module(module)
    client, sclient = mod.InferenceClient(base_url=chat_url), mod.InferenceClient(base_url=stream_url)
    aclient, asclient = (
        mod.AsyncInferenceClient(base_url=chat_url),
        mod.AsyncInferenceClient(base_url=stream_url),
    )

    def stream() -> Iterator[str]:
        for chunk in sclient.chat_completion(MESSAGES, max_tokens=MAX_TOKENS, stream=True):
            if chunk.choices:
                yield chunk.choices[0].delta.content or ""

    async def achat() -> str:
        return (await aclient.chat_completion(MESSAGES, max_tokens=MAX_TOKENS)).choices[0].message.content

    async def astream() -> AsyncIterator[str]:
        async for chunk in await asclient.chat_completion(MESSAGES, max_tokens=MAX_TOKENS, stream=True):
            if chunk.choices:
                yield chunk.choices[0].delta.content or ""

    def close() -> None:
        for c in (client, sclient):
            getattr(c, "close", lambda: None)()

    async def aclose() -> None:
        for c in (aclient, asclient):
            closer = getattr(c, "aclose", None) or getattr(c, "close", None)
            if closer is not None and asyncio.iscoroutine(result := closer()):
                await result

    return Ops(
        chat=lambda: client.chat_completion(MESSAGES, max_tokens=MAX_TOKENS).choices[0].message.content,
        stream=stream,
        achat=achat,
        astream=astream,
        close=close,
        aclose=aclose,
    )


def openai_sdk(chat_url: str, stream_url: str) -> Ops:
    import openai

    client, sclient = (
        openai.OpenAI(base_url=chat_url, api_key=API_KEY),
        openai.OpenAI(base_url=stream_url, api_key=API_KEY),
    )
    aclient = openai.AsyncOpenAI(base_url=chat_url, api_key=API_KEY)
    asclient = openai.AsyncOpenAI(base_url=stream_url, api_key=API_KEY)

    def create(c: Any, **kw: Any) -> Any:
        return c.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS, **kw)

    def stream() -> Iterator[str]:
        for chunk in create(sclient, stream=True):
            if chunk.choices:
                yield chunk.choices[0].delta.content or ""

    async def achat() -> str:
        return (await create(aclient)).choices[0].message.content

    async def astream() -> AsyncIterator[str]:
        async for chunk in await create(asclient, stream=True):
            if chunk.choices:
                yield chunk.choices[0].delta.content or ""

    def close() -> None:
        client.close()
        sclient.close()

    async def aclose() -> None:
        await aclient.close()
        await asclient.close()

    return Ops(
        chat=lambda: create(client).choices[0].message.content,
        stream=stream,
        achat=achat,
        astream=astream,
        close=close,
        aclose=aclose,
    )


# name -> (make, the import line timed by the import figure, distributions whose versions are reported)
CLIENTS: dict[str, tuple[Callable[[str, str], Ops], str, tuple[str, ...]]] = {
    "omniinfer": (
        lambda c, s: hf_style("omniinfer", c, s),
        "from omniinfer import InferenceClient, AsyncInferenceClient",
        ("omniinfer", "orjson"),
    ),
    "huggingface_hub": (
        lambda c, s: hf_style("huggingface_hub", c, s),
        "from huggingface_hub import InferenceClient, AsyncInferenceClient",
        ("huggingface_hub", "httpx2", "httpx", "aiohttp"),
    ),
    "openai": (openai_sdk, "from openai import OpenAI, AsyncOpenAI", ("openai", "httpx2", "httpx", "pydantic")),
}


# --------------------------------------------------------------------------- measuring
def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Wire:
    """New TCP connections and requests the stub saw during the timed phase (its own reads excluded)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.start = counters(port)

    def result(self) -> dict[str, int]:
        end = counters(self.port)
        if self.start is None or end is None:
            raise RuntimeError("stub_status did not answer")
        return {"conns": end[0] - self.start[0] - 1, "requests": end[1] - self.start[1] - 1}


def check(got: Any, expected: Any, what: str) -> None:
    if got != expected:
        raise AssertionError(f"{what}: expected {str(expected)[:60]!r}..., got {str(got)[:60]!r}...")


def run_seq(sc: Scenario, ops: Ops, port: int) -> dict[str, Any]:
    try:
        for _ in range(sc.warmup):
            check(ops.chat(), CHAT_CONTENT, "message content")
        wire = Wire(port)
        n = 0
        cpu0, t0 = cpu_s(), time.perf_counter()
        deadline = t0 + sc.budget_s
        while n < sc.calls and time.perf_counter() < deadline:
            check(ops.chat(), CHAT_CONTENT, "message content")
            n += 1
        cpu, wall = cpu_s() - cpu0, time.perf_counter() - t0
        return {"n": n, "cpu_us": cpu / n * 1e6, "wall_us": wall / n * 1e6, **wire.result()}
    finally:
        ops.close()


async def run_async(sc: Scenario, ops: Ops, port: int) -> dict[str, Any]:
    async def batch(total: int) -> int:
        started = completed = 0
        deadline = time.perf_counter() + sc.budget_s

        async def lane() -> None:
            nonlocal started, completed
            while started < total and time.perf_counter() < deadline:
                started += 1
                check(await ops.achat(), CHAT_CONTENT, "message content")
                completed += 1

        await asyncio.gather(*(lane() for _ in range(sc.concurrency)))
        return completed

    try:
        await batch(sc.warmup)  # opens the pool: up to `concurrency` connections
        wire = Wire(port)
        cpu0, t0 = cpu_s(), time.perf_counter()
        n = await batch(sc.calls)
        cpu, wall = cpu_s() - cpu0, time.perf_counter() - t0
        return {"n": n, "cpu_us": cpu / n * 1e6, "wall_us": wall / n * 1e6, **wire.result()}
    finally:
        await ops.aclose()


def stream_result(n: int, cpu: float, wall: float, wire: Wire) -> dict[str, Any]:
    chunks = n * STREAM_CHUNKS
    return {
        "n": n,
        "chunks": chunks,
        "cpu_us_per_chunk": cpu / chunks * 1e6,
        "wall_us_per_chunk": wall / chunks * 1e6,
        **wire.result(),
    }


def check_stream(pieces: list[str], expected: str) -> None:
    check(len(pieces), STREAM_CHUNKS, "chunk count")
    check("".join(pieces), expected, "streamed text")


def run_stream(sc: Scenario, ops: Ops, port: int) -> dict[str, Any]:
    expected = expected_stream_text()
    try:
        for _ in range(sc.warmup):
            check_stream(list(ops.stream()), expected)
        wire = Wire(port)
        n = 0
        cpu0, t0 = cpu_s(), time.perf_counter()
        deadline = t0 + sc.budget_s
        while n < sc.calls and time.perf_counter() < deadline:
            pieces = list(ops.stream())  # the typed chunks are built and read inside ops.stream()
            n += 1
            check_stream(pieces, expected)  # costs every client the same, ~0.1 µs a chunk
        return stream_result(n, cpu_s() - cpu0, time.perf_counter() - t0, wire)
    finally:
        ops.close()


async def run_astream(sc: Scenario, ops: Ops, port: int) -> dict[str, Any]:
    expected = expected_stream_text()
    try:
        for _ in range(sc.warmup):
            check_stream([p async for p in ops.astream()], expected)
        wire = Wire(port)
        n = 0
        cpu0, t0 = cpu_s(), time.perf_counter()
        deadline = t0 + sc.budget_s
        while n < sc.calls and time.perf_counter() < deadline:
            pieces = [p async for p in ops.astream()]
            n += 1
            check_stream(pieces, expected)
        return stream_result(n, cpu_s() - cpu0, time.perf_counter() - t0, wire)
    finally:
        await ops.aclose()


def run(client: str, scenario: str, port: int) -> dict[str, Any]:
    root = f"http://127.0.0.1:{port}"
    ops = CLIENTS[client][0](f"{root}/v1", f"{root}/sse/{STREAM_CHUNKS}/v1")
    sc = SCENARIOS[scenario]
    if scenario == "seq":
        return run_seq(sc, ops, port)
    if scenario == "async256":
        return asyncio.run(run_async(sc, ops, port))
    if scenario == "stream":
        return run_stream(sc, ops, port)
    if scenario == "astream":
        return asyncio.run(run_astream(sc, ops, port))
    raise ValueError(scenario)


def versions(client: str) -> dict[str, str]:
    found = {"python": platform.python_version()}
    for dist in CLIENTS[client][2]:
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--client", choices=sorted(CLIENTS), required=True)
    ap.add_argument("--scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--port", type=int, default=PORT)
    ap.add_argument("--versions", action="store_true", help="print the installed versions and exit")
    a = ap.parse_args()
    if a.versions:
        print(json.dumps(versions(a.client)))
        return
    if a.scenario is None:
        ap.error("--scenario is required")
    try:
        result: dict[str, Any] = {"status": "ok", **run(a.client, a.scenario, a.port)}
    except Exception as e:  # a failing client becomes an ERR cell; the traceback goes to stderr
        traceback.print_exc()
        result = {"status": "error", "why": f"{type(e).__name__}: {e}"[:300]}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
