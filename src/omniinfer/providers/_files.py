"""Reading a provider's answer: walking to the field that holds the result, decoding base64, and
downloading result files.

Result files live on storage hosts (CDNs, signed URLs) that are not the inference host, so they are
fetched with no credentials at all.
"""

from __future__ import annotations

import binascii
from collections.abc import Generator
from typing import Any

from omniinfer._core.records import Request, Response
from omniinfer.errors import MalformedResponseError
from omniinfer.providers._spec import ProviderCall, ResultHook
from omniinfer.tasks import _shapes as shapes
from omniinfer.tasks._common import decode_json, preview

Step = Generator[Any, Any, Any]
Path = tuple[str | int, ...]


def malformed(call: ProviderCall, response: Response, what: str, data: Any) -> MalformedResponseError:
    return MalformedResponseError(
        f"{call.target.provider_id or 'The server'} answered without {what}: {preview(data)}",
        url=response.url,
        provider=call.target.provider_id,
    )


def pick(data: Any, path: Path, call: ProviderCall, response: Response) -> Any:
    """`data[path[0]][path[1]]...`; a missing step is a MalformedResponseError naming the path."""
    value = data
    for step in path:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            value = None
        if value is None:
            raise malformed(call, response, "`" + _describe(path) + "`", data)
    return value


def _describe(path: Path) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def b64_bytes(value: Any, call: ProviderCall, response: Response) -> bytes:
    try:
        return shapes.b64_bytes(value)
    except (TypeError, binascii.Error, ValueError):
        raise malformed(call, response, "a base64 result", value) from None


def download(call: ProviderCall, url: Any, response: Response) -> Step:
    """The bytes of a result file: a plain GET without credentials, or the payload of a data: URL."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://", "data:")):
        raise malformed(call, response, "a result URL", url)
    if url.startswith("data:"):
        header, _, payload = url.partition(",")
        if header.endswith(";base64"):
            return b64_bytes(payload, call, response)
        from urllib.parse import unquote_to_bytes

        return unquote_to_bytes(payload)
    headers = {"user-agent": call.target.headers.get("user-agent", "omniinfer")}
    answer = yield Request("GET", url, headers, None, False, call.target.provider_id, None)
    return answer.body


def download_at(call: ProviderCall, data: Any, path: Path, response: Response) -> Step:
    """Download the file whose URL is at `path` in `data`."""
    return (yield from download(call, pick(data, path, call, response), response))


def file_at(*path: str | int) -> ResultHook:
    """A result hook: the answer is JSON holding a file URL at `path`; the output is the file."""

    def result(call: ProviderCall, response: Response) -> Step:
        data = decode_json(response, call.target.provider_id)
        return (yield from download_at(call, data, path, response))

    return result


def b64_at(*path: str | int) -> ResultHook:
    """A result hook: the answer is JSON holding the file base64-encoded at `path`."""

    def result(call: ProviderCall, response: Response) -> Step:
        data = decode_json(response, call.target.provider_id)
        return b64_bytes(pick(data, path, call, response), call, response)
        yield  # a generator like every result hook, though it needs no further request

    return result


def openai_image(call: ProviderCall, response: Response) -> Step:
    """OpenAI-style image answers: `data[0].b64_json`, or `data[0].url` when a URL was asked for."""
    data = decode_json(response, call.target.provider_id)
    first = pick(data, ("data", 0), call, response)
    if isinstance(first, dict) and first.get("b64_json") is None and first.get("url") is not None:
        return (yield from download(call, first["url"], response))
    return b64_bytes(pick(first, ("b64_json",), call, response), call, response)


def raw_bytes(call: ProviderCall, response: Response) -> Step:
    """The answer's body is the output file itself (audio from a speech route)."""
    return response.body
    yield  # a generator like every result hook, though it needs no further request
