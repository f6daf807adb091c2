"""Binary inputs in every accepted form: how each is read, which content type is detected, and
that downloads of input URLs never carry the caller's token."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from clients import Runner
from fixture_server import FixtureServer
from omniinfer._core.inputs import Blob, is_binary_input, load, sniff
from omniinfer._core.records import Request, Response

PNG_HEAD = b"\x89PNG\r\n\x1a\n"


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), "green").save(buffer, format="PNG")
    return buffer.getvalue()


def _load(value: Any, argument: str = "image") -> Blob:
    """Run the loading step with no network: forms other than URLs need none."""
    step = load(value, argument)
    try:
        request = next(step)
    except StopIteration as done:
        assert isinstance(done.value, Blob)
        return done.value
    raise AssertionError(f"unexpected request {request}")


class _PathLike:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __fspath__(self) -> str:
        return str(self.path)


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (PNG_HEAD + b"rest", "image/png"),
        (b"\xff\xd8\xff\xe0JFIF", "image/jpeg"),
        (b"GIF89a...", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"BM\x00\x00", "image/bmp"),
        (b"II*\x00", "image/tiff"),
        (b"\x00\x00\x00\x18ftypheic", "image/heic"),
        (b"%PDF-1.7", "application/pdf"),
        (b"fLaC\x00\x00", "audio/flac"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"ID3\x04", "audio/mpeg"),
        (b"\xff\xfb\x90", "audio/mpeg"),
        (b"OggS\x00", "audio/ogg"),
        (b"\x00\x00\x00\x20ftypM4A ", "audio/mp4"),
        (b"\x00\x00\x00\x18ftypmp42", "video/mp4"),
        (b"\x1aE\xdf\xa3", "video/webm"),
        (b"plain text", None),
        (b"", None),
    ],
)
def test_sniffed_content_types(data: bytes, mime: str | None) -> None:
    assert sniff(data) == mime


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview])
def test_bytes_like(wrap: Any) -> None:
    blob = _load(wrap(PNG_HEAD + b"x"))
    assert blob == Blob(PNG_HEAD + b"x", "image/png")
    assert blob.b64() == base64.b64encode(PNG_HEAD + b"x").decode()


def test_paths_as_str_path_and_pathlike(tmp_path: Path) -> None:
    file = tmp_path / "clip.wav"
    file.write_bytes(b"not really audio")
    for value in (str(file), file, _PathLike(file)):
        blob = _load(value, "audio")
        assert blob.data == b"not really audio"
        assert blob.mime in ("audio/wav", "audio/x-wav")  # from the file name, the bytes say nothing


def test_home_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "a.png").write_bytes(_png())
    assert _load("~/a.png").mime == "image/png"


def test_open_binary_file(tmp_path: Path) -> None:
    file = tmp_path / "doc.pdf"
    file.write_bytes(b"%PDF-1.4 ...")
    with file.open("rb") as handle:
        blob = _load(handle, "image")
    assert blob == Blob(b"%PDF-1.4 ...", "application/pdf")
    assert _load(io.BytesIO(b"abc")) == Blob(b"abc", None)


def test_text_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "a.txt"
    file.write_text("hello")
    with file.open() as handle, pytest.raises(ValueError, match="`image` must be opened in binary mode"):
        _load(handle)


@pytest.mark.parametrize("value", ["no/such/file.png", "", "x" * 5000, Path("/nope")])
def test_missing_files(value: Any) -> None:
    with pytest.raises(FileNotFoundError, match="`audio`"):
        _load(value, "audio")


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        _load(tmp_path)


def test_pil_image_is_sent_as_png() -> None:
    blob = _load(Image.new("L", (4, 3)))
    assert blob.mime == "image/png" and blob.data.startswith(PNG_HEAD)
    assert Image.open(io.BytesIO(blob.data)).size == (4, 3)


@pytest.mark.parametrize(
    ("url", "data", "mime"),
    [
        ("data:image/png;base64," + base64.b64encode(PNG_HEAD).decode(), PNG_HEAD, "image/png"),
        ("data:;base64," + base64.b64encode(PNG_HEAD).decode(), PNG_HEAD, "image/png"),
        ("data:text/plain,hello%20world", b"hello world", "text/plain"),
        ("DATA:audio/wav;base64,UklGRg==", b"RIFF", "audio/wav"),
    ],
)
def test_data_urls(url: str, data: bytes, mime: str) -> None:
    assert _load(url) == Blob(data, mime)


def test_malformed_data_url() -> None:
    with pytest.raises(ValueError, match="`image` is a malformed data: URL"):
        _load("data:image/png;base64")


@pytest.mark.parametrize("value", [12, 1.5, None, {"a": 1}, ["x"], object()])
def test_other_types_are_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="`image` must be bytes, a binary file, a path"):
        _load(value)


def test_is_binary_input(tmp_path: Path) -> None:
    assert all(
        is_binary_input(v) for v in (b"", bytearray(), memoryview(b""), tmp_path, io.BytesIO(), _PathLike(tmp_path))
    )
    assert is_binary_input(Image.new("L", (1, 1)))
    assert not any(is_binary_input(v) for v in ("text", 1, None, ["a"]))


def test_url_is_one_plain_get_step() -> None:
    step = load("https://cdn.example/cat", "image")
    request = next(step)
    assert isinstance(request, Request)
    assert (request.method, request.url, request.secret) == ("GET", "https://cdn.example/cat", None)
    assert "authorization" not in {k.lower() for k in request.headers}
    with pytest.raises(StopIteration) as done:
        step.send(Response(200, {"content-type": "application/octet-stream"}, PNG_HEAD, request.url))
    assert done.value.value == Blob(PNG_HEAD, "image/png", "https://cdn.example/cat")


@pytest.mark.parametrize(
    ("path", "headers", "mime"),
    [
        ("/cat.jpg", {"Content-Type": "image/jpeg; charset=binary"}, "image/jpeg"),
        ("/cat.jpg", {"Content-Type": "application/octet-stream"}, "image/jpeg"),  # from the name
        ("/blob", {"Content-Type": "application/octet-stream"}, "image/png"),  # from the bytes
    ],
)
def test_url_download_through_the_client(
    hub: FixtureServer, kind: str, path: str, headers: dict[str, str], mime: str
) -> None:
    """The input URL is fetched by the client without the token; the content type it detected is
    sent with the raw bytes."""
    body = _png() if path == "/blob" else b"jpeg-ish bytes"
    hub.add("GET", path, host="cdn.example", body=body, headers=headers)
    hub.add(
        "GET", "/api/models/org/input-url-model", host="huggingface.co", json={"pipeline_tag": "image-classification"}
    )
    hub.add(
        "POST",
        "/hf-inference/models/org/input-url-model",
        host="router.huggingface.co",
        json=[{"label": "cat", "score": 1}],
    )
    with Runner(kind, "org/input-url-model", provider="hf-inference", token="hf_secret_token") as run:
        out = run("image_classification", hub.host_url("cdn.example") + path)
    assert out[0].label == "cat"
    [download] = [r for r in hub.requests if r.host == "cdn.example"]
    assert "authorization" not in download.headers and "hf_secret_token" not in str(download.headers)
    [sent] = [r for r in hub.requests if r.method == "POST"]
    assert sent.body == body and sent.headers["content-type"] == mime
    assert sent.headers["authorization"] == "Bearer hf_secret_token"


def test_failed_download_is_an_http_error(fixture_server: FixtureServer) -> None:
    from omniinfer import InferenceHTTPError

    fixture_server.add("GET", "/gone.png", status=404, json={"error": "not found"})
    with Runner("sync", fixture_server.url + "/endpoint") as run, pytest.raises(InferenceHTTPError) as caught:
        run("image_classification", fixture_server.url + "/gone.png")
    assert caught.value.status_code == 404
    assert [r.method for r in fixture_server.requests] == ["GET"]


def test_relative_paths_are_read_from_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("x.flac").write_bytes(b"fLaC....")
    assert _load("x.flac") == Blob(b"fLaC....", "audio/flac")
    assert os.getcwd() == str(tmp_path)
