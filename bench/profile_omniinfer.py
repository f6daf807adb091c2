"""cProfile of omniinfer's sequential chat call and of its streaming per-chunk path, against the stub.

    /tmp/omniinfer-bench/venvs/omniinfer/bin/python bench/profile_omniinfer.py [--calls 2000] [--top 15]
    python3 bench/run.py --clients omniinfer --scenarios seq --profile     # the same, set up by run.py

Starts the stub if nothing answers on the port (and stops it again). Prints, for each path, the top
functions by own time (tottime) per call or per chunk. cProfile adds its own cost to every function
call, so the absolute figures are inflated: read the ranking and the shares, not the microseconds.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import time
from collections.abc import Callable

import stub
from worker import CHAT_CONTENT, MAX_TOKENS, MESSAGES


def top(profile: cProfile.Profile, per: int, what: str, n: int, timer: str) -> str:
    stats = pstats.Stats(profile)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)  # type: ignore[attr-defined]
    lines = [
        f"{what}: {total / per * 1e6:.2f} µs profiled ({timer} time) per op over {per:,} ops; top {n} by own time",
        f"{'own µs/op':>10} {'share':>6} {'calls/op':>9}  function",
    ]
    for (filename, line, func), (_cc, ncalls, tottime, _cum, _callers) in rows[:n]:
        where = re.sub(r"^.*/(src|site-packages|lib/python3\.\d+)/", "", filename)
        waits = timer == "wall" and any(w in func for w in ("'recv'", "'recv_into'", "poll", "select"))
        note = "  <- mostly waiting for the stub, not CPU" if waits else ""
        lines.append(
            f"{tottime / per * 1e6:10.3f} {tottime / total:6.1%} {ncalls / per:9.2f}  {where}:{line}({func}){note}"
        )
    by_file: dict[str, float] = {}
    for (filename, _line, _func), (_cc, _n, tottime, _cum, _callers) in rows:
        where = re.sub(r"^.*/(src|site-packages|lib/python3\.\d+)/", "", filename)
        by_file[where] = by_file.get(where, 0.0) + tottime
    lines.append(
        "by file: "
        + ", ".join(
            f"{f} {t / per * 1e6:.2f}" for f, t in sorted(by_file.items(), key=lambda kv: kv[1], reverse=True)[:8]
        )
    )
    return "\n".join(lines)


def profiled(fn: Callable[[], None], timer: str) -> cProfile.Profile:
    prof = cProfile.Profile(time.process_time) if timer == "cpu" else cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    return prof


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=stub.PORT)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--streams", type=int, default=2, help=f"streams of {stub.STREAM_CHUNKS:,} chunks")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument(
        "--timer",
        choices=["wall", "cpu"],
        default="wall",
        help="wall (default): cProfile's cheap clock; the client is pinned and the stub on the other "
        "core, so only the socket waits (recv, poll) are not CPU. cpu: process CPU time, which "
        "costs a system call per event and inflates every figure ~3x",
    )
    a = ap.parse_args()
    from omniinfer import InferenceClient

    started = stub.start(a.port)
    try:
        root = f"http://127.0.0.1:{a.port}"
        client = InferenceClient(base_url=f"{root}/v1")
        sclient = InferenceClient(base_url=f"{root}/sse/{stub.STREAM_CHUNKS}/v1")
        expected = stub.expected_stream_text()

        def chat() -> None:
            for _ in range(a.calls):
                out = client.chat_completion(MESSAGES, max_tokens=MAX_TOKENS)
                assert out.choices[0].message.content == CHAT_CONTENT

        def stream() -> None:
            for _ in range(a.streams):
                text = "".join(
                    chunk.choices[0].delta.content or ""
                    for chunk in sclient.chat_completion(MESSAGES, max_tokens=MAX_TOKENS, stream=True)
                )
                assert text == expected

        for _ in range(100):  # warm-up: imports, the pooled connection
            client.chat_completion(MESSAGES, max_tokens=MAX_TOKENS)
        list(sclient.chat_completion(MESSAGES, max_tokens=MAX_TOKENS, stream=True))
        print(top(profiled(chat, a.timer), a.calls, "sequential chat_completion", a.top, a.timer))
        print()
        print(
            top(
                profiled(stream, a.timer),
                a.streams * stub.STREAM_CHUNKS,
                "streaming, per chunk",
                a.top,
                a.timer,
            )
        )
        client.close()
        sclient.close()
    finally:
        if started:
            stub.stop()


if __name__ == "__main__":
    main()
