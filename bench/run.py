#!/usr/bin/env python3
"""omniinfer against huggingface_hub and openai, on a local nginx stub, in client CPU time. One command:

    python3 bench/run.py                     # from the repository root; writes bench/RESULTS.md

It installs nginx (apt-get) if missing, makes one venv per client under /tmp/omniinfer-bench/venvs
(omniinfer editable from this checkout; huggingface_hub and openai latest from PyPI), starts the stub
pinned to CPU 1, runs every figure for every client pinned to CPU 0, stops the stub, prints the table
and rewrites the generated part of bench/RESULTS.md. Standard library only; see bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# run as a script: this file's folder is on sys.path
import stub
from worker import CLIENTS, SCENARIOS

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = Path(os.environ.get("OMNIINFER_BENCH_DIR", "/tmp/omniinfer-bench"))
RESULTS_MD = BENCH / "RESULTS.md"
BEGIN, END = "<!-- bench/run.py results: begin -->", "<!-- bench/run.py results: end -->"

# what each client's venv holds; unpinned = latest on PyPI when the venv is made (--upgrade re-resolves)
REQUIREMENTS = {"omniinfer": ["-e", str(REPO)], "huggingface_hub": ["huggingface_hub"], "openai": ["openai"]}
# (figure, scenario, field, target, unit, digits)
FIGURES = [
    ("`import` (CPU ms, interpreter start subtracted)", "import", "import_ms", 40.0, "ms", 0),
    ("sequential non-stream chat call (CPU µs/call)", "seq", "cpu_us", 100.0, "µs", 0),
    ("async, 256 in flight (CPU µs/call)", "async256", "cpu_us", 100.0, "µs", 0),
    (
        "streaming, per chunk, parsed into the typed chunk (CPU µs/chunk)",
        "stream",
        "cpu_us_per_chunk",
        5.0,
        "µs",
        2,
    ),
    (
        "async streaming, per chunk, parsed into the typed chunk (CPU µs/chunk; the stream target)",
        "astream",
        "cpu_us_per_chunk",
        5.0,
        "µs",
        2,
    ),
]
CONN_SCENARIOS = ("seq", "async256", "stream", "astream")
IMPORT_SAMPLES, IMPORT_BUDGET_S = 15, 30.0
WORKER_TIMEOUT_S = 120


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def child_env() -> dict[str, str]:
    """Environment of every client process. PYTHONDONTWRITEBYTECODE (set on this machine) is dropped:
    with it, every cold import would compile from source, which no installed package does."""
    env = {
        **os.environ,
        "NO_PROXY": "127.0.0.1,localhost",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "PYTHONWARNINGS": "ignore",
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


# --------------------------------------------------------------------------- venvs
def pyproject_hash() -> str:
    return hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()[:16]


def ensure_venv(client: str, upgrade: bool, overrides: dict[str, str]) -> Path:
    if client in overrides:
        return Path(overrides[client])
    venv = WORK / "venvs" / client
    python = venv / "bin" / "python"
    stamp = venv / ".bench-stamp"
    want = pyproject_hash() if client == "omniinfer" else "latest"
    if python.exists() and not upgrade and stamp.exists() and stamp.read_text() == want:
        return python
    say(f"[setup] venv {venv}: pip install {' '.join(REQUIREMENTS[client])}")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-U", *REQUIREMENTS[client]],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    # the .pyc files a user's install has (pip writes them; this machine's PYTHONDONTWRITEBYTECODE may not)
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    subprocess.run(
        [str(python), "-m", "compileall", "-q", "-j0", purelib],
        check=False,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stamp.write_text(want)
    return python


# --------------------------------------------------------------------------- noise: CPU other processes used
def busy_jiffies() -> int:
    user, nice, system, _idle, _iowait, _irq, _softirq, steal = (
        int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return user + nice + system + steal


def pid_jiffies(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


class Noise:
    """Cores' worth of CPU used by everything but the client under test and the stub, while it ran."""

    def __init__(self) -> None:
        self.pids = stub.worker_pids()
        self.t0, self.busy0 = time.perf_counter(), busy_jiffies()
        self.stub0 = sum(pid_jiffies(p) for p in self.pids)
        self.own0 = children_cpu() + own_cpu()

    def cores(self) -> float:
        hz = os.sysconf("SC_CLK_TCK")
        wall = time.perf_counter() - self.t0
        busy = (busy_jiffies() - self.busy0) / hz
        stub_cpu = (sum(pid_jiffies(p) for p in self.pids) - self.stub0) / hz
        own = children_cpu() + own_cpu() - self.own0
        return max(0.0, (busy - stub_cpu - own) / wall) if wall > 0 else 0.0


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# --------------------------------------------------------------------------- measuring
def pinned(cpu: int | None) -> Any:
    return None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu}))


def time_import(python: Path, stmt: str, cpu: int | None) -> dict[str, Any]:
    """CPU (user + system) of a cold `python -c STMT` minus a cold `python -c pass`, medians, interleaved."""
    env = child_env()

    def once(code: str) -> float:
        before = children_cpu()
        subprocess.run(
            [str(python), "-c", code],
            check=True,
            env=env,
            cwd=WORK,
            preexec_fn=pinned(cpu),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=60,
        )
        return children_cpu() - before

    once(stmt)  # writes any missing .pyc once, as the first run of a user's program does
    with_import: list[float] = []
    bare: list[float] = []
    deadline = time.perf_counter() + IMPORT_BUDGET_S
    while len(with_import) < IMPORT_SAMPLES and (len(with_import) < 3 or time.perf_counter() < deadline):
        with_import.append(once(stmt))
        bare.append(once("pass"))
    return {
        "status": "ok",
        "import_ms": (statistics.median(with_import) - statistics.median(bare)) * 1e3,
        "interpreter_ms": statistics.median(bare) * 1e3,
        "n": len(with_import),
        "stmt": stmt,
    }


def run_worker(python: Path, client: str, scenario: str, port: int, cpu: int | None, log: Path) -> dict[str, Any]:
    cmd = [
        str(python),
        str(BENCH / "worker.py"),
        "--client",
        client,
        "--scenario",
        scenario,
        "--port",
        str(port),
    ]
    try:
        done = subprocess.run(
            cmd,
            check=False,
            capture_output=True,
            text=True,
            env=child_env(),
            cwd=WORK,
            preexec_fn=pinned(cpu),
            timeout=WORKER_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as e:  # subprocess.run has killed the worker it started
        log.write_text(str(e.stderr or ""))
        return {"status": "error", "why": f"worker timed out after {WORKER_TIMEOUT_S} s"}
    log.write_text(done.stderr)
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        tail = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        return {"status": "error", "why": tail[0][:300]}


def merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median of each figure over the repeats, connections and requests summed; any failure wins."""
    bad = [r for r in runs if r.get("status") != "ok"]
    if bad:
        return bad[0]
    merged: dict[str, Any] = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, float):
            merged[key] = statistics.median(r[key] for r in runs)
            merged[key + "_all"] = [round(r[key], 3) for r in runs]
    for key in ("conns", "requests"):
        if key in merged:
            merged[key] = sum(r[key] for r in runs)
    merged["repeats"] = len(runs)
    return merged


# --------------------------------------------------------------------------- report
def fmt(value: float, unit: str, digits: int) -> str:
    return f"{value:,.{digits}f} {unit}"


def verdict(value: float | None, target: float, unit: str, digits: int) -> str:
    if value is None:
        return "not measured"
    if value <= target:
        return "**meets**"
    if round(value - target, digits) == 0:
        return f"**misses** by less than {fmt(10**-digits, unit, digits)} (shown rounded to the target)"
    return f"**misses**: {value / target:.1f}× the target (+{fmt(value - target, unit, digits)})"


def conn_figure(result: dict[str, dict[str, Any]]) -> tuple[float, list[str], int, int] | None:
    """The worst rate of new connections per request over the connection scenarios that ran (the scenarios
    that reach it), and the totals; None if one of them failed."""
    got = {s: result[s] for s in CONN_SCENARIOS if s in result}
    if not got or not all(r.get("status") == "ok" for r in got.values()):
        return None
    rates = {s: r["conns"] / max(r["requests"], 1) for s, r in got.items()}
    worst = max(rates.values())
    at = [s for s, rate in rates.items() if rate == worst and worst > 0]
    conns, reqs = sum(r["conns"] for r in got.values()), sum(r["requests"] for r in got.values())
    return worst, at, conns, reqs


def conn_cell(got: tuple[float, list[str], int, int]) -> str:
    worst, at, conns, reqs = got
    where = f" ({', '.join(at)})" if at else ""
    return f"{worst:.2f}{where}; all: {conns:,}/{reqs:,}"


def report(
    results: dict[str, dict[str, dict[str, Any]]],
    clients: list[str],
    versions: dict[str, dict[str, str]],
    meta: dict[str, Any],
) -> str:
    peers = [c for c in clients if c != "omniinfer"]

    def label(c: str) -> str:
        v = versions.get(c, {}).get(c)
        return f"{c} {v}" if v else c

    def value(c: str, scenario: str, field: str) -> float | None:
        r = results.get(c, {}).get(scenario, {})
        return r.get(field) if r.get("status") == "ok" else None

    def shown(c: str, scenario: str, field: str, unit: str, digits: int) -> str:
        r = results.get(c, {}).get(scenario)
        if r is None:
            return "-"
        if r.get("status") != "ok":
            return "ERR"
        return fmt(r[field], unit, digits) if field in r else "-"

    head = ["figure", *(label(c) for c in clients), "best peer", "target", "omniinfer vs target"]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for title, scenario, field, target, unit, digits in FIGURES:
        peer_values = [v for c in peers if (v := value(c, scenario, field)) is not None]
        best = fmt(min(peer_values), unit, digits) if peer_values else "-"
        mine = value("omniinfer", scenario, field) if "omniinfer" in clients else None
        row = [
            title,
            *(shown(c, scenario, field, unit, digits) for c in clients),
            best,
            f"≤ {fmt(target, unit, digits)}",
            verdict(mine, target, unit, digits),
        ]
        lines.append("| " + " | ".join(row) + " |")
    cells, peer_rates = [], []
    for c in clients:
        got = conn_figure(results.get(c, {}))
        ran = any(s in results.get(c, {}) for s in CONN_SCENARIOS)
        cells.append("-" if not ran else "ERR" if got is None else conn_cell(got))
        if got is not None and c != "omniinfer":
            peer_rates.append(got[0])
    mine_conn = conn_figure(results.get("omniinfer", {})) if "omniinfer" in clients else None
    conn_verdict = (
        "not measured"
        if mine_conn is None
        else "**meets**"
        if mine_conn[2] == 0
        else f"**misses**: {mine_conn[2]:,} new connections"
    )
    best_conn = f"{min(peer_rates):.2f}" if peer_rates else "-"
    lines.append(
        "| new TCP connections per request in steady state, streams included "
        "(worst scenario; all: new/requests) | " + " | ".join(cells) + f" | {best_conn} | 0 | {conn_verdict} |"
    )

    detail_head = [
        "client",
        "bare `import <client>` CPU ms",
        *(f"{s} new conns/requests" for s in CONN_SCENARIOS),
        "seq wall µs/call",
        "async256 wall µs/call",
        "stream wall µs/chunk",
        "astream wall µs/chunk",
    ]
    detail = ["| " + " | ".join(detail_head) + " |", "|---" * len(detail_head) + "|"]
    for c in clients:
        res = results.get(c, {})
        row = [label(c), shown(c, "import", "bare_import_ms", "", 0)]
        for s in CONN_SCENARIOS:
            r = res.get(s)
            row.append("-" if r is None else f"{r['conns']:,}/{r['requests']:,}" if r.get("status") == "ok" else "ERR")
        row += [
            shown(c, "seq", "wall_us", "", 0),
            shown(c, "async256", "wall_us", "", 0),
            shown(c, "stream", "wall_us_per_chunk", "", 2),
            shown(c, "astream", "wall_us_per_chunk", "", 2),
        ]
        detail.append("| " + " | ".join(x.strip() for x in row) + " |")

    errors = [f"- {c} / {s}: {r['why']}" for c in results for s, r in results[c].items() if r.get("status") != "ok"]
    spread = []
    for c in clients:
        for _, scenario, field, *_ in FIGURES[1:]:
            all_ = results.get(c, {}).get(scenario, {}).get(field + "_all")
            if all_:
                spread.append(f"{c} {scenario} {'/'.join(f'{x:g}' for x in all_)}")
    out = [
        f"Measured {meta['date']} on {meta['machine']}.",
        "",
        f"Command: `{meta['command']}` (from the repository root; {meta['wall_s']:.0f} s wall). "
        f"omniinfer measured at {meta['checkout']}.",
        "",
        *lines,
        "",
        "All CPU figures are the client process's own user + system time (`resource.getrusage`), the import "
        f"figure the median of {meta['import_samples']} cold interpreters each, the others the median of "
        f"{meta['repeat']} worker processes each; connections are summed over the repeats. "
        "Import lines timed: " + "; ".join(f"`{CLIENTS[c][1]}`" for c in clients) + ".",
        "",
        "Details (bare module import, connections per timed phase, wall time):",
        "",
        *detail,
        "",
        f"Spread over the {meta['repeat']} repeats (CPU figures): " + "; ".join(spread) + ".",
        "",
        f"Load average before: {meta['load_before']:.2f}. "
        "CPU used by other processes during the measurements: "
        f"median {meta['noise_median']:.2f} cores, max {meta['noise_max']:.2f} cores"
        + ("; clients pinned to CPU 0, the stub's nginx worker to CPU 1." if meta["pinned"] else "."),
        "",
        "Versions: "
        + "; ".join(f"{c}: " + ", ".join(f"{k} {v}" for k, v in versions.get(c, {}).items()) for c in clients)
        + ".",
        *(["", "Errors:", *errors] if errors else []),
    ]
    return "\n".join(out)


def write_results(path: Path, block: str) -> None:
    """Replace the generated block of RESULTS.md, keeping what was written around it by hand."""
    generated = f"{BEGIN}\n{block}\n{END}"
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        text = before + generated + rest.split(END, 1)[1]
    else:
        text = "# Benchmark results\n\n" + generated + "\n"
    path.write_text(text)


def checkout() -> str:
    """The omniinfer revision measured: src/ may hold uncommitted work, so say so."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(REPO), *args], check=False, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "src", "pyproject.toml")
    return f"commit {head}" + (" with uncommitted changes in src/" if dirty else "")


def machine() -> str:
    model = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    nginx = subprocess.run([stub.nginx_binary(), "-v"], check=False, capture_output=True, text=True).stderr
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores ({model}), {mem:.0f} GiB, Linux {platform.release()}, "
        f"Python {platform.python_version()}, {nginx.strip().split(': ')[-1]}"
    )


# --------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", default=",".join(CLIENTS), help="comma list (default: %(default)s)")
    ap.add_argument("--scenarios", default="import," + ",".join(SCENARIOS), help="comma list (default: %(default)s)")
    ap.add_argument("--repeat", type=int, default=3, help="worker processes per figure; the median is kept")
    ap.add_argument("--port", type=int, default=stub.PORT)
    ap.add_argument("--upgrade", action="store_true", help="re-resolve the latest huggingface_hub and openai")
    ap.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="CLIENT=PATH",
        help="use this interpreter for a client, e.g. omniinfer=.venv/bin/python",
    )
    ap.add_argument("--results", type=Path, default=RESULTS_MD, help="markdown file whose generated block is rewritten")
    ap.add_argument("--no-results", action="store_true", help="print only; leave RESULTS.md alone")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="also profile omniinfer (bench/profile_omniinfer.py) on the stub",
    )
    ap.add_argument("--no-pin", action="store_true", help="do not pin clients to CPU 0 and nginx to CPU 1")
    a = ap.parse_args()
    clients = a.clients.split(",")
    scenarios = a.scenarios.split(",")
    for c in clients:
        if c not in CLIENTS:
            sys.exit(f"unknown client {c!r}; choose from {list(CLIENTS)}")
    for s in scenarios:
        if s != "import" and s not in SCENARIOS:
            sys.exit(f"unknown scenario {s!r}; choose from {['import', *SCENARIOS]}")
    overrides = dict(item.split("=", 1) for item in a.python)
    pin = not a.no_pin and (os.cpu_count() or 1) >= 2
    client_cpu, stub_cpu = (0, 1) if pin else (None, None)
    started = time.perf_counter()
    date = dt.datetime.now(dt.timezone.utc)
    stamp = date.strftime("%Y%m%dT%H%M%SZ")
    logs = WORK / "results" / stamp
    logs.mkdir(parents=True, exist_ok=True)

    source = checkout()
    pythons = {c: ensure_venv(c, a.upgrade, overrides) for c in clients}
    versions = {}
    for c in clients:
        out = subprocess.run(
            [str(pythons[c]), str(BENCH / "worker.py"), "--client", c, "--versions"],
            check=True,
            capture_output=True,
            text=True,
            env=child_env(),
            cwd=WORK,
        )
        versions[c] = json.loads(out.stdout)
    say(f"[setup] versions: {versions}")

    we_started = stub.start(a.port, stub_cpu)
    if not we_started:
        say(f"[stub] something already answers on 127.0.0.1:{a.port}; using it")
    load_before = os.getloadavg()[0]
    results: dict[str, dict[str, dict[str, Any]]] = {c: {} for c in clients}
    noise: list[float] = []
    try:
        for scenario in scenarios:  # scenario-major, clients interleaved within each repeat
            runs: dict[str, list[dict[str, Any]]] = {c: [] for c in clients}
            for i in range(1 if scenario == "import" else a.repeat):
                for c in clients:
                    meter = Noise()
                    if scenario == "import":
                        r = time_import(pythons[c], CLIENTS[c][1], client_cpu)
                        r["bare_import_ms"] = time_import(pythons[c], f"import {c}", client_cpu)["import_ms"]
                    else:
                        r = run_worker(pythons[c], c, scenario, a.port, client_cpu, logs / f"{c}.{scenario}.{i}.log")
                    noise.append(meter.cores())
                    runs[c].append(r)
                    brief = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in r.items() if k != "stmt"}
                    say(f"[{time.perf_counter() - started:4.0f}s] {scenario:<8} {c:<16} {brief}")
            for c in clients:
                results[c][scenario] = merge(runs[c])
        if a.profile and "omniinfer" in pythons:
            prof = subprocess.run(
                [str(pythons["omniinfer"]), str(BENCH / "profile_omniinfer.py"), "--port", str(a.port)],
                check=False,
                capture_output=True,
                text=True,
                env=child_env(),
                cwd=WORK,
                preexec_fn=pinned(client_cpu),
                timeout=300,
            )
            (logs / "profile.txt").write_text(prof.stdout + prof.stderr)
            print(prof.stdout)
    finally:
        if we_started:
            stub.stop()

    cmd = "python3 bench/run.py" + "".join(" " + shlex.quote(x) for x in sys.argv[1:])
    meta = {
        "date": date.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "command": cmd,
        "checkout": source,
        "wall_s": time.perf_counter() - started,
        "repeat": a.repeat,
        "import_samples": IMPORT_SAMPLES,
        "load_before": load_before,
        "noise_median": statistics.median(noise or [0.0]),
        "noise_max": max(noise or [0.0]),
        "pinned": pin,
    }
    block = report(results, clients, versions, meta)
    print(block)
    (logs / "results.json").write_text(json.dumps({"meta": meta, "versions": versions, "results": results}, indent=1))
    if not a.no_results:
        write_results(a.results, block)
        say(f"wrote {a.results}")
    say(f"JSON and worker logs: {logs}")


if __name__ == "__main__":
    main()
