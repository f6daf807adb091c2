"""The reference client's documented snippets, ported by changing only the import.

Each snippet is written for `huggingface_hub` (as users have it) and run with `omniinfer` in its
place, against the fixture server; when huggingface_hub is installed, the sync snippets also run
with it and must print the same lines.
"""

from __future__ import annotations

import contextlib
import io
import textwrap

import pytest

from fixture_server import FixtureServer
from samples import COMPLETION, ROUTE

IMPORTS = """
from huggingface_hub import InferenceClient, AsyncInferenceClient, InferenceTimeoutError
from huggingface_hub import ChatCompletionOutput, ChatCompletionInputGrammarType, TextToImageParameters
from huggingface_hub.utils import HfHubHTTPError
from huggingface_hub.errors import (
    BadRequestError, GenerationError, IncompleteGenerationError, OverloadedError,
    TextGenerationError, UnknownError, ValidationError,
)
print(issubclass(HfHubHTTPError, OSError), issubclass(BadRequestError, ValueError))
"""

CATCH = """
from huggingface_hub import InferenceClient
from huggingface_hub.utils import HfHubHTTPError

client = InferenceClient(base_url=BASE_URL)
try:
    client.chat_completion(messages=[{"role": "user", "content": "hi"}], max_tokens=10)
except HfHubHTTPError as e:
    print(e.response.status_code, e.response.json()["error"], e.response.headers["X-Request-Id"])
    print(e.server_message, e.request_id, "Bad request" in str(e) or "400" in str(e))
"""

ASDICT = """
from dataclasses import asdict, fields, replace
from huggingface_hub import InferenceClient

client = InferenceClient(base_url=BASE_URL)
out = client.chat_completion(messages=[{"role": "user", "content": "hi"}])
data = asdict(out)
print(data["choices"][0]["message"]["content"], data["usage"], [f.name for f in fields(out)])
print(out.choices[0].message.content == out["choices"][0]["message"]["content"])
print(replace(out.choices[0].message, content="edited").content)
"""

PICKLE = """
import pickle
from huggingface_hub import InferenceClient, InferenceTimeoutError
from huggingface_hub.errors import (
    BadRequestError, GenerationError, HfHubHTTPError, IncompleteGenerationError, OverloadedError,
    TextGenerationError, UnknownError, ValidationError,
)

client = InferenceClient(base_url=BASE_URL)
client.chat_completion(messages=[{"role": "user", "content": "hi"}])
copy = pickle.loads(pickle.dumps(client))
print(copy.chat_completion(messages=[{"role": "user", "content": "hi"}]).choices[0].message.content)
for cls in (HfHubHTTPError, BadRequestError, InferenceTimeoutError, TextGenerationError, ValidationError,
            GenerationError, OverloadedError, IncompleteGenerationError, UnknownError):
    error = pickle.loads(pickle.dumps(cls("went wrong")))
    print(type(error).__name__, str(error))
"""

ASYNC_CATCH = """
import asyncio
from huggingface_hub import AsyncInferenceClient
from huggingface_hub.utils import HfHubHTTPError

async def main():
    client = AsyncInferenceClient(base_url=BASE_URL)
    try:
        await client.chat_completion(messages=[{"role": "user", "content": "hi"}])
    except HfHubHTTPError as e:
        print(e.response.status_code, e.response.json()["error"])
    finally:
        await client.close()

asyncio.run(main())
"""

BAD_REQUEST = {"error": "Bad request: max_tokens too large"}


def _run(snippet: str, package: str, base_url: str) -> list[str]:
    source = textwrap.dedent(snippet).replace("huggingface_hub", package)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, f"<{package} snippet>", "exec"), {"BASE_URL": base_url, "__name__": "__snippet__"})
    return out.getvalue().splitlines()


def _reference_installed() -> bool:
    try:
        import huggingface_hub  # noqa: F401
    except ImportError:
        return False
    return True


def _both(snippet: str, server: FixtureServer, script: dict[str, object]) -> list[str]:
    """Run the snippet with omniinfer (and with huggingface_hub when installed); same output."""
    base_url = f"{server.url}/v1"
    server.add("POST", ROUTE, **script)  # type: ignore[arg-type]
    ours = _run(snippet, "omniinfer", base_url)
    if _reference_installed():
        theirs = _run(snippet, "huggingface_hub", base_url)
        assert ours == theirs
    return ours


def test_imports(fixture_server: FixtureServer) -> None:
    assert _run(IMPORTS, "omniinfer", fixture_server.url) == ["True True"]


def test_except_http_error_reads_e_response(fixture_server: FixtureServer) -> None:
    script = {"status": 400, "json": BAD_REQUEST, "headers": {"X-Request-Id": "req-7"}}
    lines = _both(CATCH, fixture_server, script)
    assert lines == ["400 Bad request: max_tokens too large req-7", "Bad request: max_tokens too large req-7 True"]


def test_asdict_of_an_answer(fixture_server: FixtureServer) -> None:
    lines = _both(ASDICT, fixture_server, {"json": COMPLETION})
    assert lines[0].startswith("ok None ['choices', 'created', 'id', 'model', 'system_fingerprint', 'usage']")
    assert lines[1:] == ["True", "edited"]


def test_pickling_a_client_and_every_error_class(fixture_server: FixtureServer) -> None:
    fixture_server.add("POST", ROUTE, json=COMPLETION)
    lines = _run(PICKLE, "omniinfer", f"{fixture_server.url}/v1")
    assert lines[0] == "ok"
    assert len(lines) == 10 and all(line.endswith(" went wrong") for line in lines[1:])


def test_async_except_http_error(fixture_server: FixtureServer) -> None:
    fixture_server.add("POST", ROUTE, status=400, json=BAD_REQUEST)
    lines = _run(ASYNC_CATCH, "omniinfer", f"{fixture_server.url}/v1")
    assert lines == ["400 Bad request: max_tokens too large"]


@pytest.mark.parametrize("snippet", [CATCH, ASDICT, PICKLE, ASYNC_CATCH])
def test_snippets_name_only_reference_spellings(snippet: str) -> None:
    assert "omniinfer" not in snippet  # ported by the import alone
