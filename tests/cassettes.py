"""Replay a recorded interaction and compare what the client sent with what was recorded."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fixture_server import FixtureServer, ReceivedRequest

SHARED = Path(os.environ.get("OMNIINFER_SHARED", Path(__file__).resolve().parent.parent.parent / "shared"))
CASSETTES = SHARED / "fixtures" / "hf_cassettes"


def load(server: FixtureServer, name: str) -> list[Any]:
    return server.load_cassette(CASSETTES / f"{name}.yaml")


def posts(server: FixtureServer) -> list[ReceivedRequest]:
    return [r for r in server.requests if r.method == "POST"]


def assert_sent_as_recorded(server: FixtureServer, recorded: list[Any]) -> None:
    """Each POST the client made matches a recorded POST: same host, path and JSON body."""
    recorded_posts = [r for r in recorded if r.method == "POST" and r.body]
    sent = posts(server)
    assert sent, "the client sent no POST"
    for request in sent:
        candidates = [r for r in recorded_posts if (r.host, r.path) == (request.host, request.path)]
        assert candidates, f"unexpected POST to {request.url}"
        assert any(c.json() == request.json() for c in candidates), (
            request.json(),
            [c.json() for c in candidates],
        )
