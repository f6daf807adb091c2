#!/usr/bin/env python3
"""Load test under faults: 10,000 async chat calls through one AsyncInferenceClient, ~5% of them met by
injected faults the client must survive, and every answer checked. One command, from the repository root:

    python3 bench/load.py               # writes the "Load test under faults" block of bench/RESULTS.md

It starts its own fault-injecting HTTP/1.1 server (asyncio, loopback only, TCP_NODELAY) in a separate
process, speaking the OpenAI chat-completions protocol, non-stream (JSON) and stream (chunked SSE), so
the client's CPU and memory are measured alone. Each request carries a unique id in its message and the
server answers with that id in the content, so every answer is attributed to its request.

The fault plan is drawn by a seeded RNG and known to both sides (`make_plan`): per request, whether it
streams (20%) and which faults its first attempts meet (5% of requests; 1, 2 or 3 faults in a row,
all retryable, with max_retries=3): 503 with `Retry-After: 0`, 429 with `retry-after-ms`, a 500, and a
connection reset (RST) after the request is read and before any byte of the answer (for a stream: before
its first byte). On top of the 10,000, a few streams are cut after their first events (the connection is
closed mid-stream): the client must NOT resend those, so they are counted apart, as expected typed errors.

Checked: every id answered exactly once with its own content (no lost, no duplicated, no crossed answer),
`.response_meta.attempts` of every result and stream, the server's per-id request count against the plan,
the client's RSS and open descriptors every 1,000 completions (optionally tracemalloc), ru_maxrss.
Bounded: a count, a hard timeout (--timeout), the server exits with its parent or after --timeout + 60 s.

Standard library only at module level; the client part imports omniinfer, so the script re-executes
itself with /work/main/.venv/bin/python (or the bench venv) when the interpreter running it lacks it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import importlib.util
import json
import os
import platform
import random
import re
import resource
import shlex
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS_MD = BENCH / "RESULTS.md"
BEGIN, END = "<!-- bench/load.py results: begin -->", "<!-- bench/load.py results: end -->"
SECTION = "## Load test under faults"

STREAM_SHARE = 0.20
FAULT_RATE = 0.05
FAULT_KINDS = ("503", "429", "reset", "500")  # all retryable, before any byte of the answer
FAULTS_IN_A_ROW = ((1, 0.80), (2, 0.15), (3, 0.05))  # a faulted request meets 1, 2 or 3 faults, then success
STREAM_EVENTS = 16
MIDSTREAM_EVENTS = 4  # events sent before a mid-stream cut
RETRY_AFTER_MS = 20
CHECKPOINT = 1000

Plan = list[tuple[bool, tuple[str, ...]]]


def make_plan(seed: int, requests: int, midstream: int) -> Plan:
    """(streams?, faults in order) per request id: ids < `requests` must all be answered; the `midstream`
    ids after them are streams cut mid-way, which must fail with a typed error and never be resent."""
    rng = random.Random(seed)
    counts, weights = zip(*FAULTS_IN_A_ROW, strict=True)
    plan: Plan = []
    for _ in range(requests):
        stream = rng.random() < STREAM_SHARE
        faults: tuple[str, ...] = ()
        if rng.random() < FAULT_RATE:
            k = rng.choices(counts, weights)[0]
            faults = tuple(rng.choice(FAULT_KINDS) for _ in range(k))
        plan.append((stream, faults))
    plan += [(True, ("midstream",))] * midstream
    return plan


def issue_order(seed: int, total: int) -> list[int]:
    order = list(range(total))
    random.Random(seed + 1).shuffle(order)  # mid-stream ids spread among the others
    return order


def answer_text(i: int) -> str:
    return f"answer to request {i}"


def stream_pieces(i: int) -> list[str]:
    return [answer_text(i), *(f" .{k}" for k in range(1, STREAM_EVENTS))]


ID_IN_TEXT = re.compile(r"answer to request (\d+)")


# =========================================================================== the server (its own process)
class ServerState:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.seen = [0] * len(plan)  # requests received per id
        self.injected: Counter[str] = Counter()
        self.requests = 0
        self.conns = 0
        self.bad = 0  # requests the server could not attribute to an id


def _event(i: int, k: int, piece: str, last: bool) -> bytes:
    delta = {"role": "assistant", "content": piece} if k == 0 else {"content": piece}
    chunk = {
        "id": f"chatcmpl-load-{i}",
        "object": "chat.completion.chunk",
        "created": 1732460000,
        "model": "load-test",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": "stop" if last else None}],
    }
    data = b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


def _json_response(status: str, body: dict[str, Any], extra: str = "") -> bytes:
    data = json.dumps(body, separators=(",", ":")).encode()
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n{extra}\r\n"
    return head.encode() + data


class ServerConn(asyncio.Protocol):
    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.state.conns += 1
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while not self.closed:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = self.buf[:end].decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
            length = int(headers.get("content-length", "0"))
            if len(self.buf) < end + 4 + length:
                return
            body, self.buf = self.buf[end + 4 : end + 4 + length], self.buf[end + 4 + length :]
            method, path = lines[0].split(" ")[:2]
            self.handle(method, path, body)

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def reset(self) -> None:
        """RST, not FIN: SO_LINGER 0, then close."""
        assert self.transport is not None
        sock = self.transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()
        self.closed = True

    def handle(self, method: str, path: str, body: bytes) -> None:
        st = self.state
        if method == "GET" and path == "/_stats":
            usage = resource.getrusage(resource.RUSAGE_SELF)
            stats = {
                "requests": st.requests,
                "conns": st.conns,
                "bad": st.bad,
                "injected": dict(st.injected),
                "seen": st.seen,
                "cpu_s": usage.ru_utime + usage.ru_stime,
                "maxrss_kib": usage.ru_maxrss,
            }
            self.write(_json_response("200 OK", stats))
            return
        st.requests += 1
        try:
            payload = json.loads(body)
            match = re.fullmatch(r"load test request (\d+)", payload["messages"][-1]["content"])
            i = int(match.group(1)) if match else -1
            stream = bool(payload.get("stream"))
            if path != "/v1/chat/completions" or not 0 <= i < len(st.plan) or stream != st.plan[i][0]:
                raise ValueError(path)
        except (ValueError, KeyError, TypeError, IndexError):
            st.bad += 1
            self.write(_json_response("400 Bad Request", {"error": "not a load-test request"}))
            return
        attempt = st.seen[i]
        st.seen[i] += 1
        faults = st.plan[i][1]
        fault = faults[attempt] if attempt < len(faults) else None
        if fault is not None:
            st.injected[fault] += 1
        rid = f"x-request-id: load-{i}-{attempt + 1}\r\n"
        if fault == "reset":
            self.reset()
        elif fault == "503":
            extra = "Retry-After: 0\r\n"
            self.write(_json_response("503 Service Unavailable", {"error": "overloaded (injected)"}, extra))
        elif fault == "429":
            extra = f"retry-after-ms: {RETRY_AFTER_MS}\r\n"
            self.write(_json_response("429 Too Many Requests", {"error": "rate limited (injected)"}, extra))
        elif fault == "500":
            self.write(_json_response("500 Internal Server Error", {"error": "internal error (injected)"}))
        elif not stream:
            answer = {
                "id": f"chatcmpl-load-{i}",
                "object": "chat.completion",
                "created": 1732460000,
                "model": "load-test",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer_text(i)},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 8, "completion_tokens": 4, "total_tokens": 12},
            }
            self.write(_json_response("200 OK", answer, rid))
        else:
            head = f"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n{rid}\r\n"
            self.write(head.encode())
            pieces = stream_pieces(i)
            cut = fault == "midstream"
            for k, piece in enumerate(pieces[:MIDSTREAM_EVENTS] if cut else pieces):
                self.write(_event(i, k, piece, k == len(pieces) - 1))
            if cut:  # FIN after what was written: the client has its first events, then the end
                assert self.transport is not None
                self.transport.close()
                self.closed = True
                return
            self.write(b"e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n")


def serve(a: argparse.Namespace) -> None:
    """The server process: prints its port, serves until stdin closes (its parent is gone) or the time cap."""
    plan = make_plan(a.seed, a.requests, a.midstream)
    state = ServerState(plan)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: ServerConn(state), "127.0.0.1", 0, backlog=4096)
        print(server.sockets[0].getsockname()[1], flush=True)
        done = loop.create_future()

        def watch_parent() -> None:
            sys.stdin.read()  # EOF when the parent exits or closes the pipe
            loop.call_soon_threadsafe(lambda: done.done() or done.set_result(None))

        threading.Thread(target=watch_parent, daemon=True).start()
        loop.call_later(a.timeout + 60, lambda: done.done() or done.set_result(None))
        await done
        server.close()

    asyncio.run(main())


# =========================================================================== the client (this process)
def rss_kib() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Tally:
    """Everything the client observed, per id and in total."""

    def __init__(self, plan: Plan, requests: int) -> None:
        self.plan = plan
        self.requests = requests
        self.answered = [0] * len(plan)  # answers whose content names this id
        self.attempts = [0] * len(plan)  # response_meta.attempts of each id's result or stream
        self.server_attempt = [0] * len(plan)  # which server-side attempt answered (from x-request-id)
        self.mismatched: list[str] = []  # answers whose content is not exactly the expected one
        self.errors: dict[int, str] = {}  # id -> "ErrorType: message"
        self.midstream_chunks: dict[int, int] = {}  # id -> chunks received before the typed error
        self.done = 0
        self.checkpoints: list[dict[str, Any]] = []
        self.snapshots: list[Any] = []  # tracemalloc snapshots after 2,000 calls and at the end


async def one_call(client: Any, i: int, stream: bool, tally: Tally) -> None:
    messages = [{"role": "user", "content": f"load test request {i}"}]
    if not stream:
        out = await client.chat_completion(messages, max_tokens=16)
        text, meta, count = out.choices[0].message.content, out.response_meta, 1
        expected = answer_text(i)
    else:
        s = await client.chat_completion(messages, max_tokens=16, stream=True)
        pieces: list[str] = []
        try:
            async for chunk in s:
                if chunk.choices:
                    pieces.append(chunk.choices[0].delta.content or "")
        except BaseException:
            tally.midstream_chunks[i] = len(pieces)
            raise
        text, meta, count = "".join(pieces), s.response_meta, len(pieces)
        expected = "".join(stream_pieces(i))
    found = ID_IN_TEXT.match(text or "")
    if found and int(found.group(1)) < len(tally.answered):
        tally.answered[int(found.group(1))] += 1
    if text != expected or (stream and count != STREAM_EVENTS):
        tally.mismatched.append(f"id {i}: got {str(text)[:60]!r} in {count} chunks")
    tally.attempts[i] = meta.attempts
    rid = meta.request_id or ""
    if rid.startswith(f"load-{i}-"):
        tally.server_attempt[i] = int(rid.rsplit("-", 1)[1])


async def drive(a: argparse.Namespace, port: int, plan: Plan, tally: Tally) -> dict[str, Any]:
    from omniinfer import AsyncInferenceClient

    order = issue_order(a.seed, len(plan))
    it = iter(order)
    base = {"rss_kib": rss_kib(), "fds": open_fds(), "gc_objects": len(gc.get_objects())}
    if a.tracemalloc:
        import tracemalloc

        tracemalloc.start()
    client = AsyncInferenceClient(base_url=f"http://127.0.0.1:{port}/v1", max_retries=a.max_retries, timeout=30)
    t0, cpu0 = time.perf_counter(), cpu_s()

    def checkpoint() -> None:
        point = {
            "done": tally.done,
            "wall_s": time.perf_counter() - t0,
            "cpu_s": cpu_s() - cpu0,
            "rss_kib": rss_kib(),
            "fds": open_fds(),
            "gc_objects": len(gc.get_objects()),
        }
        if a.tracemalloc:
            import tracemalloc

            point["traced_kib"], point["traced_peak_kib"] = (x // 1024 for x in tracemalloc.get_traced_memory())
            if tally.done in (2000, len(plan)):  # where traced memory grew between these two
                tally.snapshots.append(tracemalloc.take_snapshot())
        tally.checkpoints.append(point)

    async def lane() -> None:
        for i in it:
            try:
                await one_call(client, i, plan[i][0], tally)
            except Exception as e:
                tally.errors[i] = f"{type(e).__name__}: {e}"[:200]
            tally.done += 1
            if tally.done % CHECKPOINT == 0 or tally.done == len(plan):
                checkpoint()

    timed_out = False
    try:
        await asyncio.wait_for(asyncio.gather(*(lane() for _ in range(a.concurrency))), a.timeout)
    except asyncio.TimeoutError:
        timed_out = True
    finally:
        wall, cpu = time.perf_counter() - t0, cpu_s() - cpu0
        await client.close()
    await asyncio.sleep(0.1)  # let the closed sockets go
    return {"base": base, "wall_s": wall, "cpu_s": cpu, "timed_out": timed_out, "fds_after_close": open_fds()}


def traced_growth(snapshots: list[Any], top: int = 6) -> list[str]:
    """The source lines whose live allocations grew most between the two snapshots (--tracemalloc)."""
    if len(snapshots) < 2:
        return []
    diff = snapshots[1].compare_to(snapshots[0], "lineno")
    out = []
    for d in diff[:top]:
        where = f"{d.traceback[0].filename.replace(str(REPO) + '/', '')}:{d.traceback[0].lineno}"
        out.append(f"{where} {d.size_diff / 1024:+,.0f} KiB ({d.count_diff:+,} blocks)")
    return out


def fetch_stats(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stats", timeout=10) as r:
        return json.loads(r.read())


def verify(plan: Plan, requests: int, tally: Tally, server: dict[str, Any]) -> dict[str, Any]:
    regular = range(requests)
    midstream = range(requests, len(plan))
    seen = server["seen"]
    planned_sends = [len(f) + 1 for _, f in plan[:requests]]
    v: dict[str, Any] = {
        "lost": [i for i in regular if tally.answered[i] == 0],
        "duplicated": [i for i in regular if tally.answered[i] > 1],
        "failed": {i: tally.errors[i] for i in regular if i in tally.errors},
        "mismatched": tally.mismatched,
        # the server got each request once per planned fault, plus the one it answered; no more, no less
        "server_count_off": [i for i in regular if seen[i] != planned_sends[i]],
        "answered_by_other_attempt": [
            i for i in regular if tally.answered[i] and tally.server_attempt[i] != planned_sends[i]
        ],
        "faulted_ids": sum(1 for _, f in plan[:requests] if f),
        "faults_planned": Counter(k for _, f in plan[:requests] for k in f),
        "streams": sum(1 for s, _ in plan[:requests] if s),
        "stream_faults": Counter(k for s, f in plan[:requests] if s for k in f),
        "retries": sum(max(0, n - 1) for n in tally.attempts[:requests]),
        "attempts_hist": Counter(tally.attempts[i] for i in regular if tally.answered[i]),
        # sends the client made without counting them as an attempt: a reset on a reused pooled connection
        # looks like a stale connection, which the transport resends transparently (see the report)
        "silent_resends": sum(
            max(0, planned_sends[i] - tally.attempts[i]) for i in regular if tally.answered[i] and tally.attempts[i]
        ),
        "mid_total": len(midstream),
        "mid_typed_errors": Counter(tally.errors[i].split(":")[0] for i in midstream if i in tally.errors),
        "mid_not_failing": [i for i in midstream if i not in tally.errors],
        "mid_resent": [i for i in midstream if seen[i] > 1],
        "mid_chunks_before_error": Counter(tally.midstream_chunks.get(i, -1) for i in midstream if i in tally.errors),
    }
    v["ok"] = not (
        v["lost"]
        or v["duplicated"]
        or v["failed"]
        or v["mismatched"]
        or v["server_count_off"]
        or v["mid_not_failing"]
        or v["mid_resent"]
    )
    return v


def fmt_counter(c: Counter[Any]) -> str:
    return ", ".join(f"{k}: {n:,}" for k, n in sorted(c.items(), key=lambda kv: str(kv[0]))) or "none"


def ids(xs: Any, limit: int = 10) -> str:
    xs = list(xs)
    return f"{len(xs):,}" + (f" (e.g. {', '.join(map(str, xs[:limit]))})" if xs else "")


def report(a: argparse.Namespace, meta: dict[str, Any], run: dict[str, Any], server: dict[str, Any], v: dict) -> str:
    n, cps = a.requests, run["checkpoints"]
    by_done = {c["done"]: c for c in cps}
    early = by_done.get(2000) or (cps[0] if cps else None)
    last = cps[-1] if cps else None
    regular_requests = n + sum(v["faults_planned"].values())
    retryable = {k: x for k, x in server["injected"].items() if k != "midstream"}
    timeout_note = f" (HIT THE {a.timeout:g} s TIMEOUT)" if run["timed_out"] else ""
    lines = [
        f"Measured {meta['date']} on {meta['machine']}; {meta['versions']}.",
        "",
        f"Command: `{meta['command']}` (from the repository root; {meta['total_s']:.0f} s wall in all). "
        f"omniinfer at {meta['checkout']}. Load average before: {meta['load_before']:.2f}, after: "
        f"{meta['load_after']:.2f}{'; client pinned to CPU 0, server to CPU 1' if meta['pinned'] else ''}.",
        "",
        "| check | result |",
        "|---|---|",
        f"| requests that must be answered (non-stream / stream) | {n:,} ({n - v['streams']:,} / {v['streams']:,}), "
        f"one `AsyncInferenceClient(max_retries={a.max_retries})`, {a.concurrency} in flight, seed {a.seed} |",
        f"| requests met by faults | {v['faulted_ids']:,} ({v['faulted_ids'] / n:.1%}); faults planned: "
        f"{fmt_counter(v['faults_planned'])}; of which on streams, before their first byte: "
        f"{fmt_counter(v['stream_faults'])} |",
        f"| faults the server injected | {fmt_counter(Counter(retryable))} |",
        f"| **lost** (no answer) | **{ids(v['lost'])}** |",
        f"| **duplicated** (answered more than once) | **{ids(v['duplicated'])}** |",
        f"| **wrong content** (text or chunk count not the request's own) | **{ids(v['mismatched'], 3)}** |",
        f"| failed with an error | {ids(v['failed'])} |",
        f"| server requests received (all ids) / expected for the {n:,} | {server['requests']:,} / "
        f"{regular_requests:,} + {v['mid_total']:,} mid-stream; ids whose count differs from the plan: "
        f"{ids(v['server_count_off'])}; unattributable: {server['bad']} |",
        f"| retries counted by the client (`response_meta.attempts` - 1, summed) | {v['retries']:,}; attempts per "
        f"answer: {fmt_counter(v['attempts_hist'])} |",
        f"| resends not counted as attempts (reset on a reused connection, resent as a stale one) | "
        f"{v['silent_resends']:,} |",
        f"| answers not from the planned final attempt (x-request-id) | {ids(v['answered_by_other_attempt'])} |",
        f"| streams cut mid-stream after {MIDSTREAM_EVENTS} events (not retryable; apart from the {n:,}) | "
        f"{v['mid_total']:,}: typed errors {fmt_counter(v['mid_typed_errors'])}; chunks received before the "
        f"error: {fmt_counter(v['mid_chunks_before_error'])}; resent: {ids(v['mid_resent'])}; "
        f"did not fail: {ids(v['mid_not_failing'])} |",
        f"| server connections accepted | {server['conns']:,} |",
        f"| wall time; client CPU (user + system) | {run['wall_s']:.1f} s{timeout_note}"
        f"; {run['cpu_s']:.2f} s = {run['cpu_s'] / max(1, n + v['mid_total']) * 1e6:,.0f} µs per call "
        f"(server: {server['cpu_s']:.2f} s) |",
    ]
    base = run["base"]
    if early and last:
        grow = (last["rss_kib"] - early["rss_kib"]) * 1024 / max(1, last["done"] - early["done"])
        lines.append(
            f"| client RSS: before the first call / after {early['done']:,} / after {last['done']:,} "
            f"| {base['rss_kib'] / 1024:.1f} / {early['rss_kib'] / 1024:.1f} / {last['rss_kib'] / 1024:.1f} MiB "
            f"({last['rss_kib'] - early['rss_kib']:+,} KiB from {early['done']:,} to {last['done']:,}, "
            f"{grow:+.0f} B per call); highest sample {max(c['rss_kib'] for c in cps) / 1024:.1f} MiB, "
            f"ru_maxrss {run['maxrss_kib'] / 1024:.1f} MiB (the kernel updates it lazily) |"
        )
        lines.append(
            f"| open descriptors: before / after {early['done']:,} / after {last['done']:,} / after `close()` "
            f"| {base['fds']} / {early['fds']} / {last['fds']} / {run['fds_after_close']} |"
        )
        lines.append(
            f"| Python objects (gc): before / after {early['done']:,} / after {last['done']:,} "
            f"| {base['gc_objects']:,} / {early['gc_objects']:,} / {last['gc_objects']:,} |"
        )
        if "traced_kib" in last:
            lines.append(
                f"| tracemalloc: traced after {early['done']:,} / after {last['done']:,}; peak "
                f"| {early['traced_kib']:,} / {last['traced_kib']:,} KiB; peak {last['traced_peak_kib']:,} KiB |"
            )
    if run.get("growth"):
        lines += ["", "Traced memory growth from 2,000 calls to the end, by source line:", ""]
        lines += [f"- `{g}`" for g in run["growth"]]
    lines += [
        "",
        "RSS every 1,000 completions (MiB): " + ", ".join(f"{c['rss_kib'] / 1024:.1f}" for c in cps) + ".",
        "",
        f"Verdict: **{'PASS' if v['ok'] else 'FAIL'}**"
        + (
            ": every id answered exactly once with its own content; every mid-stream cut raised a typed error "
            "and was not resent."
            if v["ok"]
            else "."
        ),
    ]
    if v["failed"]:
        lines += ["", "Errors (first 10):", *(f"- id {i}: {e}" for i, e in list(v["failed"].items())[:10])]
    return "\n".join(lines)


def write_results(path: Path, block: str) -> None:
    generated = f"{BEGIN}\n{block}\n{END}"
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        text = before + generated + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n\n{SECTION}\n\n{generated}\n"
    path.write_text(text)


def checkout() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(REPO), *args], check=False, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "src", "pyproject.toml")
    return f"commit {head}" + (" with uncommitted changes in src/" if dirty else "")


def reexec_with_omniinfer() -> None:
    """`python3 bench/load.py` with a python that lacks omniinfer: run again with one that has it."""
    if importlib.util.find_spec("omniinfer") is not None:
        return
    work = Path(os.environ.get("OMNIINFER_BENCH_DIR", "/tmp/omniinfer-bench"))
    for python in (REPO / ".venv" / "bin" / "python", work / "venvs" / "omniinfer" / "bin" / "python"):
        if python.exists():
            print(f"[load] running with {python}", file=sys.stderr, flush=True)
            os.execv(str(python), [str(python), __file__, *sys.argv[1:]])
    sys.exit("omniinfer is not importable: run with /work/main/.venv/bin/python (or make it with bench/run.py)")


def client_main(a: argparse.Namespace) -> int:
    reexec_with_omniinfer()
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    pin = not a.no_pin and (os.cpu_count() or 1) >= 2
    plan = make_plan(a.seed, a.requests, a.midstream)
    cmd = [sys.executable, __file__, "--serve", *(f"--{k}={getattr(a, k)}" for k in ("seed", "requests", "midstream"))]
    server = subprocess.Popen(
        [*cmd, f"--timeout={a.timeout}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=(lambda: os.sched_setaffinity(0, {1})) if pin else None,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        if pin:
            os.sched_setaffinity(0, {0})
        import omniinfer

        tally = Tally(plan, a.requests)
        print(f"[load] server pid {server.pid} on 127.0.0.1:{port}; {len(plan):,} calls", file=sys.stderr, flush=True)
        run = asyncio.run(drive(a, port, plan, tally))
        run["checkpoints"] = tally.checkpoints
        run["growth"] = traced_growth(tally.snapshots)
        run["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        stats = fetch_stats(port)
    finally:
        if server.stdin is not None:
            server.stdin.close()  # the server's signal to stop
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    v = verify(plan, a.requests, tally, stats)
    meta = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, Linux {platform.release()}, Python {platform.python_version()}",
        "versions": f"omniinfer {getattr(omniinfer, '__version__', '?')}",
        "command": "python3 bench/load.py" + "".join(" " + shlex.quote(x) for x in sys.argv[1:]),
        "checkout": checkout(),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "pinned": pin,
        "total_s": time.perf_counter() - started,
    }
    block = report(a, meta, run, stats, v)
    print(block)
    if not a.no_results:
        write_results(a.results, block)
        print(f"wrote {a.results}", file=sys.stderr)
    return 0 if v["ok"] and not run["timed_out"] else 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=10_000, help="calls that must all be answered")
    ap.add_argument("--midstream", type=int, default=50, help="extra streams cut mid-way (expected typed errors)")
    ap.add_argument("--concurrency", type=int, default=256)
    ap.add_argument("--max-retries", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--timeout", type=float, default=300.0, help="hard limit on the whole run, seconds")
    ap.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slower)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin the client to CPU 0 and the server to CPU 1")
    ap.add_argument("--results", type=Path, default=RESULTS_MD)
    ap.add_argument("--no-results", action="store_true", help="print only; leave RESULTS.md alone")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve:
        serve(a)
        return
    sys.exit(client_main(a))


if __name__ == "__main__":
    main()
