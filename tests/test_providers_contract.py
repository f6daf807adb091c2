"""Every provider × task sends exactly the request PROVIDERS.md describes: method, URL, auth and body,
once through the router (an `hf_` token) and once direct (the provider's own key and auth scheme).

One table row per provider × task. The answers are scripted to finish the call, so each row also
runs the provider's way of reading its answer (base64, file download, job polling).
"""

from __future__ import annotations

import base64
import io
import uuid
import warnings
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from PIL import Image

from cassettes import posts
from clients import Runner
from fixture_server import FixtureServer
from omniinfer.providers import REGISTRY, env_name


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), "blue").save(buffer, format="PNG")
    return buffer.getvalue()


PNG = _png()
PNG_B64 = base64.b64encode(PNG).decode()
PNG_DATA_URL = "data:image/png;base64," + PNG_B64
AUDIO = b"fLaC\x00\x00\x00\x22" + bytes(40)  # sniffed as audio/flac
AUDIO_B64 = base64.b64encode(AUDIO).decode()
HF_TOKEN = "hf_contract_token"
KEY = "provider-own-key"
FILE = "{files}/out"  # replaced by the fixture server's file host at run time
MESSAGES = [{"role": "user", "content": "hi"}]
SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}}}
RESPONSE_FORMAT = {"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA}}
COMPLETION = {
    "id": "c",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
}
TEXT_COMPLETION = {"choices": [{"index": 0, "text": "ok", "finish_reason": "stop"}]}
EMBEDDINGS = {"data": [{"embedding": [0.5, 0.25]}]}


@dataclass
class Case:
    provider: str
    task: str
    call: tuple[str, tuple[Any, ...], dict[str, Any]]  # client method, args, kwargs
    route: str  # path after the provider's base; `?query` when one is expected through the router
    body: Any  # the expected JSON body, or a function checking the raw request
    answer: dict[str, Any]  # FixtureServer.add arguments for the POST's answer
    pid: str = "org/pid"
    # Follow-up GETs on the host the job was submitted to: (path, FixtureServer.add arguments).
    followups: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    direct_host: str | None = None  # where direct requests go, when not the provider's host
    direct_route: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # other request headers expected

    @property
    def id(self) -> str:
        return f"{self.provider}-{self.task}"


def chat_case(provider: str, route: str = "/v1/chat/completions", **body: Any) -> Case:
    """A chat row: the OpenAI body with `body`'s quirks applied."""
    expected = {"model": "org/pid", "messages": MESSAGES, "max_tokens": 5, "stream": False}
    expected["response_format"] = body.pop("response_format", RESPONSE_FORMAT)
    expected.update(body)
    call = ("chat_completion", (MESSAGES,), {"max_tokens": 5, "response_format": RESPONSE_FORMAT})
    return Case(provider, "conversational", call, route, expected, {"json": COMPLETION})


def completion_case(provider: str, route: str = "/v1/completions", **body: Any) -> Case:
    expected = {"model": "org/pid", "prompt": "hi", "max_tokens": 5, "stream": False, **body}
    call = ("text_generation", ("hi",), {"max_new_tokens": 5})
    return Case(provider, "text-generation", call, route, expected, {"json": TEXT_COMPLETION})


def embedding_case(provider: str, route: str = "/v1/embeddings", parameters: bool = True) -> Case:
    expected = {"input": "hi", **({"normalize": True} if parameters else {}), "model": "org/pid"}
    call = ("feature_extraction", ("hi",), {"normalize": True})
    return Case(provider, "feature-extraction", call, route, expected, {"json": EMBEDDINGS})


JSON_SCHEMA_OBJECT = {"type": "json_object", "schema": SCHEMA}
IMAGE_ARGS = {"width": 64, "height": 32, "num_inference_steps": 10, "guidance_scale": 7.5, "seed": 1}
T2I = ("text_to_image", ("a cat",), IMAGE_ARGS)
T2V = ("text_to_video", ("a dog",), {"num_inference_steps": 4, "seed": 2})
TTS = ("text_to_speech", ("hello",), {"temperature": 0.5})
ASR = ("automatic_speech_recognition", (AUDIO,), {})
I2I = ("image_to_image", (PNG,), {"prompt": "blue", "target_size": {"width": 64, "height": 32}})
I2V = ("image_to_video", (PNG,), {"prompt": "move", "num_inference_steps": 4})
SEG = ("image_segmentation", (PNG,), {"threshold": 0.5})
FILE_ANSWER = {"json": {"images": [{"url": FILE}]}}
REPLICATE_DONE = {"json": {"id": "p1", "status": "succeeded", "output": [FILE]}}
WAVESPEED_DONE = {
    "json": {"data": {"id": "w1", "status": "completed", "outputs": [FILE], "urls": {"get": "https://x/r/w1"}}}
}
TOGETHER_VIDEO_DONE = {"json": {"id": "v1", "status": "completed", "outputs": {"video_url": FILE}}}


def fal_queue(task: str, call: Any, body: dict[str, Any], result: dict[str, Any]) -> Case:
    """A fal-ai queue row: submitted to the queue host, polled there until COMPLETED."""
    submitted = {
        "request_id": "r1",
        "status": "IN_QUEUE",
        "response_url": "https://queue.fal.run/fal-ai/pid/requests/r1",
    }
    followups = [
        ("/fal-ai/pid/requests/r1/status", {"json": {"status": "COMPLETED"}}),
        ("/fal-ai/pid/requests/r1", {"json": result}),
    ]
    return Case(
        "fal-ai",
        task,
        call,
        "/fal-ai/pid?_subdomain=queue",
        body,
        {"json": submitted},
        pid="fal-ai/pid",
        followups=followups,
        direct_host="queue.fal.run",
        direct_route="/fal-ai/pid",
    )


def _multipart_check(request: Any) -> None:
    content_type = request.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    body = request.body
    assert b'name="model"\r\n\r\norg/pid\r\n' in body
    assert b'name="file"; filename="audio.flac"\r\nContent-Type: audio/flac\r\n\r\n' + AUDIO in body


CASES = [
    # --- conversational (PROVIDERS.md §2.1) ---
    chat_case("cerebras"),
    chat_case("cohere", "/compatibility/v1/chat/completions", response_format=JSON_SCHEMA_OBJECT),
    chat_case("featherless-ai"),
    chat_case("fireworks-ai", "/inference/v1/chat/completions", response_format=JSON_SCHEMA_OBJECT),
    chat_case("groq", "/openai/v1/chat/completions"),
    chat_case("hyperbolic"),
    chat_case("nebius", guided_json=SCHEMA),
    chat_case("novita", "/v3/openai/chat/completions"),
    chat_case("nscale"),
    chat_case(
        "sambanova",
        response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA, "strict": False}},
    ),
    chat_case("together", response_format=JSON_SCHEMA_OBJECT),
    chat_case("baseten"),
    chat_case("deepinfra", "/v1/openai/chat/completions"),
    chat_case("ovhcloud"),
    chat_case("publicai"),
    chat_case("scaleway"),
    Case(
        **{
            **chat_case("zai-org", "/api/paas/v4/chat/completions").__dict__,
            "headers": {"accept-language": "en-US,en", "x-source-channel": "hugging_face"},
        }
    ),
    # --- text-generation (§2.2) ---
    completion_case("featherless-ai"),
    completion_case("nebius"),
    completion_case("novita", "/v3/openai/completions"),
    completion_case("together"),
    completion_case("deepinfra", "/v1/openai/completions"),
    Case(
        "hyperbolic",
        "text-generation",
        ("text_generation", ("hi",), {"max_new_tokens": 5}),
        "/v1/chat/completions",
        {"model": "org/pid", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5, "stream": False},
        {"json": TEXT_COMPLETION},
    ),
    # --- feature-extraction (§2.5) ---
    embedding_case("nebius", parameters=False),
    embedding_case("sambanova"),
    embedding_case("together"),
    embedding_case("scaleway"),
    embedding_case("deepinfra", "/v1/openai/embeddings"),
    # --- text-to-image (§2.3) ---
    Case(
        "black-forest-labs",
        "text-to-image",
        T2I,
        "/v1/flux-dev",
        {"prompt": "a cat", "width": 64, "height": 32, "steps": 10, "guidance": 7.5, "seed": 1},
        {"json": {"id": "b1", "polling_url": "{files}/poll?id=b1"}},
        pid="flux-dev",
    ),
    Case(
        "fal-ai",
        "text-to-image",
        T2I,
        "/fal-ai/pid",
        {
            "prompt": "a cat",
            "image_size": {"width": 64, "height": 32},
            "num_inference_steps": 10,
            "guidance_scale": 7.5,
            "seed": 1,
        },
        FILE_ANSWER,
        pid="fal-ai/pid",
    ),
    Case(
        "hyperbolic",
        "text-to-image",
        T2I,
        "/v1/images/generations",
        {
            "prompt": "a cat",
            "model_name": "org/pid",
            "width": 64,
            "height": 32,
            "steps": 10,
            "cfg_scale": 7.5,
            "seed": 1,
        },
        {"json": {"images": [{"image": PNG_B64}]}},
    ),
    Case(
        "nebius",
        "text-to-image",
        T2I,
        "/v1/images/generations",
        {
            "prompt": "a cat",
            "width": 64,
            "height": 32,
            "num_inference_steps": 10,
            "seed": 1,
            "response_format": "b64_json",
            "model": "org/pid",
        },
        {"json": {"data": [{"b64_json": PNG_B64}]}},
    ),
    Case(
        "nscale",
        "text-to-image",
        T2I,
        "/v1/images/generations",
        {
            "response_format": "b64_json",
            "prompt": "a cat",
            "model": "org/pid",
            "size": "64x32",
            "guidance_scale": 7.5,
            "seed": 1,
        },
        {"json": {"data": [{"b64_json": PNG_B64}]}},
    ),
    Case(
        "replicate",
        "text-to-image",
        T2I,
        "/v1/predictions",
        {"input": {"prompt": "a cat", **IMAGE_ARGS}, "version": "v1"},
        REPLICATE_DONE,
        pid="owner/model:v1",
        headers={"prefer": "wait"},
    ),
    Case(
        "together",
        "text-to-image",
        T2I,
        "/v1/images/generations",
        {
            "prompt": "a cat",
            "response_format": "base64",
            "width": 64,
            "height": 32,
            "steps": 10,
            "guidance": 7.5,
            "seed": 1,
            "model": "org/pid",
        },
        {"json": {"data": [{"b64_json": PNG_B64}]}},
    ),
    Case("wavespeed", "text-to-image", T2I, "/api/v3/org/pid", {"prompt": "a cat", **IMAGE_ARGS}, WAVESPEED_DONE),
    Case(
        "zai-org",
        "text-to-image",
        T2I,
        "/api/paas/v4/async/images/generations",
        {
            "model": "org/pid",
            "prompt": "a cat",
            "size": "64x32",
            "num_inference_steps": 10,
            "guidance_scale": 7.5,
            "seed": 1,
        },
        {"json": {"id": "z1", "task_status": "SUCCESS", "image_result": [{"url": FILE}]}},
    ),
    # --- text-to-speech ---
    Case(
        "fal-ai",
        "text-to-speech",
        TTS,
        "/fal-ai/pid",
        {"text": "hello", "temperature": 0.5},
        {"json": {"audio": {"url": FILE}}},
        pid="fal-ai/pid",
    ),
    Case(
        "replicate",
        "text-to-speech",
        TTS,
        "/v1/models/owner/tts/predictions",
        {"input": {"text": "hello", "temperature": 0.5}},
        REPLICATE_DONE,
        pid="owner/tts",
        headers={"prefer": "wait"},
    ),
    Case(
        "together",
        "text-to-speech",
        TTS,
        "/v1/audio/speech",
        {"input": "hello", "model": "org/pid", "temperature": 0.5},
        {"body": b"RIFF-audio"},
    ),
    Case(
        "deepinfra",
        "text-to-speech",
        TTS,
        "/v1/openai/audio/speech",
        {"input": "hello", "temperature": 0.5, "model": "org/pid"},
        {"body": b"RIFF-audio"},
    ),
    # --- text-to-video ---
    fal_queue("text-to-video", T2V, {"prompt": "a dog", "num_inference_steps": 4, "seed": 2}, {"video": {"url": FILE}}),
    Case(
        "replicate",
        "text-to-video",
        T2V,
        "/v1/models/org/pid/predictions",
        {"input": {"prompt": "a dog", "num_inference_steps": 4, "seed": 2}},
        REPLICATE_DONE,
        headers={"prefer": "wait"},
    ),
    Case(
        "novita",
        "text-to-video",
        T2V,
        "/v3/hf/org/pid",
        {"prompt": "a dog", "num_inference_steps": 4, "seed": 2},
        {"json": {"video": {"video_url": FILE}}},
    ),
    Case(
        "together",
        "text-to-video",
        T2V,
        "/v2/videos",
        {"model": "org/pid", "prompt": "a dog", "steps": 4, "seed": 2},
        TOGETHER_VIDEO_DONE,
    ),
    Case("wavespeed", "text-to-video", T2V, "/api/v3/org/pid", {"prompt": "a dog", **T2V[2]}, WAVESPEED_DONE),
    # --- automatic-speech-recognition ---
    Case(
        "fal-ai",
        "automatic-speech-recognition",
        ASR,
        "/fal-ai/pid",
        {"audio_url": "data:audio/mpeg;base64," + AUDIO_B64},
        {"json": {"text": "hi", "chunks": [{"timestamp": [0.0, 1.0], "text": "hi"}]}},
        pid="fal-ai/pid",
    ),
    Case(
        "replicate",
        "automatic-speech-recognition",
        ASR,
        "/v1/models/org/pid/predictions",
        {"input": {"audio": "data:audio/flac;base64," + AUDIO_B64}},
        {"json": {"id": "p1", "status": "succeeded", "output": {"transcription": "hi"}}},
        headers={"prefer": "wait"},
    ),
    Case(
        "deepinfra",
        "automatic-speech-recognition",
        ASR,
        "/v1/openai/audio/transcriptions",
        _multipart_check,
        {"json": {"text": "hi", "segments": [{"start": 0.0, "end": 1.0, "text": "hi"}]}},
    ),
    # --- image-to-image ---
    fal_queue(
        "image-to-image",
        I2I,
        {
            "image_url": PNG_DATA_URL,
            "image_urls": [PNG_DATA_URL],
            "prompt": "blue",
            "image_size": I2I[2]["target_size"],
        },
        {"images": [{"url": FILE}]},
    ),
    Case(
        "replicate",
        "image-to-image",
        I2I,
        "/v1/models/org/pid/predictions",
        {
            "input": {
                "image": PNG_DATA_URL,
                "images": [PNG_DATA_URL],
                "input_image": PNG_DATA_URL,
                "input_images": [PNG_DATA_URL],
                "prompt": "blue",
                "target_size": {"width": 64, "height": 32},
            }
        },
        REPLICATE_DONE,
        headers={"prefer": "wait"},
    ),
    Case(
        "together",
        "image-to-image",
        I2I,
        "/v1/images/generations",
        {
            "prompt": "blue",
            "image_url": PNG_DATA_URL,
            "response_format": "base64",
            "width": 64,
            "height": 32,
            "model": "org/FLUX.1-Kontext-dev",
        },
        {"json": {"data": [{"b64_json": PNG_B64}]}},
        pid="org/FLUX.1-Kontext-dev",
    ),
    Case(
        "wavespeed",
        "image-to-image",
        I2I,
        "/api/v3/org/pid",
        {"image": PNG_DATA_URL, "prompt": "blue", "target_size": {"width": 64, "height": 32}},
        WAVESPEED_DONE,
    ),
    # --- image-to-video ---
    fal_queue(
        "image-to-video",
        I2V,
        {"image_url": PNG_DATA_URL, "prompt": "move", "num_inference_steps": 4},
        {"video": {"url": FILE}},
    ),
    Case(
        "together",
        "image-to-video",
        I2V,
        "/v2/videos",
        {
            "model": "org/pid",
            "frame_images": [{"input_image": PNG_DATA_URL, "frame": "first"}],
            "prompt": "move",
            "steps": 4,
        },
        TOGETHER_VIDEO_DONE,
    ),
    Case(
        "wavespeed",
        "image-to-video",
        I2V,
        "/api/v3/org/pid",
        {"image": PNG_DATA_URL, "prompt": "move", "num_inference_steps": 4},
        WAVESPEED_DONE,
    ),
    # --- image-segmentation ---
    fal_queue(
        "image-segmentation",
        SEG,
        {"image_url": PNG_DATA_URL, "threshold": 0.5, "sync_mode": True},
        {"image": {"url": PNG_DATA_URL}},
    ),
]


@pytest.fixture
def model() -> str:
    """A model id of the test's own: Hub mappings are cached per process, keyed by the Hub's URL,
    and a later test's fixture server may get the same port."""
    return f"org/m-{uuid.uuid4().hex[:12]}"


def test_the_table_covers_every_provider_task() -> None:
    """hf-inference has its own suite (its bodies are the Hugging Face task forms); `local` runs in-process."""
    expected = {(p.id, task) for p in REGISTRY.values() if p.id not in ("hf-inference", "local") for task in p.tasks}
    covered = {(c.provider, c.task) for c in CASES} | {("openai", "conversational")}
    assert covered == expected


def _fill(value: Any, files: str) -> Any:
    if isinstance(value, str):
        return value.replace("{files}", files)
    if isinstance(value, dict):
        return {k: _fill(v, files) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, files) for v in value]
    return value


def _serve(server: FixtureServer, case: Case, routed: bool, model: str) -> tuple[str, str]:
    """Script the Hub mapping, the provider's answers and the file host; returns (host, path prefix)
    where the POST is expected."""
    files = server.host_url("files.example")
    mapping = {case.provider: {"status": "live", "providerId": case.pid, "task": case.task}}
    server.add("GET", f"/api/models/{model}", host="huggingface.co", json={"inferenceProviderMapping": mapping})
    server.add("GET", "/out", host="files.example", body=PNG, headers={"Content-Type": "image/png"})
    server.add("GET", "/poll", host="files.example", json={"status": "Ready", "result": {"sample": files + "/out"}})
    if routed:
        host, prefix, route = "router.huggingface.co", f"/{case.provider}", case.route
    else:
        direct = REGISTRY[case.provider].direct_url or ""
        host, prefix = case.direct_host or urlsplit(direct).netloc, ""
        route = case.direct_route or case.route.split("?")[0]
    path, _, _query = route.partition("?")
    server.add("POST", prefix + path, host=host, **_fill(case.answer, files))
    for follow_path, answer in case.followups:
        server.add("GET", prefix + follow_path, host=host, **_fill(answer, files))
    return host, prefix + route


@pytest.mark.parametrize("routed", [True, False], ids=["router", "direct"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_request(hub: FixtureServer, monkeypatch: pytest.MonkeyPatch, case: Case, routed: bool, model: str) -> None:
    host, expected_path = _serve(hub, case, routed, model)
    monkeypatch.setenv(env_name(case.provider), hub.host_url(urlsplit(REGISTRY[case.provider].direct_url or "").netloc))
    monkeypatch.setenv(env_name("fal-ai", "_QUEUE"), hub.host_url("queue.fal.run"))
    token = HF_TOKEN if routed else KEY
    method, args, kwargs = case.call
    with Runner("sync", model, provider=case.provider, token=token) as run:
        result = run(method, *args, **kwargs)
    assert result is not None
    sent = posts(hub)
    assert len(sent) == 1
    request = sent[0]
    assert request.host == host
    path, _, query = expected_path.partition("?")
    assert (request.path, request.query) == (path, query)
    auth = {k: v for k, v in request.headers.items() if k in ("authorization", "x-key")}
    assert auth == _expected_auth(case.provider, routed)
    for name, value in case.headers.items():
        assert request.headers[name] == value
    if case.task in ("text-to-image", "image-to-image"):
        assert request.headers["accept"] == "image/png"
    if callable(case.body):
        case.body(request)
    else:
        assert request.headers["content-type"] == "application/json"
        assert request.json() == _fill(case.body, "")
    for other in hub.requests:
        if other.host == "files.example":
            assert "authorization" not in other.headers and "x-key" not in other.headers
        elif other.host == "huggingface.co":  # the Hub sees a Hugging Face token, never a provider's key
            assert KEY not in str(other.headers)
        elif other.method == "GET":  # polls on the submission host carry its credentials
            assert other.host == host
            assert {k: v for k, v in other.headers.items() if k in ("authorization", "x-key")} == auth


def _expected_auth(provider: str, routed: bool) -> dict[str, str]:
    if routed:
        return {"authorization": f"Bearer {HF_TOKEN}"}
    if provider == "fal-ai":
        return {"authorization": f"Key {KEY}"}
    if provider == "black-forest-labs":
        return {"x-key": KEY}
    return {"authorization": f"Bearer {KEY}"}


def test_openai_is_direct_only(hub: FixtureServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env_name("openai"), hub.host_url("api.openai.com"))
    hub.add("POST", "/v1/chat/completions", host="api.openai.com", json=COMPLETION)
    with Runner("sync", "gpt-4o-mini", provider="openai", token="sk-test") as run:
        run("chat_completion", MESSAGES)
    request = posts(hub)[0]
    assert request.host == "api.openai.com"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.json()["model"] == "gpt-4o-mini"  # no Hub mapping: the id as given
    assert [r for r in hub.requests if r.host == "huggingface.co"] == []
    for token, message in ((HF_TOKEN, "router"), (None, "api_key")):
        with Runner("sync", "gpt-4o-mini", provider="openai", token=token) as run:
            with pytest.raises(ValueError, match=message):
                run("chat_completion", MESSAGES)
    assert len(posts(hub)) == 1


def test_staging_rows_still_warn(hub: FixtureServer, model: str) -> None:
    """The table's mappings are live; a staging one warns (covered once here for the media tasks)."""
    mapping = {"together": {"status": "staging", "providerId": "p", "task": "text-to-speech"}}
    hub.add("GET", f"/api/models/{model}", host="huggingface.co", json={"inferenceProviderMapping": mapping})
    hub.add("POST", "/together/v1/audio/speech", host="router.huggingface.co", body=b"audio")
    with (
        Runner("sync", model, provider="together", token=HF_TOKEN) as run,
        warnings.catch_warnings(record=True) as seen,
    ):
        warnings.simplefilter("always")
        assert run("text_to_speech", "hello") == b"audio"
    assert any("staging" in str(w.message) for w in seen)
