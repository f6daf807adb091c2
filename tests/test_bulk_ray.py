"""Bulk jobs on a real local Ray cluster (2 CPUs), against the rate-limited loopback server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from limited_server import Counts, LimitedServer, Limits

ray = pytest.importorskip("ray")
# Ray warns about its own deprecated settings when its modules load: not ours to fix.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::ResourceWarning"),
    # Starting actors (a Python process each, importing Ray) is most of these tests' time, and it
    # stretches on a busy machine: ~20 s on 2 quiet cores, 100 s seen under a load of 15.
    pytest.mark.timeout(300),
]


OMNIINFER = [sys.executable, "-m", "omniinfer"]
RAY_CORE_NOTICE = "has constructor arguments in the object store and max_restarts > 0"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A local cluster for this module, shut down even when a test fails."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="omniinfer")
    try:
        yield ray
    finally:
        ray.shutdown()


def test_two_workers_share_one_limit_and_complete(cluster: Any, tmp_path: Path) -> None:
    from omniinfer.bulk.ray import run_on_ray

    source = tmp_path / "in.jsonl"
    lines = [json.dumps({"prompt": f"row {i}"}) for i in range(160)]
    lines[7] = "{a broken line"  # recorded as failed; the other rows go on
    source.write_text("\n".join(lines) + "\n")
    with LimitedServer(Limits(rps=40, fault_rate=0.05)) as server:
        out = tmp_path / "out.jsonl"
        # A client cap slightly under the server's 40/s: shared by both actors, it keeps the aggregate under.
        summary = run_on_ray("chat", source, output=out, base_url=server.url, workers=2, rpm=38 * 60, quiet=True)
        counts = server.counts
    records = {r["id"]: r for r in (json.loads(line) for line in out.read_text().splitlines())}
    assert sorted(records) == list(range(160))  # every row, once
    assert records[7]["error_type"] == "ValueError" and "line 8 is not JSON" in records[7]["error"]
    assert summary.succeeded == 159 and summary.failed == 1 and summary.exit_code == 1
    assert counts.duplicates() == {} and counts.accepted == 159
    assert counts.faults > 0  # faults happened and were retried inside the actors
    assert counts.rate_limited <= 0.02 * counts.requests  # in aggregate, under the limit
    answered = {r["text"] for r in records.values() if r["error"] is None}
    assert answered == {f"answer to row {i}" for i in range(160) if i != 7}


@pytest.mark.parametrize(
    ("limits", "rows", "most_429s"),
    [
        # The server tells what is left, never when it comes back (Fireworks' headers), 20 requests per
        # 2-s window. Leases of 16 requests each went at the guessed reset: 22 429s in 142 requests.
        # (Faults: a request that finds out and fails without a budget lets the next one find out.)
        (Limits(rps=20, request_window_s=2.0, headers="fireworks", retry_after="seconds", fault_rate=0.05), 100, 3),
        # The server tells no budget at all, only 429s: 28-29 of them for 300 rows at 50 a second
        # before the actors' limiter learned the rate from them, 4-6 since (the first window's).
        (Limits(rps=50, headers="none", retry_after="seconds", fault_rate=0.05), 300, 15),
        # The same limit as a bucket refilled continuously, Retry-After to the millisecond: the
        # workers count the answers accepted and tell the actor with their leases and 429s.
        (
            Limits(rps=50, headers="none", retry_after="ms", fault_rate=0.05, request_limiter="bucket"),
            300,
            30,
        ),
    ],
    ids=["budget-without-reset", "no-budget-headers", "no-budget-headers-bucket-ms"],
)
def test_workers_sharing_a_limit_find_out_the_servers_budget(
    cluster: Any, tmp_path: Path, limits: Limits, rows: int, most_429s: int
) -> None:
    from omniinfer.bulk.ray import run_on_ray

    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"prompt": f"row {i}"}) + "\n" for i in range(rows)))
    with LimitedServer(limits) as server:
        out = tmp_path / "out.jsonl"
        summary = run_on_ray(
            "chat", source, output=out, base_url=server.url, workers=2, quiet=True, params={"max_tokens": 8}
        )
        counts = server.counts
    assert summary.succeeded == rows and counts.duplicates() == {}
    assert counts.rate_limited <= most_429s, f"{counts.rate_limited} 429s of {counts.requests} requests"


def test_a_row_that_kills_its_worker_is_recorded_and_the_others_answered(
    cluster: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from omniinfer.bulk.ray import run_on_ray

    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"prompt": f"row {i}"}) + "\n" for i in range(60)))
    out = tmp_path / "out.jsonl"
    # The server SIGKILLs the process that sends "row 13" (as the OOM killer would): Ray Data's default
    # retries such a batch forever, paying for its other rows each time.
    with LimitedServer(Limits(rps=100, kill_senders=("row 13",))) as server:
        summary = run_on_ray("chat", source, output=out, base_url=server.url, workers=2, quiet=True)
        counts = server.counts
    records = {r["id"]: r for r in (json.loads(line) for line in out.read_text().splitlines())}
    assert sorted(records) == list(range(60))  # every row, once
    assert records[13]["error_type"] == "WorkerDied" and "--resume sends it again" in records[13]["error"]
    wrong = {i: r["error"] for i, r in records.items() if i != 13 and r["text"] != f"answer to row {i}"}
    assert wrong == {}
    assert summary.succeeded == 59 and summary.failed == 1 and summary.exit_code == 1
    assert counts.killed == 3  # in its batch of 30, in one of 16, then alone: never again
    assert max(counts.answered.values()) <= 3  # the lost batches' other rows were paid for 3 times at most
    assert "omniinfer" not in capsys.readouterr().err  # quiet: the lost batch told only by its row's record


def test_a_job_whose_rows_all_fail_the_same_way_stops_on_ray_too(cluster: Any, tmp_path: Path) -> None:
    import socket

    from omniinfer.bulk.ray import run_on_ray
    from omniinfer.bulk.stopping import SAME_FAILURES_TO_STOP, JobStopped

    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"prompt": f"row {i}"}) + "\n" for i in range(400)))
    out = tmp_path / "out.jsonl"
    before = _named_actors(cluster)
    with socket.socket() as closed:  # bound, never listening: every connection is refused
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}/v1"
        with pytest.raises(JobStopped) as stopped:
            run_on_ray("chat", source, output=out, base_url=dead, workers=2, max_retries=0, quiet=True)
    assert stopped.value.error_type == "InferenceConnectionError"
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == SAME_FAILURES_TO_STOP  # the driver stopped at the streak, mid-batch
    # Its limiter actor went with it (ray.kill returns before the name is released: wait a little).
    deadline = time.monotonic() + 15
    while (left := {n for namespace, n in _named_actors(cluster) - before if namespace == "omniinfer"}) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.2)
    assert left == set()


def test_a_repeated_id_is_refused_on_ray_too(cluster: Any, tmp_path: Path) -> None:
    from omniinfer.bulk import BulkUsageError
    from omniinfer.bulk.ray import run_on_ray

    rows = [{"key": f"k{i}", "prompt": f"row {i}"} for i in range(30)]
    rows[20]["key"] = "k3"
    with LimitedServer(Limits()) as server:
        with pytest.raises(BulkUsageError, match="the id 'k3' of row 20 is used by an earlier row"):
            run_on_ray("chat", rows, output=tmp_path / "out.jsonl", base_url=server.url, id_column="key", quiet=True)
        # The driver numbers rows into windows before a window is sent: this one never was.
        assert server.counts.requests == 0


def test_mapper_in_a_users_own_pipeline(cluster: Any) -> None:
    from omniinfer.bulk import BulkOptions
    from omniinfer.bulk.ray import Mapper, limiter_name

    with LimitedServer(Limits(rps=100)) as server:
        dataset = cluster.data.from_items([{"key": f"k{i}", "text": f"text {i}"} for i in range(40)])
        answered = dataset.map_batches(
            Mapper,
            fn_constructor_kwargs={"task": "text-classification", "model": server.url, "id_column": "key", "rpm": 6000},
            compute=cluster.data.ActorPoolStrategy(size=2),
            batch_size=10,
            num_cpus=0.5,
        ).take_all()
        # The Mappers shared one limiter, a detached actor that outlived them.
        name = limiter_name(BulkOptions(model=server.url, rpm=6000))
        stats = cluster.get(cluster.get_actor(name, namespace="omniinfer").stats.remote())
    assert stats["leases"] >= 1
    assert sorted(r["id"] for r in answered) == sorted(json.dumps(f"k{i}") for i in range(40))
    assert all(r["error"] is None for r in answered)
    assert json.loads(answered[0]["result"])[0]["label"] == "POSITIVE"


def test_ray_data_arguments_and_notices() -> None:
    import logging
    from types import SimpleNamespace

    from ray.data._internal import progress as ray_data_progress

    from omniinfer.bulk.ray import RAY_DATA_PROGRESS_LOGGER, _actor_pool, _quiet_ray_data

    # The actor pool in the form the installed Ray does not warn about (it changed in 2.51).
    assert _actor_pool(SimpleNamespace(__version__="2.50.1", data=ray.data), 3) == {"concurrency": 3}
    pool = _actor_pool(SimpleNamespace(__version__="2.51.0", data=ray.data), 3)["compute"]
    assert isinstance(pool, ray.data.ActorPoolStrategy) and pool.min_size == pool.max_size == 3
    # Ray Data's warnings show, but not its notice that the bars we turned off are off; --quiet: errors only.
    assert ray_data_progress.logger.name == RAY_DATA_PROGRESS_LOGGER  # where the installed Ray makes it
    notice = "Progress bars disabled. To enable, set `ray.data.DataContext.get_current().enable_progress_bars = True`."
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    collect = Collect()
    logging.getLogger("ray.data").addHandler(collect)
    try:
        _quiet_ray_data(ray, quiet=False)
        ray_data_progress.logger.warning(notice)
        ray_data_progress.logger.warning("a warning of Ray Data")
        _quiet_ray_data(ray, quiet=True)
        ray_data_progress.logger.warning("another warning of Ray Data")
        ray_data_progress.logger.error("an error of Ray Data")
    finally:
        logging.getLogger("ray.data").removeHandler(collect)
        _quiet_ray_data(ray, quiet=False)
    assert seen == ["a warning of Ray Data", "an error of Ray Data"]


def test_cli_ray_usage_errors_before_the_cluster(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"prompt": "x"}\n')
    base = [
        sys.executable,
        "-m",
        "omniinfer",
        "bulk",
        "chat",
        "--input",
        str(source),
        "--output",
        str(tmp_path / "o.jsonl"),
    ]
    missing = subprocess.run([*base, "--ray", "--column", "nope"], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "'nope'" in missing.stderr
    workers = subprocess.run([*base, "--workers", "2"], capture_output=True, text=True, timeout=60)
    assert workers.returncode == 2 and "--workers needs --ray" in workers.stderr
    # An address nothing listens at: said at once (ray.init would retry for minutes, warning as it goes).
    import socket

    with socket.socket() as bound:  # bound, never listening: connections to it are refused
        bound.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{bound.getsockname()[1]}"
        nobody = subprocess.run([*base, "--ray", address], capture_output=True, text=True, timeout=60)
    assert nobody.returncode == 2 and f"--ray {address}: no Ray cluster answers there" in nobody.stderr
    assert not (tmp_path / "o.jsonl").exists()  # refused before the output was made


def _run_cli_on_ray(
    tmp_path: Path, ray_args: list[str], env: dict[str, str], rows: int = 120
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]], Counts, int]:
    """`python -m omniinfer bulk chat ... RAY_ARGS --workers 2 --quiet` against a 40/s server: the
    run, its output records, what the server received, and the CLI's process group (its own session)."""
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"prompt": f"row {i}"}) + "\n" for i in range(rows)))
    out = tmp_path / "out.jsonl"
    with LimitedServer(Limits(rps=40, fault_rate=0.05)) as server:
        args = [*OMNIINFER, "bulk", "chat", "--input", str(source), "--output", str(out), "--base-url", server.url]
        args += [*ray_args, "--workers", "2", "--rpm", str(38 * 60), "--param", "max_tokens=4", "--quiet"]
        # A session of its own: the Ray processes it starts are in its process group, killed on a timeout.
        process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
        )
        try:
            stdout, stderr = process.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            pytest.fail(f"the CLI on Ray did not finish in 180 s: {stderr[-2000:]}")
        counts = server.counts
    done = subprocess.CompletedProcess(args, process.returncode, stdout, stderr)
    records = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return done, records, counts, process.pid


def _assert_one_answer_per_row_under_the_limit(
    done: subprocess.CompletedProcess[str], records: list[dict[str, Any]], counts: Counts, rows: int = 120
) -> None:
    assert done.returncode == 0, done.stderr[-3000:]
    # --quiet: no progress, no summary, no Ray Data notices; only Ray core's own line about every Ray
    # Data actor pool (ray-project/ray#53727), printed by its C++ core worker, remains.
    assert [line for line in done.stderr.splitlines() if RAY_CORE_NOTICE not in line] == []
    assert sorted(r["id"] for r in records) == list(range(rows))  # every row exactly once, with its id
    assert all(r["error"] is None and r["text"] == f"answer to row {r['id']}" for r in records)
    assert all(r["input_tokens"] == 2 and r["output_tokens"] == 4 for r in records)
    assert counts.duplicates() == {} and counts.accepted == rows  # no row paid for twice
    assert counts.faults > 0  # 5% faults, retried inside the actors
    assert sum(r["attempts"] for r in records) == counts.requests  # every request the server saw, counted
    # Both actors shared one cap of 38/s: in aggregate under the server's 40/s, so (almost) no 429s.
    assert counts.rate_limited <= 0.02 * counts.requests
    span = counts.accepted_at[-1] - counts.accepted_at[0]
    assert (counts.accepted - 1) / span <= 40


def _ray_free_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}


def test_cli_ray_address_joins_a_running_cluster(cluster: Any, tmp_path: Path) -> None:
    address = cluster.get_runtime_context().gcs_address
    before = _named_actors(cluster)
    done, records, counts, _ = _run_cli_on_ray(tmp_path, ["--ray", address], _ray_free_env())
    _assert_one_answer_per_row_under_the_limit(done, records, counts)
    assert cluster.get(cluster.put(1)) == 1  # the job left the cluster it joined running...
    assert _named_actors(cluster) - before == set()  # ...and its limiter actor did not outlive it


def _named_actors(cluster: Any) -> set[tuple[str, str]]:
    return {(a["namespace"], a["name"]) for a in cluster.util.list_named_actors(all_namespaces=True)}


def test_cli_ray_without_an_address_starts_and_stops_a_local_cluster(tmp_path: Path) -> None:
    # Its own Ray temp dir (short: Ray's socket paths must fit in 107 bytes), so that no cluster started
    # with `ray start` on this machine is joined instead, and the session's files go with the test.
    ray_tmp = tempfile.mkdtemp(prefix="oi-ray-", dir="/tmp")
    try:
        done, records, counts, pgid = _run_cli_on_ray(tmp_path, ["--ray"], {**_ray_free_env(), "RAY_TMPDIR": ray_tmp})
        started = [path.name for path in Path(ray_tmp).glob("ray/session_*") if not path.is_symlink()]
        outlived = _outlived(pgid, 10)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    _assert_one_answer_per_row_under_the_limit(done, records, counts)
    assert len(started) == 1  # it started a cluster of its own...
    assert not outlived  # ...and stopped it: GCS, raylet and workers are in its process group, gone with it


def _outlived(pgid: int, grace: float) -> bool:
    """Whether processes of the group are still there after `grace` seconds (then they are killed)."""
    deadline = time.monotonic() + grace
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        if time.monotonic() > deadline:
            os.killpg(pgid, signal.SIGKILL)
            return True
        time.sleep(0.2)
