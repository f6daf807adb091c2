"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fixture_server import FixtureServer


@pytest.fixture
def fixture_server() -> Iterator[FixtureServer]:
    """A started loopback FixtureServer, stopped (stalled handlers included) after the test."""
    server = FixtureServer().start()
    try:
        yield server
    finally:
        server.stop()
