"""How much does crash isolation cost the `local` provider? Two ways measured with the real model:

- preflight (what omniinfer does): a child process loads the model and generates two tokens once
  per engine build + model + CPU; the verdict is cached and the model then runs in-process.
- worker: the model runs in a worker process for good, and every token crosses a pipe.

Figures, each the median of `--runs` calls on one warm client, temperature 0, the same prompt:
first-token latency (request to first streamed piece), tokens/s over a 64-token stream, and the
one-time costs (a fresh load with and without the check, the check's child alone).

    .venv/bin/python bench/local_isolation.py [--model PATH_OR_NAME] [--runs 5]

Needs `omniinfer[local]`; uses the catalogue's default model unless told otherwise.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

QUESTION = [{"role": "user", "content": "Write a short poem about the sea."}]
TOKENS = 64


def _stream_in_process(client: Any) -> Iterator[str]:
    for chunk in client.chat_completion(QUESTION, max_tokens=TOKENS, temperature=0, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            yield chunk.choices[0].delta.content


def _timed(stream: Callable[[], Iterator[str]]) -> tuple[float, float]:
    """(seconds to the first piece, pieces per second after it)."""
    start = time.perf_counter()
    first = None
    count = 0
    for _ in stream():
        count += 1
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    assert first is not None
    return first - start, (count - 1) / (end - first) if count > 1 else 0.0


def _worker(path: str, requests: Any, pieces: Any) -> None:
    """The worker-process design: the model lives here; prompts come in, pieces go out."""
    from omniinfer.local import models

    llama = models.load(Path(path), embedding=False)
    pieces.send("ready")
    while requests.recv() is not None:
        for chunk in llama.create_chat_completion(QUESTION, max_tokens=TOKENS, temperature=0, stream=True):
            content = chunk["choices"][0]["delta"].get("content")
            if content:
                pieces.send(content)
        pieces.send(None)


def _median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("OMNIINFER_QUIET", "1")

    from omniinfer import InferenceClient
    from omniinfer.local import models, preflight
    from omniinfer.local.catalogue import DEFAULT_MODEL

    reference = args.model or DEFAULT_MODEL
    path = models.materialise(models.locate(reference))
    rows: list[tuple[str, str]] = []

    # One-time costs: a fresh home, so the check really runs.
    with tempfile.TemporaryDirectory() as home:
        os.environ["OMNIINFER_HOME"] = home
        start = time.perf_counter()
        preflight.check(path)
        once = time.perf_counter() - start
        rows.append(("the check alone (child loads + 2 tokens), once per build+model", f"{once:.2f} s"))
        start = time.perf_counter()
        preflight.check(path)
        rows.append(("the check again (cached verdict)", f"{(time.perf_counter() - start) * 1e6:.0f} µs"))
    os.environ.pop("OMNIINFER_HOME")

    results: dict[str, tuple[list[float], list[float]]] = {}
    for label, flag in (("in-process, no check", "0"), ("in-process, checked (cached)", "1")):
        os.environ["OMNIINFER_LOCAL_PREFLIGHT"] = flag
        with InferenceClient(str(path), provider="local") as client:
            client.chat_completion(QUESTION, max_tokens=2)  # load and warm
            runs = [_timed(lambda c=client: _stream_in_process(c)) for _ in range(args.runs)]
        results[label] = ([r[0] for r in runs], [r[1] for r in runs])

    requests, requests_in = multiprocessing.Pipe()
    pieces_out, pieces = multiprocessing.Pipe()
    worker = multiprocessing.get_context("spawn").Process(target=_worker, args=(str(path), requests_in, pieces))
    worker.start()
    assert pieces_out.recv() == "ready"

    def via_worker() -> Iterator[str]:
        requests.send(QUESTION)
        while (piece := pieces_out.recv()) is not None:
            yield piece

    for _ in range(1):
        list(via_worker())  # warm
    runs = [_timed(via_worker) for _ in range(args.runs)]
    results["worker process (pipe per token)"] = ([r[0] for r in runs], [r[1] for r in runs])
    requests.send(None)
    worker.join(timeout=30)

    base_ttft, base_rate = (_median(v) for v in results["in-process, no check"])
    print(f"model: {path.name}; {args.runs} runs each; {TOKENS}-token streams; python {sys.version.split()[0]}")
    print("| design | first-token latency | tokens/s | vs in-process |")
    print("|---|---|---|---|")
    for label, (ttfts, rates) in results.items():
        ttft, rate = _median(ttfts), _median(rates)
        print(
            f"| {label} | {ttft * 1000:.0f} ms | {rate:.1f} | "
            f"latency {ttft / base_ttft - 1:+.1%}, rate {rate / base_rate - 1:+.1%} |"
        )
    for label, value in rows:
        print(f"| {label} | {value} | | |")


if __name__ == "__main__":
    main()
