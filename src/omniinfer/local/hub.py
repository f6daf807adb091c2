"""GGUF models from the Hugging Face Hub, as users of local runners expect: `owner/repo`,
`owner/repo:Q4_K_M` (a quantisation), `owner/repo:file.gguf` or `owner/repo/file.gguf`.

The file is chosen from the repository's listing (`/api/models/{repo}/revision/{rev}?blobs=true`,
which also gives each file's size and sha256), downloaded from `/{repo}/resolve/{commit}/{file}`
with resume (`Range`), checked against its sha256 and kept under `$OMNIINFER_HOME/hub`:

    hub/{owner}--{name}/refs/{revision}            the commit the revision pointed to
    hub/{owner}--{name}/snapshots/{commit}/...      the files, under their names in the repository
    hub/{owner}--{name}/snapshots/{commit}/.listing the listing, so the choice works offline

A file only gets its final name once its digest matched, so a cached file is a checked file.
Split models (`name-00001-of-00003.gguf`) are downloaded whole, side by side, as llama.cpp wants.
The stored Hugging Face token goes to the Hub host only (a redirect to a storage host drops it).
When the Hub cannot be reached, or `HF_HUB_OFFLINE=1`, the cached snapshot of the revision is used.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from omniinfer._core.notices import notice, quiet
from omniinfer._core.records import Request, Response
from omniinfer._core.stepping import redirect_target
from omniinfer._core.tokens import implicit_token
from omniinfer.errors import (
    IncompleteStreamError,
    InferenceConnectionError,
    InferenceError,
    InferenceTimeoutError,
)
from omniinfer.local.install import InstallError, home, locked, write_atomically
from omniinfer.providers import hub_offline, hub_url

# `owner/name`: Hub ids are letters, digits, `-`, `_` and `.`, neither starting nor ending with `-`/`.`.
_SEGMENT = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
_REFERENCE = re.compile(rf"(?P<repo>{_SEGMENT}/{_SEGMENT})(?:(?P<sep>[:/])(?P<selector>[^\s]+))?")
_SHARD = re.compile(r"^(?P<stem>.+)-(?P<index>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)
# Without a choice, the quantisation most local runners default to, then the common fallbacks.
_PREFERRED = ("q4_k_m", "q4_0", "q8_0")

CONNECT_TIMEOUT = 20.0
READ_TIMEOUT = 60.0
# Consecutive failed attempts (no byte gained between them) before a download gives up.
MAX_DOWNLOAD_ATTEMPTS = 5
_BLOCK = 1 << 20


class HubModelNotFound(LookupError):
    """The repository, or a GGUF file matching the choice, does not exist on the Hub (a 404)."""


@dataclass(frozen=True, slots=True)
class HubModel:
    """A parsed Hub reference (nothing fetched yet)."""

    repo: str
    selector: str | None  # a quantisation tag or a file name; None: the preferred quantisation
    revision: str = "main"

    def __str__(self) -> str:
        return self.repo + (f":{self.selector}" if self.selector else "")


@dataclass(frozen=True, slots=True)
class RemoteFile:
    path: str  # inside the repository
    size: int
    sha256: str | None  # the LFS digest; None for a small file kept in git


def parse(reference: str) -> HubModel | None:
    """The Hub model a reference names, or None when it is not shaped like one."""
    match = _REFERENCE.fullmatch(reference.strip())
    if match is None or ".." in reference:
        return None
    repo, selector = match["repo"], match["selector"]
    if selector is None and repo.lower().endswith(".gguf"):
        return None  # `dir/file.gguf`: a path that does not exist, not a repository
    if match["sep"] == "/" and not selector.lower().endswith(".gguf"):
        return None  # deeper paths name files only
    return HubModel(repo, selector or None)


def repo_dir(model: HubModel) -> Path:
    return home() / "hub" / model.repo.replace("/", "--")


def choose(files: list[RemoteFile], model: HubModel) -> list[RemoteFile]:
    """The GGUF file(s) the reference selects: every shard of a split model, in order."""
    ggufs = sorted(
        (f for f in files if f.path.lower().endswith(".gguf") and "mmproj" not in f.path.lower()),
        key=lambda f: f.path,
    )
    if not ggufs:
        raise HubModelNotFound(f"the Hub repository {model.repo} has no GGUF file")
    selector = (model.selector or "").lower()
    if selector.endswith(".gguf"):
        picked = [f for f in ggufs if selector in (f.path.lower(), f.path.lower().rsplit("/", 1)[-1])]
    elif selector:
        picked = [f for f in ggufs if _has_tag(f.path, selector)]
    else:
        picked = next(
            ([f for f in ggufs if _has_tag(f.path, tag)] for tag in _PREFERRED if _any_tag(ggufs, tag)), ggufs
        )
    if not picked:
        tags = sorted({_quant_tag(f.path) for f in ggufs} - {""})
        raise HubModelNotFound(
            f"no GGUF file of {model.repo} matches {model.selector!r}"
            + (f": it has {', '.join(tags)}" if tags else f": its files are {', '.join(f.path for f in ggufs)}")
        )
    return _with_shards(picked[0], ggufs)


def _has_tag(path: str, tag: str) -> bool:
    return re.search(rf"(^|[-._/]){re.escape(tag)}([-._]|$)", path.lower()) is not None


def _any_tag(files: list[RemoteFile], tag: str) -> bool:
    return any(_has_tag(f.path, tag) for f in files)


def _quant_tag(path: str) -> str:
    found = re.search(r"(?i)(?:^|[-._])((?:i?q\d[\w]*|f16|bf16|f32))(?:-\d{5}-of-\d{5})?\.gguf$", path)
    return found.group(1).upper() if found else ""


def _with_shards(first: RemoteFile, files: list[RemoteFile]) -> list[RemoteFile]:
    shard = _SHARD.match(first.path)
    if shard is None:
        return [first]
    count = int(shard["count"])
    shards = [
        f for f in files if (m := _SHARD.match(f.path)) and m["stem"] == shard["stem"] and int(m["count"]) == count
    ]
    if len(shards) != count:
        raise HubModelNotFound(f"{first.path}: the split model has {len(shards)} of its {count} parts on the Hub")
    return sorted(shards, key=lambda f: f.path)


# --- fetching ---------------------------------------------------------------------------------


def ensure_downloaded(model: HubModel) -> Path:
    """The local path of the model's (first) GGUF file, downloaded first if needed.

    Raises HubModelNotFound (no such repository or file) or InstallError (the Hub could not be
    reached and nothing is cached, a digest mismatch, a failed download)."""
    if hub_offline():
        return _cached(model, "HF_HUB_OFFLINE is set")
    from omniinfer._http.sync_transport import SyncTransport  # sockets load only when a model is fetched

    transport = SyncTransport()
    try:
        try:
            commit, files = _listing(transport, model)
        except (InferenceConnectionError, InferenceTimeoutError) as exc:
            return _cached(model, f"the Hub could not be reached ({exc})")
        chosen = choose(files, model)
        snapshot = repo_dir(model) / "snapshots" / commit
        for remote in chosen:
            target = snapshot / remote.path
            if not _complete(target, remote):
                _download(transport, model, commit, remote, target)
        _remember(model, commit, files)
        return snapshot / chosen[0].path
    finally:
        transport.close()


def _cached(model: HubModel, why: str) -> Path:
    folder = repo_dir(model)
    try:
        commit = (folder / "refs" / model.revision).read_text().strip()
        listing = json.loads((folder / "snapshots" / commit / ".listing").read_text())
        files = [RemoteFile(f["path"], f["size"], f.get("sha256")) for f in listing]
    except (OSError, ValueError, KeyError, TypeError):
        raise InstallError(f"{why}, and {model} is not in the cache ({folder})") from None
    chosen = choose(files, model)
    snapshot = folder / "snapshots" / commit
    missing = [f.path for f in chosen if not _complete(snapshot / f.path, f)]
    if missing:
        raise InstallError(f"{why}, and {', '.join(missing)} of {model} is not in the cache ({snapshot})")
    return snapshot / chosen[0].path


def _complete(path: Path, remote: RemoteFile) -> bool:
    return path.is_file() and path.stat().st_size == remote.size


def _remember(model: HubModel, commit: str, files: list[RemoteFile]) -> None:
    folder = repo_dir(model)
    listing = [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in files]
    write_atomically(folder / "snapshots" / commit / ".listing", json.dumps(listing))
    write_atomically(folder / "refs" / model.revision, commit)


def _headers(for_hub: bool) -> tuple[dict[str, str], str | None]:
    headers = {"user-agent": "omniinfer", "accept-encoding": "identity"}
    token = implicit_token() if for_hub else None
    if token:
        headers["authorization"] = f"Bearer {token}"
    return headers, token


def _listing(transport: Any, model: HubModel) -> tuple[str, list[RemoteFile]]:
    """The commit the revision points to, and the repository's files with sizes and digests."""
    url = f"{hub_url()}/api/models/{model.repo}/revision/{quote(model.revision, safe='')}?blobs=true"
    answer = _get(transport, url, {})
    try:
        body = answer.read()
    finally:
        answer.close()
    status = answer.head.status
    if status in (401, 404):  # the Hub says 401 for a repository that is missing or private
        raise HubModelNotFound(
            f"{model.repo} is not a model repository on {hub_url()} (or it is private: log in, or set HF_TOKEN)"
        )
    if status != 200:
        raise InstallError(f"the Hub answered {status} for {model.repo}: {body[:200]!r}")
    try:
        data = json.loads(body)
        commit = str(data["sha"])
        files = [
            RemoteFile(
                s["rfilename"],
                int((s.get("lfs") or {}).get("size", s.get("size", 0))),
                (s.get("lfs") or {}).get("sha256"),
            )
            for s in data["siblings"]
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise InstallError(f"unexpected listing of {model.repo} from the Hub: {exc!r}") from None
    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        raise InstallError(f"unexpected commit {commit!r} in the Hub's listing of {model.repo}")
    return commit, files


def _get(transport: Any, url: str, extra: dict[str, str]) -> Any:
    """Send a GET (following redirects; credentials never leave the Hub host) and return the answer
    with its head read and its body unread."""
    headers, token = _headers(for_hub=True)
    request = Request("GET", url, {**headers, **extra}, None, True, "hub", token)
    hops = 0
    while True:
        answer = transport.send(request, CONNECT_TIMEOUT, READ_TIMEOUT, None)
        head = answer.head
        follow = redirect_target(request, Response(head.status, head.headers, b"", answer.url), hops)
        if follow is None:
            return answer
        answer.close()
        request, hops = follow, hops + 1


def _download(transport: Any, model: HubModel, commit: str, remote: RemoteFile, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with locked(target.with_name(target.name + ".lock")):
        if _complete(target, remote):  # another process finished it while we waited
            return
        partial = _Partial(target.with_name(target.name + ".partial"), remote.size)
        url = f"{hub_url()}/{model.repo}/resolve/{commit}/{quote(remote.path)}"
        notice(f"downloading {remote.path} of {model.repo} ({remote.size / 1e6:.0f} MB) into {target.parent}")
        with _progress_bar(remote, partial.size) as advance:
            _fetch_into(transport, url, remote, partial, advance)
        if remote.sha256 and partial.digest.hexdigest() != remote.sha256:
            partial.path.unlink(missing_ok=True)
            raise InstallError(
                f"{remote.path} of {model.repo} has sha256 {partial.digest.hexdigest()}, the Hub says "
                f"{remote.sha256}: the download was discarded"
            )
        os.replace(partial.path, target)
        notice(f"downloaded {target}")


class _Partial:
    """A file being downloaded: its bytes so far and their running digest. What an interrupted
    download left is continued (its digest is taken first), unless it cannot be ours."""

    def __init__(self, path: Path, expected_size: int) -> None:
        self.path = path
        self.digest = hashlib.sha256()
        self.size = path.stat().st_size if path.exists() else 0
        if self.size > expected_size:
            self.restart()
        elif self.size:
            with path.open("rb") as done:
                while block := done.read(_BLOCK):
                    self.digest.update(block)

    def restart(self) -> None:
        self.path.unlink(missing_ok=True)
        self.digest = hashlib.sha256()
        self.size = 0

    def append(self, answer: Any, advance: Any) -> None:
        with self.path.open("ab") as out:
            for piece in answer.iter_bytes():
                out.write(piece)
                self.digest.update(piece)
                self.size += len(piece)
                advance(len(piece))


def _fetch_into(transport: Any, url: str, remote: RemoteFile, partial: _Partial, advance: Any) -> None:
    """Fill `partial` up to the file's size, resuming with a range request after each cut."""
    failures = 0
    while partial.size < remote.size:
        before = partial.size
        try:
            answer = _get(transport, url, {"range": f"bytes={before}-"} if before else {})
            status = answer.head.status
            if status == 200 and before:  # the server ignored the range: start over
                partial.restart()
                advance(-before)
            elif status == 206 and not answer.head.headers.get("content-range", "").startswith(f"bytes {before}-"):
                answer.close()
                raise InstallError(f"the Hub answered a range request for {remote.path} with another range")
            elif status not in (200, 206):
                body = answer.read()[:200]
                raise InstallError(f"the Hub answered {status} for {remote.path}: {body!r}")
            partial.append(answer, advance)
        except (InferenceConnectionError, InferenceTimeoutError, IncompleteStreamError) as exc:
            failures = 1 if partial.size > before else failures + 1  # a cut after progress starts a new count
            if failures >= MAX_DOWNLOAD_ATTEMPTS:
                raise InstallError(f"downloading {remote.path} failed {failures} times in a row: {exc}") from None
            time.sleep(min(0.2 * 2**failures, 5.0))
        except InferenceError as exc:
            raise InstallError(f"downloading {remote.path} failed: {exc}") from None
    if partial.size != remote.size:
        raise InstallError(f"{remote.path}: got {partial.size} bytes, the Hub says {remote.size}")


@contextlib.contextmanager
def _progress_bar(remote: RemoteFile, initial: int) -> Iterator[Any]:
    """A byte counter with rate and ETA on a terminal (tqdm); nothing when stderr is not a terminal
    or notices are off (`OMNIINFER_QUIET`, `--quiet`, a quiet bulk job)."""
    show = not quiet() and hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
    try:
        from tqdm import tqdm
    except ImportError:
        show = False
    if not show:
        yield lambda n: None
        return
    with tqdm(
        total=remote.size,
        initial=initial,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=remote.path.rsplit("/", 1)[-1],
        file=sys.stderr,
        leave=True,  # the finished bar stays: size, time and rate of the download
    ) as bar:
        yield bar.update


__all__ = ["HubModel", "HubModelNotFound", "RemoteFile", "choose", "ensure_downloaded", "parse"]
