"""Binary inputs (audio, images, documents) in every form a caller may hand them over.

bytes / bytearray / memoryview, an open binary file, a `str` or `Path` to a file, an http(s) URL
(downloaded by the client, never with the caller's token), a `data:` URL, or a PIL image. Loading is
a flow step, because a URL costs a request; everything else is read here.
"""

from __future__ import annotations

import base64
import mimetypes
import os
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeAlias
from urllib.parse import unquote_to_bytes

from omniinfer._core.records import Request, Response

if TYPE_CHECKING:
    from PIL.Image import Image

Step = Generator[Request, Response, Any]

# What the binary tasks accept (audio, images, documents).
BinaryInput: TypeAlias = "bytes | bytearray | memoryview | BinaryIO | str | os.PathLike[str] | Image"

# Leading bytes of the formats a task may receive, for when nothing else tells the type.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF", "application/pdf"),
    (b"fLaC", "audio/flac"),
    (b"OggS", "audio/ogg"),
    (b"ID3", "audio/mpeg"),
    (b"\xff\xfb", "audio/mpeg"),
    (b"\xff\xf3", "audio/mpeg"),
    (b"\xff\xf2", "audio/mpeg"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"\x1aE\xdf\xa3", "video/webm"),
)

# ISO media "ftyp" brands that are not plain MP4 video.
_FTYP_BRANDS = {b"M4A ": "audio/mp4", b"heic": "image/heic", b"heix": "image/heic", b"avif": "image/avif"}


@dataclass(frozen=True, slots=True)
class Blob:
    """Loaded binary content. `url` is kept when the caller gave an http(s) URL, for providers that
    prefer to fetch it themselves."""

    data: bytes
    mime: str | None
    url: str | None = None

    def as_data_url(self, default_mime: str = "application/octet-stream") -> str:
        return f"data:{self.mime or default_mime};base64,{base64.b64encode(self.data).decode()}"

    def as_url(self, default_mime: str = "application/octet-stream") -> str:
        """The original URL when there was one, else a data URL."""
        return self.url or self.as_data_url(default_mime)

    def b64(self) -> str:
        return base64.b64encode(self.data).decode()


def sniff(data: bytes) -> str | None:
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(data[8:12], "video/mp4")
    return None


def is_binary_input(value: Any) -> bool:
    """True for content a binary task takes as it is (not for str, which may be a path or a URL)."""
    return isinstance(value, (bytes, bytearray, memoryview, os.PathLike)) or hasattr(value, "read") or _is_pil(value)


def _is_pil(value: Any) -> bool:
    return type(value).__module__.startswith("PIL.") and hasattr(value, "save")


def load(value: Any, argument: str = "inputs") -> Step:
    """A Blob from any accepted form; raises early, naming `argument`, for anything else."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        return Blob(data, sniff(data))
    if isinstance(value, os.PathLike):
        return _read_path(Path(os.fspath(value)), argument)
    if isinstance(value, str):
        if value[:8].lower().startswith(("http://", "https://")):
            # A plain download: the caller's token stays with the inference host.
            response = yield Request("GET", value, {"user-agent": "omniinfer"}, None, False, None, None)
            mime = response.headers.get("content-type", "").split(";")[0].strip() or None
            if mime in (None, "application/octet-stream", "binary/octet-stream"):
                mime = sniff(response.body) or mimetypes.guess_type(value)[0]
            return Blob(response.body, mime, value)
        if value[:5].lower() == "data:":
            return _data_url(value, argument)
        return _read_path(Path(value), argument)
    if _is_pil(value):
        import io

        buffer = io.BytesIO()
        value.save(buffer, format="PNG")
        return Blob(buffer.getvalue(), "image/png")
    if hasattr(value, "read"):
        data = value.read()
        if not isinstance(data, (bytes, bytearray)):
            raise ValueError(f"`{argument}` must be opened in binary mode ('rb'), got a text file")
        name = getattr(value, "name", None)
        guessed = mimetypes.guess_type(name)[0] if isinstance(name, str) else None
        return Blob(bytes(data), sniff(bytes(data)) or guessed)
    raise ValueError(
        f"`{argument}` must be bytes, a binary file, a path, an http(s) or data: URL, or a PIL image; "
        f"got {type(value).__name__}"
    )


def _read_path(path: Path, argument: str) -> Blob:
    path = path.expanduser()
    try:
        exists = path.is_file()
    except (OSError, ValueError):  # a name too long for the file system, or with a NUL byte
        exists = False
    if not exists:
        raise FileNotFoundError(f"`{argument}`: no such file: {os.fspath(path)!r}")
    data = path.read_bytes()
    return Blob(data, sniff(data) or mimetypes.guess_type(path.name)[0])


def _data_url(value: str, argument: str) -> Blob:
    header, sep, payload = value[5:].partition(",")
    if not sep:
        raise ValueError(f"`{argument}` is a malformed data: URL (no comma)")
    mime = header.split(";")[0] or None
    try:
        data = base64.b64decode(payload, validate=False) if header.endswith(";base64") else unquote_to_bytes(payload)
    except ValueError as exc:
        raise ValueError(f"`{argument}` is a data: URL whose base64 payload is invalid") from exc
    return Blob(data, mime or sniff(data))
