"""Provider jobs on both clients: a job that is pending and then ready, one that fails, and one that
is never ready (the deadline). Polls happen on the host the job was submitted to (with its
credentials) or on the URL the provider names (without them); results are downloaded without any.
"""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from PIL import Image

from clients import Runner
from fixture_server import FixtureServer
from omniinfer import AsyncInferenceClient, InferenceTimeoutError, JobFailedError, ServerError

HF_TOKEN = "hf_jobs_token"


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "green").save(buffer, format="PNG")
    return buffer.getvalue()


PNG = _png()
NOW = {"Retry-After": "0"}  # the provider asks to be polled again at once: keeps the tests fast


@dataclass
class Job:
    provider: str
    task: str
    call: tuple[str, tuple[Any, ...], dict[str, Any]]
    post: str  # the submission's path on the router, after /{provider}
    submitted: Any  # the submission's answer
    poll: str  # the polled path: on the router after /{provider}, or on the provider's own host
    pending: Any
    ready: Any
    failure: Any  # the poll answer of a failed job: a JSON body, or FixtureServer.add arguments
    failure_error: type[Exception] = JobFailedError
    poll_host: str | None = None  # None: the submission host (polled with credentials)
    result: tuple[str, Any] | None = None  # a further GET once ready: (path on the poll host, answer)
    pid: str = "org/pid"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.provider}-{self.task}"


T2I = ("text_to_image", ("a cat",), {})
T2V = ("text_to_video", ("a dog",), {})
FILE = "{files}/out"

JOBS = [
    Job(
        "fal-ai",
        "text-to-video",
        T2V,
        "/fal-ai/pid",
        {"request_id": "r1", "status": "IN_QUEUE", "response_url": "https://queue.fal.run/fal-ai/pid/requests/r1"},
        "/fal-ai/pid/requests/r1/status",
        {"status": "IN_PROGRESS"},
        {"status": "COMPLETED"},
        {"status": 500, "json": {"error": "generation crashed"}},
        ServerError,
        result=("/fal-ai/pid/requests/r1", {"video": {"url": FILE}}),
        pid="fal-ai/pid",
    ),
    Job(
        "black-forest-labs",
        "text-to-image",
        T2I,
        "/v1/flux-dev",
        {"id": "b1", "polling_url": "{files}/get_result?id=b1"},
        "/get_result",
        {"status": "Pending", "result": None},
        {"status": "Ready", "result": {"sample": FILE}},
        {"status": "Content Moderated"},
        poll_host="files.example",
        pid="flux-dev",
    ),
    Job(
        "zai-org",
        "text-to-image",
        T2I,
        "/api/paas/v4/async/images/generations",
        {"id": "z1", "task_status": "PROCESSING"},
        "/api/paas/v4/async-result/z1",
        {"task_status": "PROCESSING"},
        {"task_status": "SUCCESS", "image_result": [{"url": FILE}]},
        {"task_status": "FAIL", "error": {"message": "unsafe prompt"}},
    ),
    Job(
        "replicate",
        "text-to-image",
        T2I,
        "/v1/models/org/pid/predictions",
        {
            "id": "p1",
            "status": "starting",
            "output": None,
            "urls": {"get": "https://api.replicate.com/v1/predictions/p1"},
        },
        "/v1/predictions/p1",
        {"id": "p1", "status": "processing", "output": None},
        {"id": "p1", "status": "succeeded", "output": [FILE]},
        {"id": "p1", "status": "failed", "output": None, "error": "CUDA out of memory"},
    ),
    Job(
        "together",
        "text-to-video",
        T2V,
        "/v2/videos",
        {"id": "v1", "status": "queued"},
        "/v2/videos/v1",
        {"id": "v1", "status": "in_progress"},
        {"id": "v1", "status": "completed", "outputs": {"video_url": FILE}},
        {"id": "v1", "status": "failed", "error": "bad prompt"},
    ),
    Job(
        "wavespeed",
        "text-to-video",
        T2V,
        "/api/v3/org/pid",
        {
            "data": {
                "id": "w1",
                "status": "created",
                "urls": {"get": "https://api.wavespeed.ai/api/v3/predictions/w1/result"},
            }
        },
        "/api/v3/predictions/w1/result",
        {"data": {"status": "processing"}},
        {"data": {"status": "completed", "outputs": [FILE]}},
        {"data": {"status": "failed", "error": "nsfw"}},
    ),
]


def _fill(value: Any, files: str) -> Any:
    if isinstance(value, str):
        return value.replace("{files}", files)
    if isinstance(value, dict):
        return {k: _fill(v, files) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, files) for v in value]
    return value


class Scripted:
    """The router and the provider's hosts for one job."""

    def __init__(self, server: FixtureServer, job: Job) -> None:
        self.server, self.job = server, job
        # A model id of its own: Hub mappings are cached per process (keyed by the Hub's URL, and
        # a later test's fixture server may get the same port).
        self.model = f"org/m-{uuid.uuid4().hex[:12]}"
        self.files = server.host_url("files.example")
        mapping = {job.provider: {"status": "live", "providerId": job.pid, "task": job.task}}
        server.add(
            "GET", f"/api/models/{self.model}", host="huggingface.co", json={"inferenceProviderMapping": mapping}
        )
        server.add("GET", "/out", host="files.example", body=PNG, headers={"Content-Type": "image/png"})
        server.add(
            "POST", f"/{job.provider}{job.post}", host="router.huggingface.co", **self.answer(job.submitted, NOW)
        )

    def answer(self, value: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
        if isinstance(value, dict) and "status" in value and isinstance(value["status"], int):
            return _fill(value, self.files)  # FixtureServer.add arguments
        return {"json": _fill(value, self.files), "headers": headers}

    def on_poll_host(
        self, path: str, value: Any, headers: dict[str, str] | None = None, times: int | None = None
    ) -> None:
        if self.job.poll_host is None:
            self.server.add(
                "GET",
                f"/{self.job.provider}{path}",
                host="router.huggingface.co",
                times=times,
                **self.answer(value, headers),
            )
        else:
            self.server.add("GET", path, host=self.job.poll_host, times=times, **self.answer(value, headers))

    def polls(self) -> list[Any]:
        if self.job.poll_host is None:
            return [
                r
                for r in self.server.requests
                if r.method == "GET" and r.path == f"/{self.job.provider}{self.job.poll}"
            ]
        return [r for r in self.server.requests if r.host == self.job.poll_host and r.path == self.job.poll]


def _run(kind: str, scripted: Scripted, **client: Any) -> Any:
    job = scripted.job
    method, args, kwargs = job.call
    with Runner(kind, scripted.model, provider=job.provider, token=HF_TOKEN, **client) as run:
        return run(method, *args, **kwargs)


@pytest.mark.parametrize("job", JOBS, ids=[j.id for j in JOBS])
def test_pending_then_ready(hub: FixtureServer, kind: str, job: Job) -> None:
    scripted = Scripted(hub, job)
    scripted.on_poll_host(job.poll, job.pending, NOW, times=2)
    scripted.on_poll_host(job.poll, job.ready)
    if job.result is not None:
        scripted.on_poll_host(job.result[0], job.result[1])
    output = _run(kind, scripted)
    if job.task == "text-to-image":
        assert output.size == (4, 4)
    else:
        assert output == PNG
    polls = scripted.polls()
    assert len(polls) == 3
    if job.poll_host is None:  # polled on the submission host, with the submission's credentials
        assert all(p.headers["authorization"] == f"Bearer {HF_TOKEN}" for p in polls)
    else:  # a URL of the provider's choosing: no credentials
        assert all("authorization" not in p.headers for p in polls)
    downloads = [r for r in hub.requests if r.host == "files.example" and r.path == "/out"]
    assert len(downloads) == 1 and "authorization" not in downloads[0].headers
    if job.provider == "fal-ai":
        assert all(p.query == "_subdomain=queue" for p in polls)


@pytest.mark.parametrize("job", JOBS, ids=[j.id for j in JOBS])
def test_failure(hub: FixtureServer, kind: str, job: Job) -> None:
    scripted = Scripted(hub, job)
    scripted.on_poll_host(job.poll, job.pending, NOW, times=1)
    if job.result is None:
        scripted.on_poll_host(job.poll, job.failure)
    else:  # fal says COMPLETED, and its result is the error
        scripted.on_poll_host(job.poll, job.ready)
        scripted.on_poll_host(job.result[0], job.failure)
    with pytest.raises(job.failure_error) as error:
        _run(kind, scripted)
    assert not isinstance(error.value, InferenceTimeoutError)
    assert error.value.provider == job.provider
    assert HF_TOKEN not in str(error.value)


@pytest.mark.parametrize("job", JOBS, ids=[j.id for j in JOBS])
def test_never_ready_stops_at_the_deadline(hub: FixtureServer, kind: str, job: Job) -> None:
    scripted = Scripted(hub, job)
    scripted.on_poll_host(job.poll, job.pending)  # no Retry-After: the provider's own interval
    started = time.monotonic()
    with pytest.raises(InferenceTimeoutError, match="deadline") as error:
        _run(kind, scripted, timeout=1.5)  # long enough for one poll at the slowest interval (1 s)
    assert time.monotonic() - started < 3.0
    assert error.value.provider == job.provider
    assert scripted.polls()


def test_total_timeout_bounds_the_job(hub: FixtureServer) -> None:
    from omniinfer import Timeout

    job = JOBS[4]  # together video: 2 s between polls
    scripted = Scripted(hub, job)
    scripted.on_poll_host(job.poll, job.pending)
    started = time.monotonic()
    with pytest.raises(InferenceTimeoutError):
        _run("sync", scripted, timeout=Timeout(total=0.5))
    assert time.monotonic() - started < 2.0


def test_polling_does_not_block_the_event_loop(hub: FixtureServer) -> None:
    job = JOBS[0]  # fal-ai: 0.5 s between polls
    scripted = Scripted(hub, job)
    scripted.on_poll_host(job.poll, job.pending, times=2)
    scripted.on_poll_host(job.poll, job.ready)
    assert job.result is not None
    scripted.on_poll_host(*job.result)

    async def main() -> tuple[bytes, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        task = asyncio.create_task(ticker())
        async with AsyncInferenceClient(scripted.model, provider="fal-ai", token=HF_TOKEN) as client:
            video = await client.text_to_video("a dog")
        task.cancel()
        return video, ticks

    video, ticks = asyncio.run(main())
    assert video == PNG
    assert ticks >= 30  # ~1.5 s of polling waits, during which the loop kept running
