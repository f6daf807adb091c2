"""Local models from the Hub: choosing the GGUF file, downloading it (resume, digest, credentials),
the cache and offline use, against a loopback Hub stand-in (tests/hub_stub.py)."""

from __future__ import annotations

import fcntl
import os
import pty
import random
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub_stub import COMMIT, HubStub
from omniinfer.local import hub
from omniinfer.local.hub import HubModel, HubModelNotFound, RemoteFile, choose
from omniinfer.local.install import InstallError

TOKEN = "hf_hubstubsecrettoken0123"
REPO = "test-org/Tiny-Model-GGUF"


def _bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[HubStub]:
    server = HubStub(
        repos={
            REPO: {
                "tiny-Q4_K_M.gguf": _bytes(3 << 20, 1),
                "tiny-Q8_0.gguf": _bytes(1 << 20, 2),
                "README.md": b"# tiny\n",
            }
        }
    ).start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("OMNIINFER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("Qwen/Qwen2.5-0.5B-Instruct-GGUF", HubModel("Qwen/Qwen2.5-0.5B-Instruct-GGUF", None)),
        ("owner/repo:Q4_K_M", HubModel("owner/repo", "Q4_K_M")),
        ("owner/repo:model-q8_0.gguf", HubModel("owner/repo", "model-q8_0.gguf")),
        ("owner/repo/sub/model.gguf", HubModel("owner/repo", "sub/model.gguf")),
        ("dir/missing.gguf", None),  # a path that does not exist, not a repository
        ("../etc/passwd", None),
        ("owner/re po", None),
        ("owner/repo/README.md", None),
        ("-owner/repo", None),
    ],
)
def test_references(reference: str, expected: HubModel | None) -> None:
    assert hub.parse(reference) == expected


LISTING = [
    RemoteFile("model-Q8_0.gguf", 8, "a"),
    RemoteFile("model-Q4_K_M.gguf", 4, "b"),
    RemoteFile("mmproj-model-f16.gguf", 2, "c"),
    RemoteFile("big/model-F16-00002-of-00002.gguf", 16, "d"),
    RemoteFile("big/model-F16-00001-of-00002.gguf", 16, "e"),
    RemoteFile("config.json", 1, None),
]


def test_the_choice_of_file() -> None:
    assert [f.path for f in choose(LISTING, HubModel("o/r", None))] == ["model-Q4_K_M.gguf"]
    assert [f.path for f in choose(LISTING, HubModel("o/r", "q8_0"))] == ["model-Q8_0.gguf"]
    assert [f.path for f in choose(LISTING, HubModel("o/r", "model-Q8_0.gguf"))] == ["model-Q8_0.gguf"]
    # A split model comes whole, in order, whichever part was named.
    assert [f.path for f in choose(LISTING, HubModel("o/r", "F16"))] == [
        "big/model-F16-00001-of-00002.gguf",
        "big/model-F16-00002-of-00002.gguf",
    ]
    with pytest.raises(HubModelNotFound, match=r"no GGUF file of o/r matches 'Q5_K_S': it has F16, Q4_K_M, Q8_0"):
        choose(LISTING, HubModel("o/r", "Q5_K_S"))
    with pytest.raises(HubModelNotFound, match="has no GGUF file"):
        choose([RemoteFile("config.json", 1, None)], HubModel("o/r", None))
    with pytest.raises(HubModelNotFound, match="1 of its 2 parts"):
        choose(LISTING[:4], HubModel("o/r", "F16"))


def test_download_resumes_after_a_cut_and_credentials_stay_on_the_hub(stub: HubStub) -> None:
    content = stub.repos[REPO]["tiny-Q4_K_M.gguf"]
    stub.cut_after = 1_000_000  # the network drops the first download a third of the way in
    path = hub.ensure_downloaded(HubModel(REPO, None))
    assert path.name == "tiny-Q4_K_M.gguf" and COMMIT in str(path)
    assert path.read_bytes() == content
    downloads = stub.downloads()
    assert [d.range for d in downloads] == [None, "bytes=1000000-"]  # resumed, not restarted
    # The token went to the Hub's API and resolve URLs, never to the storage host it redirects to.
    assert all(s.authorization == f"Bearer {TOKEN}" for s in stub.seen if not s.path.startswith("/cdn/"))
    assert downloads and all(d.authorization is None and d.host.startswith("localhost") for d in downloads)
    assert not list(path.parent.glob("*.partial"))


def test_an_interrupted_download_continues_in_a_later_process(stub: HubStub, tmp_path: Path) -> None:
    content = stub.repos[REPO]["tiny-Q8_0.gguf"]
    snapshot = tmp_path / "home" / "hub" / "test-org--Tiny-Model-GGUF" / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (snapshot / "tiny-Q8_0.gguf.partial").write_bytes(content[:300_000])  # left by a killed process
    path = hub.ensure_downloaded(HubModel(REPO, "Q8_0"))
    assert path.read_bytes() == content
    assert [d.range for d in stub.downloads()] == ["bytes=300000-"]


def test_a_file_whose_digest_does_not_match_is_refused(stub: HubStub) -> None:
    stub.corrupt = True
    with pytest.raises(
        InstallError, match=r"has sha256 [0-9a-f]{64}, the Hub says [0-9a-f]{64}: the download was discarded"
    ):
        hub.ensure_downloaded(HubModel(REPO, None))
    snapshot = next((Path(os.environ["OMNIINFER_HOME"]) / "hub").rglob("snapshots/*"))
    assert not [p.name for p in snapshot.iterdir() if p.suffix in (".gguf", ".partial")]


def test_the_cache_serves_when_the_hub_is_gone(stub: HubStub, monkeypatch: pytest.MonkeyPatch) -> None:
    first = hub.ensure_downloaded(HubModel(REPO, None))
    stub.stop()  # connection refused from now on
    assert hub.ensure_downloaded(HubModel(REPO, None)) == first
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub.ensure_downloaded(HubModel(REPO, None)) == first
    with pytest.raises(
        InstallError, match=r"HF_HUB_OFFLINE is set, and tiny-Q8_0.gguf of test-org/Tiny-Model-GGUF:Q8_0"
    ):
        hub.ensure_downloaded(HubModel(REPO, "Q8_0"))  # listed, but never downloaded


def test_unknown_repositories_and_files(stub: HubStub) -> None:
    with pytest.raises(HubModelNotFound, match="test-org/missing is not a model repository"):
        hub.ensure_downloaded(HubModel("test-org/missing", None))
    with pytest.raises(HubModelNotFound, match="matches 'Q2_K'"):
        hub.ensure_downloaded(HubModel(REPO, "Q2_K"))
    assert not stub.downloads()


def _download_in_child(stub: HubStub, stderr: int, *extra: str) -> subprocess.CompletedProcess[bytes]:
    code = f"from omniinfer.local import hub; hub.ensure_downloaded(hub.HubModel({REPO!r}, None))"
    return subprocess.run(
        [sys.executable, "-c", code, *extra], stderr=stderr, stdout=subprocess.DEVNULL, timeout=60, env=dict(os.environ)
    )


def test_a_progress_bar_on_a_terminal_and_none_elsewhere(stub: HubStub, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tqdm", reason="the progress bar comes with omniinfer[local]")
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
    try:
        assert _download_in_child(stub, follower).returncode == 0
        os.close(follower)
        shown = b""
        while True:
            try:
                piece = os.read(leader, 65536)
            except OSError:  # the terminal's other side is closed: all read
                break
            if not piece:
                break
            shown += piece
    finally:
        os.close(leader)
    text = shown.decode("utf-8", "replace")
    assert "tiny-Q4_K_M.gguf" in text and "3.00M/3.00M" in text and "B/s" in text

    # Not a terminal: the two plain lines only; quiet: nothing at all.
    monkeypatch.setenv("OMNIINFER_HOME", os.environ["OMNIINFER_HOME"] + "-2")
    piped = _download_in_child(stub, subprocess.PIPE)
    assert piped.returncode == 0 and b"B/s" not in piped.stderr and piped.stderr.count(b"\n") == 2
    monkeypatch.setenv("OMNIINFER_HOME", os.environ["OMNIINFER_HOME"] + "-3")
    monkeypatch.setenv("OMNIINFER_QUIET", "1")
    quiet = _download_in_child(stub, subprocess.PIPE)
    assert quiet.returncode == 0 and quiet.stderr == b""
