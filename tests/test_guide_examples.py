"""Every code example of the Hugging Face client's inference guide, run with `omniinfer` in place of
`huggingface_hub`, against the fixture server standing in for the Hub, the router, each provider
host and each URL the example names: the setup of a user behind a private gateway.

One test per example (`tests/guide_examples.py` extracts them); each scenario scripts the answers
its example needs, runs it as written, and checks what it sent and what it got.
"""

from __future__ import annotations

import ast
import asyncio
import base64
import contextlib
import gc
import inspect
import io
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from PIL import Image

import guide_examples
import mcp_peers
from fixture_server import FixtureServer, ReceivedRequest
from guide_examples import Example, Section
from omniinfer import (
    AsyncInferenceClient,
    ChatCompletionOutput,
    ImageClassificationOutputElement,
    InferenceClient,
)
from omniinfer.providers import REGISTRY, env_name

everything_sse_url = mcp_peers.everything_sse_url
mcp_servers_installed = mcp_peers.mcp_servers_installed

EXAMPLES = {example.id: example for example in guide_examples.load()}
DOCS_GUIDE = Path(__file__).resolve().parent.parent / "docs" / "guide.md"
HUB = "huggingface.co"
ROUTER = "router.huggingface.co"
USER_TOKEN = "hf_user_token"  # the token a logged-in user has (HF_TOKEN)
_URL_LITERAL = re.compile(r"""(?<=["'])https?://[^"'\s]+""")


def _png(size: tuple[int, int] = (4, 3)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "blue").save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (5, 5), "white").save(buffer, format="JPEG")
    return buffer.getvalue()


# ---- running an example --------------------------------------------------------------------------


@dataclass
class Ran:
    namespace: dict[str, Any]
    displayed: list[Any]  # values the interactive session showed (expression statements)
    stdout: str


@dataclass
class Guide:
    """One example of the guide, run as a user of a private gateway would run it."""

    example: Example
    server: FixtureServer
    urls: dict[str, str] = field(default_factory=dict)  # URL literal → where it points instead
    namespaces: list[dict[str, Any]] = field(default_factory=list)

    def model(self, model: str, pipeline_tag: str | None = None, **mapping: tuple[str, str]) -> None:
        """The Hub's model info: its task and its provider mapping (`fal_ai=("provider's id", "task")`)."""
        providers = {
            name.replace("_", "-"): {"status": "live", "providerId": provider_id, "task": task}
            for name, (provider_id, task) in mapping.items()
        }
        info: dict[str, Any] = {
            "id": model,
            "pipeline_tag": pipeline_tag,
            "tags": [],
            "inferenceProviderMapping": providers,
        }
        self.server.add("GET", f"/api/models/{model}", host=HUB, json=info)

    def recommended(self, **models: str) -> None:
        """The Hub's recommended model per task (task_name=model), and each model's info."""
        tasks = {task.replace("_", "-"): {"widgetModels": [model]} for task, model in models.items()}
        self.server.add("GET", "/api/tasks", host=HUB, json=tasks)
        for task, model in models.items():
            self.model(model, task.replace("_", "-"))

    def file(self, host: str, path: str, body: bytes, content_type: str) -> str:
        """A file served by `host`; returns the URL that stands for it."""
        self.server.add("GET", path, host=host, body=body, headers={"Content-Type": content_type})
        return self.server.host_url(host) + path

    def posts(self, host: str | None = None) -> list[ReceivedRequest]:
        return [r for r in self.server.requests if r.method == "POST" and host in (None, r.host)]

    def post(self, host: str) -> ReceivedRequest:
        (request,) = self.posts(host)
        return request

    def source(self) -> list[str]:
        """The example's statements with each URL literal pointed at the fixture server."""

        def point(match: re.Match[str]) -> str:
            url = match.group(0)
            if url in self.urls:
                return self.urls[url]
            parts = urlsplit(url)
            return self.server.host_url(parts.netloc) + url[len(f"{parts.scheme}://{parts.netloc}") :]

        return [_URL_LITERAL.sub(point, statement) for statement in guide_examples.program(self.example).statements]

    def run(self) -> Ran:
        namespace: dict[str, Any] = {"__name__": "__main__"}
        self.namespaces.append(namespace)
        displayed: list[Any] = []
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            if self.example.kind == "doctest":
                _interactive(self.source(), namespace, displayed.append, self.example.id)
            else:
                exec(compile("\n".join(self.source()), f"<guide {self.example.id}>", "exec"), namespace)
        return Ran(namespace, displayed, out.getvalue())

    def end(self) -> None:
        """The program ends as a process would: its sync clients are closed, and everything else it made
        is dropped now, so that a connection left open warns (ResourceWarning) within this test."""
        for namespace in self.namespaces:
            for value in namespace.values():
                if isinstance(value, InferenceClient):
                    value.close()
            namespace.clear()
        gc.collect()


def _interactive(statements: list[str], namespace: dict[str, Any], show: Callable[[Any], None], name: str) -> None:
    """Run statements one by one as `python -m asyncio` would: values displayed, `await` allowed."""
    loop = asyncio.new_event_loop()
    hook = sys.displayhook
    sys.displayhook = lambda value: None if value is None else show(value)
    try:
        for statement in statements:
            code = compile(statement + "\n", f"<guide {name}>", "single", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            result = eval(code, namespace)
            if code.co_flags & inspect.CO_COROUTINE:
                loop.run_until_complete(result)
        # The session ends: its async clients are closed while their event loop still runs.
        for value in namespace.values():
            if isinstance(value, AsyncInferenceClient):
                loop.run_until_complete(value.close())
    finally:
        sys.displayhook = hook
        loop.close()


@pytest.fixture
def gateway(fixture_server: FixtureServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FixtureServer:
    """Hub, router and every provider's own host at the fixture server; a logged-in user; a fresh cwd."""
    monkeypatch.setenv("HF_ENDPOINT", fixture_server.host_url(HUB))
    monkeypatch.setenv("OMNIINFER_ROUTER_URL", fixture_server.host_url(ROUTER))
    for provider in REGISTRY.values():
        if provider.direct_url and provider.direct_url.startswith("https://"):
            monkeypatch.setenv(env_name(provider.id), fixture_server.host_url(urlsplit(provider.direct_url).netloc))
    monkeypatch.setenv(env_name("fal-ai", "_QUEUE"), fixture_server.host_url("queue.fal.run"))
    monkeypatch.setenv("HF_TOKEN", USER_TOKEN)
    monkeypatch.chdir(tmp_path)
    return fixture_server


# ---- scripted answers shared by several examples ---------------------------------------------------

FLUX = "black-forest-labs/FLUX.1-schnell"
LLAMA3 = "meta-llama/Meta-Llama-3-8B-Instruct"
QWEN = "Qwen/Qwen2.5-72B-Instruct"


def _completion(message: dict[str, Any], finish_reason: str = "stop") -> dict[str, Any]:
    return {
        "id": "cmpl-1",
        "object": "chat.completion",
        "created": 1719907176,
        "model": "served-model",
        "choices": [{"index": 0, "finish_reason": finish_reason, "message": {"role": "assistant", **message}}],
        "usage": {"prompt_tokens": 17, "completion_tokens": 8, "total_tokens": 25},
    }


def _chunks(*deltas: dict[str, Any], finish_reason: str = "stop") -> list[Any]:
    events: list[Any] = [
        {
            "id": "cmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "served-model",
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        }
        for delta in deltas
    ]
    events[-1]["choices"][0]["finish_reason"] = finish_reason
    return [*events, "data: [DONE]\n\n"]


def _replicate_flux(guide: Guide, host: str, path_prefix: str = "") -> None:
    """FLUX.1-schnell on replicate, answered (with `Prefer: wait`) by a finished prediction."""
    guide.model(FLUX, "text-to-image", replicate=("black-forest-labs/flux-schnell", "text-to-image"))
    image = guide.file("replicate.delivery", "/xezq/out-0.webp", _png(), "image/png")
    path = f"{path_prefix}/v1/models/black-forest-labs/flux-schnell/predictions"
    guide.server.add("POST", path, host=host, json={"id": "p1", "status": "succeeded", "output": [image]})


def _assert_replicate_prediction(guide: Guide, host: str, key: str, prompt: str) -> None:
    sent = guide.post(host)
    assert sent.path.endswith("/v1/models/black-forest-labs/flux-schnell/predictions")
    assert sent.headers["authorization"] == f"Bearer {key}"
    assert sent.headers["prefer"] == "wait"
    assert sent.json() == {"input": {"prompt": prompt}}
    (download,) = [r for r in guide.server.requests if r.host == "replicate.delivery"]
    assert "authorization" not in download.headers


# ---- one scenario per example ------------------------------------------------------------------------

SCENARIOS: dict[str, Callable[[Guide], None]] = {}


def scenario(*example_ids: str) -> Callable[[Callable[[Guide], None]], Callable[[Guide], None]]:
    def register(fn: Callable[[Guide], None]) -> Callable[[Guide], None]:
        for example_id in example_ids:
            SCENARIOS[example_id] = fn
        return fn

    return register


@scenario("getting-started-1")
def _replicate_text_to_image(guide: Guide) -> None:
    _replicate_flux(guide, "api.replicate.com")
    ran = guide.run()
    assert isinstance(ran.namespace["replicate_image"], Image.Image)
    with Image.open("flying_car.png") as saved:
        assert (saved.format, saved.size) == ("PNG", (4, 3))
    prompt = "A flying car crossing a futuristic cityscape."
    _assert_replicate_prediction(guide, "api.replicate.com", "my_replicate_api_key", prompt)


@scenario("getting-started-2")
def _together_chat(guide: Guide) -> None:
    guide.model(LLAMA3, together=("meta-llama/Meta-Llama-3-8B-Instruct-Turbo", "conversational"))
    answer = _completion({"content": "The capital of France is Paris."}, finish_reason="eos_token")
    guide.server.add("POST", "/v1/chat/completions", host="api.together.xyz", json=answer)
    (output,) = guide.run().displayed
    assert isinstance(output, ChatCompletionOutput)
    assert output.choices[0].message.content == "The capital of France is Paris."
    assert output.usage is not None and output.usage.total_tokens == 25
    sent = guide.post("api.together.xyz")
    assert sent.headers["authorization"] == "Bearer my_together_api_key"
    assert sent.json() == {
        "model": "meta-llama/Meta-Llama-3-8B-Instruct-Turbo",
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
        "max_tokens": 100,
        "stream": False,
    }


# The client an example builds, used for one call: where it goes and with which key.
_CLIENT_DESTINATIONS = {
    "using-a-specific-provider-1": ("api.replicate.com", "", "my_replicate_api_key"),
    "authentication-1": (ROUTER, "/replicate", "hf_****"),
    "authentication-2": (ROUTER, "/replicate", "hf_****"),
    "authentication-3": ("api.replicate.com", "", "r8_****"),
}


@scenario(*_CLIENT_DESTINATIONS)
def _replicate_client(guide: Guide) -> None:
    host, prefix, key = _CLIENT_DESTINATIONS[guide.example.id]
    _replicate_flux(guide, host, prefix)
    client = guide.run().namespace["client"]
    with client:
        image = client.text_to_image("A flying car crossing a futuristic cityscape.", model=FLUX)
    assert isinstance(image, Image.Image)
    _assert_replicate_prediction(guide, host, key, "A flying car crossing a futuristic cityscape.")
    assert all(r.host in (host, HUB, "replicate.delivery") for r in guide.server.requests)


@scenario("using-a-specific-model-1")
def _model_on_client_or_call(guide: Guide) -> None:
    # The guide's model is a stand-in; the Hub here maps it to a together image model.
    llama = "meta-llama/Llama-3.1-8B-Instruct"
    guide.model(llama, together=("together/llama-image", "text-to-image"))
    b64 = base64.b64encode(_png()).decode()
    guide.server.add("POST", "/together/v1/images/generations", host=ROUTER, json={"data": [{"b64_json": b64}]})
    images = guide.run().displayed
    assert len(images) == 2 and all(isinstance(image, Image.Image) for image in images)
    for sent in guide.posts():
        assert sent.headers["authorization"] == f"Bearer {USER_TOKEN}"
        assert sent.json()["model"] == "together/llama-image"
        assert sent.json()["prompt"] == "An astronaut riding a horse on the moon."


@scenario("using-inference-endpoints-1")
def _endpoint_url(guide: Guide) -> None:
    host = "uu149rez6gw9ehej.eu-west-1.aws.endpoints.huggingface.cloud"
    guide.server.add("POST", "/deepfloyd-if", host=host, body=_png(), headers={"Content-Type": "image/png"})
    ran = guide.run()
    assert isinstance(ran.namespace["client"], InferenceClient)
    (image,) = ran.displayed
    assert image.size == (4, 3)
    sent = guide.post(host)
    assert sent.json()["inputs"] == "An astronaut riding a horse on the moon."
    assert not [r for r in guide.server.requests if r.host in (HUB, ROUTER)]  # no Hub, no router


@scenario("using-local-endpoints-1")
def _local_server(guide: Guide) -> None:
    answer = _completion({"content": "The capital of France is Paris."})
    guide.server.add("POST", "/v1/chat/completions", host="localhost:8080", json=answer)
    assert guide.run().stdout == "The capital of France is Paris.\n"
    sent = guide.post("localhost:8080")
    assert sent.json()["messages"] == [{"role": "user", "content": "What is the capital of France?"}]
    assert sent.json()["max_tokens"] == 100


@scenario("openai-compatibility-1")
def _openai_drop_in(guide: Guide) -> None:
    counting = _chunks({"role": "assistant", "content": "1"}, *({"content": str(n)} for n in range(2, 11)))
    guide.server.add("POST", "/v1/chat/completions", host="my-gateway.example", sse=counting)
    assert guide.run().stdout.split() == [str(n) for n in range(1, 11)]
    sent = guide.post("my-gateway.example")
    assert sent.headers["authorization"] == "Bearer my_gateway_key"
    body = sent.json()
    assert (body["model"], body["stream"], body["max_tokens"]) == (LLAMA3, True, 1024)
    assert body["messages"][0] == {"role": "system", "content": "You are a helpful assistant."}


@scenario("openai-compatibility-2")
def _openai_async(guide: Guide) -> None:
    guide.model(LLAMA3, together=("meta-llama/Meta-Llama-3-8B-Instruct-Turbo", "conversational"))
    words = _chunks({"role": "assistant", "content": "This is"}, {"content": " a test."})
    guide.server.add("POST", "/together/v1/chat/completions", host=ROUTER, sse=words)
    assert guide.run().stdout == "This is a test."
    sent = guide.post(ROUTER)
    assert sent.headers["authorization"] == f"Bearer {USER_TOKEN}"
    assert sent.json()["stream"] is True
    assert sent.json()["model"] == "meta-llama/Meta-Llama-3-8B-Instruct-Turbo"


@scenario("function-calling-1")
def _tool_call(guide: Guide) -> None:
    guide.model(QWEN, nebius=("Qwen/Qwen2.5-72B-Instruct-fast", "conversational"))
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"location": "London, UK"}'},
    }
    answer = _completion({"content": None, "tool_calls": [call]}, finish_reason="tool_calls")
    guide.server.add("POST", "/nebius/v1/chat/completions", host=ROUTER, json=answer)
    ran = guide.run()
    assert ran.stdout == '{"location": "London, UK"}\n'
    body = guide.post(ROUTER).json()
    assert body["tools"] == ran.namespace["tools"]
    assert body["tool_choice"] == "auto"


@scenario("structured-outputs--json-mode-1")
def _structured_output(guide: Guide) -> None:
    guide.model("Qwen/Qwen3-32B", cerebras=("qwen-3-32b", "conversational"))
    book = {"name": "The Great Gatsby", "authors": ["F. Scott Fitzgerald"]}
    answer = _completion({"content": orjson.dumps(book).decode()})
    guide.server.add("POST", "/cerebras/v1/chat/completions", host=ROUTER, json=answer)
    ran = guide.run()
    message = ran.namespace["completion"].choices[0].message
    assert orjson.loads(message.content) == book
    assert "The Great Gatsby" in ran.stdout
    body = guide.post(ROUTER).json()
    assert body["response_format"] == {"type": "json_schema", "json_schema": ran.namespace["json_schema"]}
    assert body["model"] == "qwen-3-32b"


@scenario("async-client-2")
def _async_session(guide: Guide) -> None:
    guide.recommended(text_to_image="black-forest-labs/FLUX.1-dev", text_generation="Qwen/Qwen2.5-7B")
    guide.server.add(
        "POST",
        "/hf-inference/models/black-forest-labs/FLUX.1-dev",
        host=ROUTER,
        body=_png(),
        headers={"Content-Type": "image/png"},
    )
    words = [" a", " platform", " for", " sharing."]
    tokens: list[dict[str, Any]] = [
        {"token": {"id": i, "text": w, "logprob": 0.0, "special": False}} for i, w in enumerate(words)
    ]
    tokens[-1].update(generated_text="".join(words), details=None)
    guide.server.add("POST", "/hf-inference/models/Qwen/Qwen2.5-7B", host=ROUTER, sse=tokens)
    ran = guide.run()
    assert ran.stdout == " a platform for sharing."
    with Image.open("astronaut.png") as saved:
        assert saved.size == (4, 3)
    image_call, generation = guide.posts(ROUTER)
    assert image_call.json()["inputs"] == "An astronaut riding a horse on the moon."
    assert generation.json()["stream"] is True
    assert generation.json()["inputs"] == "The Huggingface Hub is"


@scenario("mcp-client-1")
def _mcp_client(guide: Guide) -> None:
    guide.model(QWEN, nebius=("Qwen/Qwen2.5-72B-Instruct-fast", "conversational"))
    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "get-tiny-image", "arguments": "{}"}}
    turn = _chunks(
        {"role": "assistant", "content": "Let me draw it."}, {"tool_calls": [call]}, finish_reason="tool_calls"
    )
    guide.server.add("POST", "/nebius/v1/chat/completions", host=ROUTER, sse=turn)
    ran = guide.run()
    assert ran.stdout.startswith("Let me draw it.\nCalled tool 'get-tiny-image'. Result: '")
    assert "image/png" in ran.stdout
    body = guide.post(ROUTER).json()
    assert body["stream"] is True
    assert "get-tiny-image" in [tool["function"]["name"] for tool in body["tools"]]


@scenario("billing-1")
def _bill_to(guide: Guide) -> None:
    guide.model(FLUX, "text-to-image", fal_ai=("fal-ai/flux/schnell", "text-to-image"))
    image = guide.file("v3.fal.media", "/files/lion.png", _png((8, 8)), "image/png")
    guide.server.add("POST", "/fal-ai/fal-ai/flux/schnell", host=ROUTER, json={"images": [{"url": image}]})
    ran = guide.run()
    assert ran.namespace["image"].size == (8, 8)
    assert Path("lion.png").read_bytes().startswith(b"\x89PNG")
    sent = guide.post(ROUTER)
    assert sent.headers["x-hf-bill-to"] == "openai"
    assert sent.headers["authorization"] == f"Bearer {USER_TOKEN}"
    assert sent.json()["prompt"] == "A majestic lion in a fantasy forest"
    (download,) = [r for r in guide.server.requests if r.host == "v3.fal.media"]
    assert "x-hf-bill-to" not in download.headers and "authorization" not in download.headers


@scenario("timeout-1")
def _timeout(guide: Guide) -> None:
    guide.recommended(text_to_image="black-forest-labs/FLUX.1-dev")
    path = "/hf-inference/models/black-forest-labs/FLUX.1-dev"
    guide.server.add("POST", path, host=ROUTER, body=_png(), headers={"Content-Type": "image/png"})
    ran = guide.run()
    assert ran.stdout == ""  # answered well within the 30 s
    (image,) = ran.displayed
    assert isinstance(image, Image.Image)


@scenario("binary-inputs-1")
def _image_url_input(guide: Guide) -> None:
    guide.recommended(image_classification="google/vit-base-patch16-224")
    photo = _jpeg()
    path = "/wikipedia/commons/thumb/4/43/Cute_dog.jpg/320px-Cute_dog.jpg"
    guide.file("upload.wikimedia.org", path, photo, "image/jpeg")
    labels = [{"score": 0.9779096841812134, "label": "Blenheim spaniel"}, {"score": 0.01, "label": "papillon"}]
    guide.server.add("POST", "/hf-inference/models/google/vit-base-patch16-224", host=ROUTER, json=labels)
    (output,) = guide.run().displayed
    assert all(isinstance(element, ImageClassificationOutputElement) for element in output)
    assert output[0].label == "Blenheim spaniel"
    sent = guide.post(ROUTER)
    assert sent.body == photo
    assert sent.headers["authorization"] == f"Bearer {USER_TOKEN}"
    (download,) = [r for r in guide.server.requests if r.host == "upload.wikimedia.org"]
    assert "authorization" not in download.headers


# ---- the tests ------------------------------------------------------------------------------------------

# Examples that show a gap of omniinfer: each fails until the library is fixed (then drop its line).
XFAIL: dict[str, str] = {}


def _cases() -> Iterator[Any]:
    for example_id in EXAMPLES:
        if example_id in guide_examples.NOT_RUN:
            continue
        marks = [pytest.mark.xfail(strict=True, reason=XFAIL[example_id])] if example_id in XFAIL else []
        yield pytest.param(example_id, id=example_id, marks=marks)


@pytest.fixture
def mcp_url(request: pytest.FixtureRequest) -> dict[str, str]:
    """The example's MCP server (a Gradio Space) played by the `everything` reference server over SSE."""
    if request.node.callspec.params["example_id"] != "mcp-client-1":
        return {}
    url = request.getfixturevalue("everything_sse_url")
    return {"https://evalstate-flux1-schnell.hf.space/gradio_api/mcp/sse": url}


@pytest.mark.parametrize("example_id", list(_cases()))
def test_example(example_id: str, gateway: FixtureServer, mcp_url: dict[str, str]) -> None:
    guide = Guide(EXAMPLES[example_id], gateway, mcp_url)
    SCENARIOS[example_id](guide)
    guide.end()


def test_every_example_is_run_or_listed() -> None:
    assert len(EXAMPLES) >= 18, "the guide could not be read as expected"
    for example_id, example in EXAMPLES.items():
        if example_id in guide_examples.NOT_RUN:
            assert example_id not in SCENARIOS, f"{example_id} is both run and listed as not run"
        else:
            assert example_id in SCENARIOS, f"guide example {example_id} is neither run nor listed:\n{example.text}"
        assert example.kind != "shell" or example_id in guide_examples.NOT_RUN
    tables: list[dict[str, Any]] = [
        SCENARIOS,
        guide_examples.NOT_RUN,
        guide_examples.PRELUDES,
        guide_examples.PLACEHOLDERS,
        XFAIL,
    ]
    stale = {key for table in tables for key in table} - set(EXAMPLES)
    assert not stale, f"entries for examples the guide no longer has: {sorted(stale)}"


def test_placeholders_and_preludes_apply() -> None:
    for example_id in {*guide_examples.PLACEHOLDERS, *guide_examples.PRELUDES}:
        runnable = guide_examples.program(EXAMPLES[example_id])
        assert "(...)" not in runnable.source and "=...," not in runnable.source and "(...," not in runnable.source
        mode = "single" if runnable.kind == "doctest" else "exec"
        for statement in runnable.statements:
            compile(statement + "\n", example_id, mode, flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_docs_guide_maps_every_section() -> None:
    text = DOCS_GUIDE.read_text(encoding="utf-8")
    for section in guide_examples.sections(guide_examples.GUIDE.read_text(encoding="utf-8")):
        assert section.title in text, f"docs/guide.md does not mention the guide section {section.title!r}"
    for link in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if not link.startswith("http"):
            assert (DOCS_GUIDE.parent / link).exists(), f"docs/guide.md links to a missing page: {link}"


# ---- the extractor itself -----------------------------------------------------------------------------

SAMPLE = r"""[](#intro)Intro
===============

Some prose.

Copied

\>>> from huggingface\_hub import InferenceClient
\# a comment
\>>> client = InferenceClient(
    provider="x",
)
\>>> client.call(\[1, 2\])
\[{'score': 0.5}, ...\]
\>>> for i in range(2):
...     print(i)
0
1

Prose after the block, which is a sentence.

### [](#sub-part)Sub part

Copied

\- from openai import OpenAI
\+ from huggingface\_hub import InferenceClient

client = InferenceClient(api\_key="k")

print(f"\\n{client}")

More prose.

Copied

pip install huggingface\_hub\[inference\]
\# or
tiny-agents run some/agent

The end.
"""


def test_extractor_reads_doctest_script_and_shell_blocks() -> None:
    first, second, third = guide_examples.parse(SAMPLE)
    assert (first.id, first.kind, first.section) == ("intro-1", "doctest", Section("intro", "Intro"))
    assert first.statements == (
        "from omniinfer import InferenceClient",
        '# a comment\nclient = InferenceClient(\n    provider="x",\n)',
        "client.call([1, 2])",
        "for i in range(2):\n    print(i)",
    )
    assert first.outputs == ("[{'score': 0.5}, ...]", "0", "1")
    assert (second.id, second.kind, second.section.title) == ("sub-part-1", "script", "Sub part")
    assert second.source == (
        'from omniinfer import InferenceClient\n\nclient = InferenceClient(api_key="k")\n\nprint(f"\\n{client}")\n'
    )
    assert (third.id, third.kind, third.statements) == ("sub-part-2", "shell", ())
    assert third.text.splitlines()[0] == "pip install omniinfer[inference]"
    assert [s.title for s in guide_examples.sections(SAMPLE)] == ["Intro", "Sub part"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [(r"huggingface\_hub", "huggingface_hub"), (r"\>>> x = \[1\]", ">>> x = [1]"), (r'"\\n"', r'"\n"'), ("a_b", "a_b")],
)
def test_unescape(line: str, expected: str) -> None:
    assert guide_examples.unescape(line) == expected


def test_open_brackets_continue_a_statement() -> None:
    assert guide_examples.needs_more("x = f(\n  1,")
    assert guide_examples.needs_more('s = """abc')
    assert not guide_examples.needs_more("x = f(1)")


def test_prose_is_told_from_code() -> None:
    assert guide_examples.is_prose("In the example above, we used a provider.")
    assert guide_examples.is_prose("[< > Update on GitHub](https://example.com)")
    for code in ("async def main():", "asyncio.run(main())", "for chunk in output:", "pip install x", "# note"):
        assert not guide_examples.is_prose(code)


def test_a_missing_placeholder_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(guide_examples.PLACEHOLDERS, "intro-1", {"nowhere(...)": "x"})
    with pytest.raises(LookupError, match="nowhere"):
        guide_examples.program(guide_examples.parse(SAMPLE)[0])
