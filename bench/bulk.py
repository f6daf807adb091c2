#!/usr/bin/env python3
"""Bulk benchmark: `omniinfer bulk` against the rate-limited server, next to the usual ways of doing it.

    python3 bench/bulk.py [--rows 20000] [--rps 200] [--rss-rows 1000000] [--only a,b] [--no-results]
                          [--cpu-python /usr/bin/python3.11]

Figures (issue 15), each in a fresh server:
- rate: 20,000 chat rows against tests/limited_server.py (a subprocess; 200 requests/s in fixed
  1-second windows, 429 + Retry-After + x-ratelimit-* headers). achieved/allowed is the server's count
  of accepted requests over the span from the first to the last one, / the limit; 429s / requests sent.
  Clients: `omniinfer bulk` (one process, no client cap: paced by the server's headers; again
  against the same server sending no budget headers, only 429s: paced by what they show),
  `omniinfer bulk --ray --workers 2` (against both servers), a plain asyncio.Semaphore(64) loop
  over AsyncInferenceClient, LiteLLM's batch_completion, Ray Data's HttpRequestProcessorConfig (qps
  set to the limit).
- cpu: client CPU per row (user + system of the client process) with no limit, against the nginx stub
  of bench/stub.py (so the client is what is measured); omniinfer bulk and the semaphore loop, each
  in a warm process (the bulk job after a first job of 500 rows, whose CPU is the start-up figure).
  `--cpu-python` measures the bulk figure again with another interpreter (in a venv of its own): the
  figure depends on how the interpreter was built.
- rss: peak RSS of `omniinfer bulk` streaming 1,000,000 rows from a Parquet file (generated in /tmp)
  to JSONL against the nginx stub.

The peers run in their own venv (/tmp/omniinfer-bench/bulk-peers: litellm, ray[data], aiohttp), made
on first use. Results go to the bulk section of bench/RESULTS.md. Standard library at the top level:
the same file is the worker inside each venv (`--worker NAME`).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("OMNIINFER_BENCH_DIR", "/tmp/omniinfer-bench")) / "bulk"
PEERS_VENV = WORK.parent / "bulk-peers"
PEERS = ["litellm", "ray[data]", "aiohttp"]
WARM_ROWS = 500  # the first job of the CPU figure, which pays the start-up
OMNIINFER_PY = ROOT / ".venv" / "bin" / "python"
MARK_START, MARK_END = "<!-- bench/bulk.py results -->", "<!-- end bench/bulk.py results -->"
TARGETS = {
    "achieved": 0.95,
    "ray_achieved": 0.90,
    "429": 0.02,
    "cpu_us": 150.0,
    "rss_mb": 300.0,
}


# -- the rate-limited server, as a subprocess ---------------------------------------------------------
class Server:
    def __init__(self, rps: float | None, headers: str = "openai") -> None:
        args = [sys.executable, str(ROOT / "tests" / "limited_server.py"), "--headers", headers]
        if rps:
            args += ["--rps", str(rps)]
        self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.port = json.loads(self.process.stdout.readline())["port"]
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def counts(self) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        return dict(json.loads(self.process.stdout.readline()))

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def rows_file(n: int) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"rows-{n}.jsonl"
    if not path.exists():
        path.write_text("".join(json.dumps({"prompt": f"row {i}"}) + "\n" for i in range(n)))
    return path


def parquet_file(n: int) -> Path:
    path = Path("/tmp") / f"omniinfer-bulk-{n}.parquet"
    if not path.exists():
        code = (
            "import pyarrow as pa, pyarrow.parquet as pq, sys\n"
            "n = int(sys.argv[1]); w = pq.ParquetWriter(sys.argv[2], pa.schema([('prompt', pa.string())]))\n"
            "for s in range(0, n, 100000):\n"
            "    w.write_table(pa.table({'prompt': [f'row {i}' for i in range(s, min(n, s + 100000))]}))\n"
            "w.close()\n"
        )
        subprocess.run([str(OMNIINFER_PY), "-c", code, str(n), str(path)], check=True)
    return path


def run_child(args: list[str], timeout: float = 1800) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MB, stdout) of a child process."""
    started = time.monotonic()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    out = process.stdout.read() if process.stdout else ""
    err = process.stderr.read() if process.stderr else ""
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise RuntimeError(f"{args[:4]} exited {process.returncode}: {err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out


# -- the scenarios -------------------------------------------------------------------------------------
def limited(name: str, args_for: Any, rows: int, rps: float, headers: str = "openai") -> dict[str, Any]:
    server = Server(rps, headers)
    try:
        source = rows_file(rows)
        out = WORK / f"out-{name}.jsonl"
        out.unlink(missing_ok=True)
        wall, cpu, _, stdout = run_child(args_for(server.url, source, out))
        counts = server.counts()
    finally:
        server.stop()
    span = (counts["last"] - counts["first"]) if counts["first"] is not None else 0.0
    rate = (counts["accepted"] - 1) / span if span > 0 else 0.0
    result: dict[str, Any] = {
        "client": name,
        "rows": rows,
        "answered": counts["accepted"] - counts["duplicates"],
        "requests": counts["requests"],
        "429s": counts["rate_limited"],
        "faults": counts["faults"],
        "achieved": rate / rps,
        "429_ratio": counts["rate_limited"] / max(1, counts["requests"]),
        "wall_s": wall,
        "cpu_s": cpu,
    }
    if stdout.strip():
        result["worker"] = json.loads(stdout.strip().splitlines()[-1])
    return result


def omniinfer_cli(extra: list[str]) -> Any:
    def args(url: str, source: Path, out: Path) -> list[str]:
        return [str(OMNIINFER_PY), "-m", "omniinfer", "bulk", "chat", "--input", str(source), "--output", str(out),
                "--base-url", url, "--quiet", *extra]  # fmt: skip

    return args


def worker_args(python: Path, worker: str, extra: list[str] | None = None) -> Any:
    def args(url: str, source: Path, out: Path) -> list[str]:
        return [str(python), __file__, "--worker", worker, "--url", url, "--input", str(source), *(extra or [])]

    return args


def interpreter_venv(python: str) -> Path:
    """A venv of another interpreter with this checkout installed (editable, with the bulk extra), made
    on first use: the CPU figure depends on how the interpreter was built (`--cpu-python`)."""
    built = subprocess.run(
        [python, "-c", "import sys, sysconfig; print(sys.version.split()[0], sysconfig.get_config_var('CONFIG_ARGS'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    venv = WORK.parent / f"cpu-venv-{hashlib.sha256((python + built).encode()).hexdigest()[:12]}"
    venv_python = venv / "bin" / "python"
    if not venv_python.exists():
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv_python), "-m", "pip", "install", "-q", "-e", f"{ROOT}[bulk]"], check=True)
    return venv_python


def interpreter_label(python: Path) -> str:
    """The interpreter's version, where it lives, and whether it runs on a shared libpython: a shared
    build without --enable-optimizations (pyenv's default) lacks PGO, LTO and
    -fno-semantic-interposition, and runs this client's Python ~15-45% slower than a distribution's."""
    code = (  # the mapped libraries tell (a distribution may ship a libpython its own binary does not use)
        "import sys; shared = any('libpython' in line for line in open('/proc/self/maps'));"
        "print(sys.version.split()[0], sys._base_executable, 'on a shared libpython' if shared else 'static')"
    )
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def ensure_peers() -> Path | None:
    python = PEERS_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", *PEERS], capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr[-2000:], file=sys.stderr)
            return None
    return python


# -- workers (run inside a client's venv) --------------------------------------------------------------
def read_prompts(path: str) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line)["prompt"] for line in handle if line.strip()]


def worker_semaphore(url: str, source: str, rps: float | None) -> dict[str, Any]:
    import asyncio

    from omniinfer import AsyncInferenceClient

    prompts = read_prompts(source)

    async def main() -> dict[str, Any]:
        client = AsyncInferenceClient(base_url=url)
        gate = asyncio.Semaphore(64)
        failed = 0

        async def one(prompt: str) -> None:
            nonlocal failed
            async with gate:
                try:
                    await client.chat_completion([{"role": "user", "content": prompt}], max_tokens=16)
                except Exception:
                    failed += 1

        before = resource.getrusage(resource.RUSAGE_SELF)
        await asyncio.gather(*(one(p) for p in prompts))
        after = resource.getrusage(resource.RUSAGE_SELF)
        await client.close()
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return {"failed": failed, "cpu_us_per_row": cpu / len(prompts) * 1e6}

    return asyncio.run(main())


def worker_omniinfer_api(url: str, source: str) -> dict[str, Any]:
    """CPU per row of `omniinfer.bulk.run` once the process is warm, as the semaphore loop's is measured
    (its imports and client are made before its clock starts): a first job of WARM_ROWS rows pays the
    imports (and, where no bytecode cache can be written, their compilation); its CPU is reported
    apart as the start-up cost."""
    import omniinfer.bulk

    out = WORK / "out-api.jsonl"
    warm_source = WORK / f"rows-warm-{WARM_ROWS}.jsonl"
    with open(source, encoding="utf-8") as rows, open(warm_source, "w", encoding="utf-8") as warm:
        warm.writelines(itertools.islice(rows, WARM_ROWS))

    def job(path: Path | str) -> tuple[Any, float]:
        out.unlink(missing_ok=True)
        before = resource.getrusage(resource.RUSAGE_SELF)
        summary = omniinfer.bulk.run("chat", path, output=out, base_url=url, quiet=True, params={"max_tokens": 16})
        after = resource.getrusage(resource.RUSAGE_SELF)
        return summary, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    first, first_cpu = job(warm_source)
    summary, cpu = job(source)
    rows = max(1, summary.succeeded + summary.failed)
    return {
        "failed": summary.failed + first.failed,
        "cpu_us_per_row": cpu / rows * 1e6,
        "first_job_cpu_ms": first_cpu * 1e3,
        "first_job_rows": WARM_ROWS,
    }


def worker_litellm(url: str, source: str) -> dict[str, Any]:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network: the bundled model table
    import litellm

    prompts = read_prompts(source)
    answers = litellm.batch_completion(
        model="openai/stub",
        messages=[[{"role": "user", "content": p}] for p in prompts],
        api_base=url,
        api_key="bench",
        max_tokens=16,
    )
    failed = sum(1 for a in answers if isinstance(a, Exception))
    return {"failed": failed}


def worker_ray_http(url: str, source: str, rps: float) -> dict[str, Any]:
    import ray
    from ray.data import llm

    build = getattr(llm, "build_processor", None) or llm.build_llm_processor  # renamed in Ray 2.5x

    prompts = read_prompts(source)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    # Its qps is per actor: the limit split over the 2 actors; retries on (its default is none, and one
    # 429 then fails the whole dataset).
    config = llm.HttpRequestProcessorConfig(
        url=url + "/chat/completions",
        headers={"Authorization": "Bearer bench"},
        qps=int(rps / 2),
        concurrency=2,
        max_retries=5,
    )
    processor = build(
        config,
        preprocess=lambda row: {
            "payload": {"model": "stub", "messages": [{"role": "user", "content": row["prompt"]}], "max_tokens": 16}
        },
        postprocess=lambda row: {"answer": str(row.get("http_response"))[:40]},
    )
    failed = 0
    try:
        done = processor(ray.data.from_items([{"prompt": p} for p in prompts])).take_all()
        failed = len(prompts) - len(done)
    except Exception as exc:  # one failed request fails the whole job
        return {"failed": len(prompts), "error": f"{type(exc).__name__}: ...{str(exc)[-700:]}"}
    finally:
        ray.shutdown()
    return {"failed": failed}


def worker_main(args: argparse.Namespace) -> None:
    name = args.worker
    if name == "semaphore":
        result = worker_semaphore(args.url, args.input, args.rps)
    elif name == "api":
        result = worker_omniinfer_api(args.url, args.input)
    elif name == "litellm":
        result = worker_litellm(args.url, args.input)
    elif name == "ray-http":
        result = worker_ray_http(args.url, args.input, args.rps)
    else:
        raise SystemExit(f"unknown worker {name}")
    print(json.dumps(result))


# -- main ------------------------------------------------------------------------------------------------
def versions(python: Path, modules: list[str]) -> str:
    code = "import importlib.metadata as m, sys\nprint(', '.join(f'{n} {m.version(n)}' for n in sys.argv[1:]))"
    done = subprocess.run([str(python), "-c", code, *modules], capture_output=True, text=True)
    return done.stdout.strip() or done.stderr.strip()[-200:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rps", type=float, default=200)
    parser.add_argument("--rss-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated: bulk,bulk-noheaders,ray,ray-noheaders,semaphore,litellm,ray-http,cpu,rss",
    )
    parser.add_argument("--no-results", action="store_true")
    parser.add_argument(
        "--cpu-python", metavar="PYTHON", help="also measure the bulk CPU figure with this interpreter (its own venv)"
    )
    parser.add_argument("--merge", metavar="JSON", help="start from an earlier run's results.json (figures not rerun)")
    parser.add_argument("--worker")
    parser.add_argument("--url")
    parser.add_argument("--input")
    args = parser.parse_args()
    if args.worker and args.rps == 200 and "--rps" not in sys.argv:
        args.rps = None
    if args.worker:
        worker_main(args)
        return
    only = set(filter(None, args.only.split(",")))
    wanted = lambda name: not only or name in only  # noqa: E731
    results: dict[str, Any] = {"rows": args.rows, "rps": args.rps, "notes": {}}
    earlier_wall = 0.0
    if args.merge:
        results = json.loads(Path(args.merge).read_text())
        earlier_wall = results.get("wall_s", 0.0)
    rows, rps = args.rows, args.rps
    started = time.monotonic()
    if wanted("bulk"):
        results["bulk"] = limited("omniinfer bulk", omniinfer_cli([]), rows, rps)
        print(results["bulk"], flush=True)
    if wanted("bulk-noheaders"):
        name = "omniinfer bulk, server without budget headers"
        results["bulk-noheaders"] = limited(name, omniinfer_cli([]), rows, rps, headers="none")
        print(results["bulk-noheaders"], flush=True)
    if wanted("ray"):
        results["ray"] = limited(
            "omniinfer bulk --ray --workers 2", omniinfer_cli(["--ray", "--workers", "2"]), rows, rps
        )
        print(results["ray"], flush=True)
    if wanted("ray-noheaders"):
        name = "omniinfer bulk --ray --workers 2, server without budget headers"
        results["ray-noheaders"] = limited(name, omniinfer_cli(["--ray", "--workers", "2"]), rows, rps, headers="none")
        print(results["ray-noheaders"], flush=True)
    if wanted("semaphore"):
        results["semaphore"] = limited("asyncio.Semaphore loop", worker_args(OMNIINFER_PY, "semaphore"), rows, rps)
        print(results["semaphore"], flush=True)
    peers = ensure_peers() if (wanted("litellm") or wanted("ray-http")) else None
    for name, label in (("litellm", "LiteLLM batch_completion"), ("ray-http", "Ray Data HttpRequestProcessorConfig")):
        if not wanted(name):
            continue
        if peers is None:
            results["notes"][name] = "not installable here (see the pip error printed by the run)"
            continue
        try:
            results[name] = limited(label, worker_args(peers, name, ["--rps", str(rps)]), rows, rps)
            print(results[name], flush=True)
        except Exception as exc:
            results["notes"][name] = f"{type(exc).__name__}: {str(exc)[-600:]}"
            print(name, results["notes"][name], flush=True)
    if wanted("cpu") or wanted("rss"):
        sys.path.insert(0, str(ROOT / "bench"))
        import stub

        stub.start()
        try:
            url = f"http://127.0.0.1:{stub.PORT}/v1"
            if wanted("cpu"):
                source = rows_file(rows)
                for worker in ("api", "semaphore"):
                    _, _, _, out = run_child(
                        [str(OMNIINFER_PY), __file__, "--worker", worker, "--url", url, "--input", str(source)]
                    )
                    results[f"cpu_{worker}"] = json.loads(out.strip().splitlines()[-1])
                    results[f"cpu_{worker}"]["python"] = interpreter_label(OMNIINFER_PY)
                    print(worker, results[f"cpu_{worker}"], flush=True)
                if args.cpu_python:
                    other = interpreter_venv(args.cpu_python)
                    _, _, _, out = run_child(
                        [str(other), __file__, "--worker", "api", "--url", url, "--input", str(source)]
                    )
                    results["cpu_api_other"] = json.loads(out.strip().splitlines()[-1])
                    results["cpu_api_other"]["python"] = interpreter_label(other)
                    print("api", results["cpu_api_other"], flush=True)
            if wanted("rss"):
                source = parquet_file(args.rss_rows)
                out_path = WORK / "out-rss.jsonl"
                out_path.unlink(missing_ok=True)
                wall, cpu, rss, _ = run_child(omniinfer_cli([])(url, source, out_path))
                lines = sum(1 for _ in out_path.open("rb"))
                results["rss"] = {
                    "rows": args.rss_rows,
                    "written": lines,
                    "peak_rss_mb": rss,
                    "wall_s": wall,
                    "cpu_s": cpu,
                }
                out_path.unlink(missing_ok=True)
                print(results["rss"], flush=True)
        finally:
            stub.stop()
    results["wall_s"] = earlier_wall + time.monotonic() - started
    earlier_peers = results.get("versions", {}).get("peers", "")  # (a merged run's, when no peer ran now)
    results["versions"] = {
        "omniinfer": versions(OMNIINFER_PY, ["omniinfer", "ray", "pyarrow"]),
        "peers": versions(peers, ["litellm", "ray"]) if peers else earlier_peers,
    }
    (WORK / f"results-{int(time.time())}.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    if not args.no_results:
        write_results(results)


def _cell(value: float | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def write_results(results: dict[str, Any]) -> None:
    command = f"Command: `python3 bench/bulk.py` ({results['wall_s']:.0f} s wall in all); "
    command += f"{results['rows']:,} chat rows against the limited server at {results['rps']:.0f} requests/s."
    lines = [MARK_START, "", command, ""]
    header = "| client | achieved / allowed rate | 429s / requests | rows answered | requests | wall s | client CPU s |"
    lines += [header, "|---|---|---|---|---|---|---|"]
    for key in ("bulk", "bulk-noheaders", "ray", "ray-noheaders", "semaphore", "litellm", "ray-http"):
        row = results.get(key)
        if row is None:
            note = results["notes"].get(key)
            if note:
                lines.append(f"| {key} | not run: {note.splitlines()[0][:200]} | | | | | |")
            continue
        failed = row.get("worker", {}).get("error")
        lines.append(
            f"| {row['client']} | {row['achieved']:.3f} | {row['429_ratio']:.2%} ({row['429s']:,}) | "
            f"{row['answered']:,}/{row['rows']:,} | {row['requests']:,} | {row['wall_s']:.0f} | {row['cpu_s']:.1f} |"
            + (f" <!-- {failed} -->" if failed else "")
        )
    bulk, ray_row = results.get("bulk"), results.get("ray")
    api, sem, rss = results.get("cpu_api"), results.get("cpu_semaphore"), results.get("rss")
    lines += ["", "| figure | measured | target |", "|---|---|---|"]
    if bulk:
        lines.append(f"| achieved rate / allowed rate (one process) | {bulk['achieved']:.3f} | ≥ 0.95 |")
        lines.append(f"| 429s received / requests sent (one process) | {bulk['429_ratio']:.2%} | ≤ 2% |")
    if ray_row:
        lines.append(f"| same, 2 Ray workers sharing the limit | {ray_row['achieved']:.3f} achieved, "
                     f"{ray_row['429_ratio']:.2%} 429s | ≥ 0.90, ≤ 2% |")  # fmt: skip
    if api:
        extra = f" (plain semaphore loop: {sem['cpu_us_per_row']:.0f} µs)" if sem else ""
        if "first_job_cpu_ms" in api:
            extra += f"; a first job of {api['first_job_rows']} rows: {api['first_job_cpu_ms']:.0f} ms"
        if "python" in api:
            extra += f"; Python {api['python']}"
        other = results.get("cpu_api_other")
        if other:
            extra += f"; with {other['python']}: {other['cpu_us_per_row']:.0f} µs"
        lines.append(
            f"| client CPU per row (one process, no limit) | {api['cpu_us_per_row']:.0f} µs{extra} | ≤ 150 µs |"
        )
    if rss:
        measured = f"{rss['peak_rss_mb']:.0f} MB ({rss['written']:,} rows written in {rss['wall_s']:.0f} s)"
        lines.append(
            f"| peak RSS, {rss['rows']:,} rows streamed from Parquet (no limit, nginx stub) | {measured} | ≤ 300 MB |"
        )
    for key, note in results["notes"].items():
        lines.append(f"\n{key}: {note}")
    lines += [
        "",
        f"Versions: {results['versions']['omniinfer']}; peers venv: {results['versions']['peers']}.",
        "",
        MARK_END,
    ]
    block = "\n".join(lines)
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text(encoding="utf-8")
    if MARK_START in text:
        head, _, rest = text.partition(MARK_START)
        _, _, tail = rest.partition(MARK_END)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n## Bulk jobs (bench/bulk.py)\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
