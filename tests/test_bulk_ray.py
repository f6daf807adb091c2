"""Bulk jobs on a real local Ray cluster (2 CPUs), against the rate-limited loopback server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from limited_server import LimitedServer, Limits

ray = pytest.importorskip("ray")
# Ray warns about its own deprecated settings when its modules load: not ours to fix.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::ResourceWarning"),
    # Starting actors (a Python process each, importing Ray) is most of these tests' time, and it
    # stretches on a busy machine: ~20 s on 2 quiet cores, 100 s seen under a load of 15.
    pytest.mark.timeout(300),
]


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


def test_mapper_in_a_users_own_pipeline(cluster: Any) -> None:
    from omniinfer.bulk import BulkOptions
    from omniinfer.bulk.ray import Mapper, limiter_name

    with LimitedServer(Limits(rps=100)) as server:
        dataset = cluster.data.from_items([{"key": f"k{i}", "text": f"text {i}"} for i in range(40)])
        answered = dataset.map_batches(
            Mapper,
            fn_constructor_kwargs={"task": "text-classification", "model": server.url, "id_column": "key", "rpm": 6000},
            concurrency=2,
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


def test_cli_ray_usage_errors_before_the_cluster(tmp_path: Path) -> None:
    import subprocess
    import sys

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
