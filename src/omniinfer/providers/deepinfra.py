"""deepinfra: the OpenAI-compatible API under `/v1/openai`: chat, completions, embeddings, speech,
and transcriptions (a multipart upload)."""

from __future__ import annotations

import mimetypes
import uuid
from collections.abc import Generator
from typing import Any

from omniinfer._core.inputs import Blob
from omniinfer._core.jsonutil import dumps
from omniinfer._core.records import Response
from omniinfer.providers._files import pick, raw_bytes
from omniinfer.providers._payload import json_body
from omniinfer.providers._spec import Prepared, Provider, ProviderCall, native
from omniinfer.providers.openai_style import chat, completions, embeddings, max_new_tokens_as_max_tokens
from omniinfer.tasks._common import decode_json


def multipart(fields: dict[str, Any], file_field: str, blob: Blob) -> tuple[bytes, str]:
    """A multipart/form-data body holding `fields` and one file; returns (body, content type)."""
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        text = value if isinstance(value, str) else dumps(value).decode()
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{text}\r\n'.encode())
    mime = blob.mime or "application/octet-stream"
    filename = "audio" + (mimetypes.guess_extension(mime) or "")
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n'
        f"Content-Type: {mime}\r\n\r\n".encode()
        + blob.data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _transcription(call: ProviderCall) -> Prepared:
    blob = call.inputs
    if not isinstance(blob, Blob):
        raise TypeError(f"automatic-speech-recognition on deepinfra needs audio, got {type(blob).__name__}")
    fields = {"model": call.target.model_id, **call.parameters, **call.extra}
    body, content_type = multipart(fields, "file", blob)
    return Prepared(body, headers={"content-type": content_type})


def _transcript(call: ProviderCall, response: Response) -> Generator[Any, Any, Any]:
    """`{"text", "segments": [{start, end, text}]}` → the task's `{"text", "chunks"}`."""
    data = decode_json(response, call.target.provider_id)
    output: dict[str, Any] = {"text": pick(data, ("text",), call, response)}
    segments = data.get("segments")
    if isinstance(segments, list):
        output["chunks"] = [
            {"text": s.get("text", ""), "timestamp": [s.get("start"), s.get("end")]}
            for s in segments
            if isinstance(s, dict)
        ]
    return output
    yield  # a generator like every result hook, though it needs no further request


def _speech(call: ProviderCall) -> Prepared:
    return json_body(call, {"input": call.inputs, **call.parameters, "model": call.target.model_id})


DEEPINFRA = Provider(
    "deepinfra",
    "https://api.deepinfra.com",
    {
        "conversational": chat("/v1/openai/chat/completions"),
        "text-generation": completions("/v1/openai/completions", max_new_tokens_as_max_tokens),
        "feature-extraction": embeddings("/v1/openai/embeddings"),
        "automatic-speech-recognition": native("/v1/openai/audio/transcriptions", _transcription, _transcript),
        "text-to-speech": native("/v1/openai/audio/speech", _speech, raw_bytes),
    },
)
