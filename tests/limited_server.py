"""A rate-limited, fault-injecting OpenAI-style server on loopback, for bulk jobs (tests and bench/bulk.py).

It enforces a requests-per-second limit (fixed 1-second windows, or a bucket refilled continuously)
and a tokens-per-window limit (fixed windows of `token_window_s`, 60 s for tokens-per-minute),
answering over-limit requests with 429 +
Retry-After; every answer carries x-ratelimit-* headers in the shape of one provider family; a share
of the requests (`fault_rate`) fails with 500/503 before it is counted. It counts what it received:
requests, 429s, faults, and each prompt's successful answers (a duplicate paid answer shows there).

    POST .../chat/completions   a chat.completion; the prompt is the last message's content
    POST anything else          a text-classification answer; the prompt is "inputs"

Run alone (bench): python tests/limited_server.py --port P --rps 200 [--tpm N] [--fault-rate 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Limits:
    rps: float | None = None
    tpm: float | None = None  # tokens per token window
    token_window_s: float = 60.0
    fault_rate: float = 0.0
    delay_s: float = 0.0
    headers: str = "openai"  # openai | together | cerebras | fireworks (no reset headers) | none
    request_window_s: float = 1.0  # `rps` requests per window this long
    # "window": fixed windows of `request_window_s`; "bucket": a token bucket holding `rps` requests,
    # refilled at `rps` per `request_window_s` (a limit that comes back continuously)
    request_limiter: str = "window"
    retry_after: str = "both"  # seconds | ms | both | none
    seed: int = 7
    # Tokens a chat answer generates when the request sets no max_tokens (charged as it is answered, as
    # servers that count usage do); None: the request is charged 16 up front and 8 are generated.
    unbounded_completion: int | None = None
    # Prompts whose sender is killed (SIGKILL) when they arrive, before any answer: what the OOM killer
    # or a native crash does to a worker in the middle of a batch.
    kill_senders: tuple[str, ...] = ()


@dataclass
class Counts:
    requests: int = 0
    accepted: int = 0
    rate_limited: int = 0
    faults: int = 0
    tokens: int = 0
    killed: int = 0  # senders killed (see Limits.kill_senders)
    answered: Counter[str] = field(default_factory=Counter)
    accepted_at: list[float] = field(default_factory=list)  # monotonic times of accepted requests

    def duplicates(self) -> dict[str, int]:
        return {prompt: n for prompt, n in self.answered.items() if n > 1}


KILL = -1  # _answer's status for a prompt whose sender is to be killed


def _pid_of_peer(peer_port: int, server_port: int) -> int | None:
    """The process holding the loopback client socket bound to `peer_port` (Linux: its inode in
    /proc/net/tcp, then the process with that socket among its open files)."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                local, remote = fields[1], fields[2]
                if int(local.rsplit(":", 1)[1], 16) == peer_port and int(remote.rsplit(":", 1)[1], 16) == server_port:
                    inode = fields[9]
    if inode is None:
        return None
    wanted = f"socket:[{inode}]"
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == wanted:
                        return int(pid)
    return None


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.3f}s"


class LimitedServer:
    def __init__(self, limits: Limits | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.limits = limits or Limits()
        self.counts = Counts()
        self.host, self.port = host, port
        self._random = random.Random(self.limits.seed)
        self._window = (0, 0)  # (second, requests in it)
        self._bucket = (time.monotonic(), float(self.limits.rps or 0))  # (when, requests it holds)
        self._token_window = (0, 0.0)
        self._born = time.monotonic()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._started = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    # -- the policy --------------------------------------------------------------------------------
    def decide(self, prompt: str, charge: float) -> tuple[int, dict[str, str], dict[str, Any] | None]:
        limits, counts = self.limits, self.counts
        now = time.monotonic()
        with self._lock:
            counts.requests += 1
            if limits.fault_rate and self._random.random() < limits.fault_rate:
                counts.faults += 1
                status = self._random.choice((500, 503))
                return status, {}, {"error": {"message": "injected fault", "type": "server_error"}}
            second = math.floor(now / limits.request_window_s)  # the request window's number
            if self._window[0] != second:
                self._window = (second, 0)
            # Token windows start when the server does: a test knows how long the first one lasts.
            since_start = now - self._born
            token_slot = math.floor(since_start / limits.token_window_s)
            if self._token_window[0] != token_slot:
                self._token_window = (token_slot, 0.0)
            reset_requests = (second + 1) * limits.request_window_s - now
            reset_tokens = (token_slot + 1) * limits.token_window_s - since_start
            used, used_tokens = self._window[1], self._token_window[1]
            over_requests = limits.rps is not None and used + 1 > limits.rps
            if limits.rps is not None and limits.request_limiter == "bucket":
                refill = limits.rps / limits.request_window_s
                held = min(limits.rps, self._bucket[1] + (now - self._bucket[0]) * refill)
                self._bucket = (now, held)
                over_requests = held < 1.0
                used = int(limits.rps - held)
                reset_requests = (1.0 - held) / refill if over_requests else (limits.rps - held) / refill
            over_tokens = limits.tpm is not None and used_tokens + charge > limits.tpm
            if not (over_requests or over_tokens):
                used += 1
                used_tokens += charge
                self._window = (second, used)
                self._token_window = (token_slot, used_tokens)
                if limits.rps is not None and limits.request_limiter == "bucket":
                    self._bucket = (now, self._bucket[1] - 1.0)
            headers = self._rate_headers(used, used_tokens, reset_requests, reset_tokens)
            if over_requests or over_tokens:
                counts.rate_limited += 1
                wait = reset_requests if over_requests else reset_tokens
                if limits.retry_after in ("seconds", "both"):
                    headers["retry-after"] = str(max(1, math.ceil(wait)))
                if limits.retry_after in ("ms", "both"):
                    headers["retry-after-ms"] = str(round(wait * 1000))
                return 429, headers, {"error": {"message": "rate limit reached", "type": "rate_limit"}}
            counts.accepted += 1
            counts.tokens += int(charge)
            counts.accepted_at.append(now)
            counts.answered[prompt] += 1
            return 200, headers, None

    def _rate_headers(self, used: int, used_tokens: float, reset_r: float, reset_t: float) -> dict[str, str]:
        limits, shape = self.limits, self.limits.headers
        out: dict[str, str] = {}
        if shape == "none":
            return out
        if limits.rps is not None:
            left = str(max(0, int(limits.rps - used)))
            if shape == "openai":
                out |= {"x-ratelimit-limit-requests": str(int(limits.rps)), "x-ratelimit-remaining-requests": left}
                out["x-ratelimit-reset-requests"] = _duration(reset_r)
            elif shape == "together":
                out |= {"x-ratelimit-limit": str(int(limits.rps)), "x-ratelimit-remaining": left}
                out["x-ratelimit-reset"] = f"{reset_r:.3f}"
            elif shape == "fireworks":  # the budget, never when it comes back (recorded cassette)
                out |= {"x-ratelimit-limit-requests": str(int(limits.rps)), "x-ratelimit-remaining-requests": left}
            elif shape == "cerebras":
                out |= {"x-ratelimit-limit-requests-second": str(int(limits.rps))}
                out |= {
                    "x-ratelimit-remaining-requests-second": left,
                    "x-ratelimit-reset-requests-second": f"{reset_r:.3f}",
                }
        if limits.tpm is not None:
            left = str(max(0, int(limits.tpm - used_tokens)))
            if shape == "fireworks":
                out |= {"x-ratelimit-limit-tokens-generated": str(int(limits.tpm))}
                out |= {"x-ratelimit-remaining-tokens-generated": left}
            elif shape == "cerebras":
                out |= {
                    "x-ratelimit-remaining-tokens-minute": left,
                    "x-ratelimit-reset-tokens-minute": f"{reset_t:.3f}",
                }
            else:
                out |= {"x-ratelimit-limit-tokens": str(int(limits.tpm)), "x-ratelimit-remaining-tokens": left}
                out["x-ratelimit-reset-tokens"] = _duration(reset_t) if shape == "openai" else f"{reset_t:.3f}"
        return out

    # -- HTTP ----------------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                status, headers, payload = self._answer(path, body)
                if status == KILL:
                    peer = writer.get_extra_info("peername")
                    pid = _pid_of_peer(peer[1], self.port)
                    if pid is not None and pid != os.getpid():  # never the test itself
                        os.kill(pid, signal.SIGKILL)
                        self.counts.killed += 1
                    break
                if self.limits.delay_s and status == 200:
                    await asyncio.sleep(self.limits.delay_s)
                data = json.dumps(payload).encode()
                head_out = [f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}"]
                head_out += [f"{k}: {v}" for k, v in headers.items()]
                head_out += ["content-type: application/json", f"content-length: {len(data)}", "", ""]
                writer.write("\r\n".join(head_out).encode() + data)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def _answer(self, path: str, body: bytes) -> tuple[int, dict[str, str], Any]:
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return 400, {}, {"error": {"message": "body is not JSON"}}
        chat = path.endswith("/chat/completions")
        if chat:
            messages = request.get("messages") or [{}]
            prompt = str(messages[-1].get("content", ""))
            unbounded = request.get("max_tokens") is None and self.limits.unbounded_completion is not None
            max_tokens = self.limits.unbounded_completion if unbounded else int(request.get("max_tokens") or 16)
        else:
            prompt, max_tokens, unbounded = str(request.get("inputs", "")), 0, False
        if prompt in self.limits.kill_senders:
            return KILL, {}, None
        if prompt.startswith("!bad"):
            return 400, {}, {"error": {"message": f"the server refuses {prompt!r}"}}
        prompt_tokens = math.ceil(len(prompt) / 4)
        status, headers, error = self.decide(prompt, prompt_tokens + max_tokens)
        if status != 200:
            return status, headers, error
        headers["x-request-id"] = f"req-{self.counts.accepted}"
        if not chat:
            return 200, headers, [{"label": "POSITIVE", "score": 0.9}, {"label": "NEGATIVE", "score": 0.1}]
        completion = max_tokens if unbounded else min(max_tokens, 8)
        return (
            200,
            headers,
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 0,
                "model": request.get("model") or "stub",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": f"answer to {prompt}"},
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion,
                    "total_tokens": prompt_tokens + completion,
                },
            },
        )

    # -- lifecycle -------------------------------------------------------------------------------------
    async def _serve(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        self._started.set()
        async with self._server:
            await self._server.serve_forever()

    def start(self) -> LimitedServer:
        def main() -> None:
            self._loop = asyncio.new_event_loop()
            with contextlib.suppress(asyncio.CancelledError):
                self._loop.run_until_complete(self._serve())
            self._loop.close()

        self._thread = threading.Thread(target=main, name="limited-server", daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the limited server did not start")
        return self

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is not None and server is not None:

            async def shut() -> None:
                server.close()
                for task in asyncio.all_tasks():
                    if task is not asyncio.current_task():
                        task.cancel()

            with contextlib.suppress(RuntimeError):
                asyncio.run_coroutine_threadsafe(shut(), loop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> LimitedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rps", type=float)
    parser.add_argument("--tpm", type=float)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--headers", default="openai")
    parser.add_argument("--stats-every", type=float, default=0, help="print counts as JSON every N seconds")
    args = parser.parse_args()
    server = LimitedServer(
        Limits(rps=args.rps, tpm=args.tpm, fault_rate=args.fault_rate, headers=args.headers), port=args.port
    )
    server.start()
    print(json.dumps({"port": server.port}), flush=True)
    try:
        import sys

        for _line in sys.stdin:  # any line: print the counts; end of input: stop
            c = server.counts
            print(
                json.dumps(
                    {
                        "requests": c.requests,
                        "accepted": c.accepted,
                        "rate_limited": c.rate_limited,
                        "faults": c.faults,
                        "duplicates": len(c.duplicates()),
                        "first": c.accepted_at[0] if c.accepted_at else None,
                        "last": c.accepted_at[-1] if c.accepted_at else None,
                    }
                ),
                flush=True,
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
