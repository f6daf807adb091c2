"""The pytest plugin (registered by the package's `pytest11` entry point): the `omniinfer_cassette`
fixture and the `--omniinfer-record` option. Loaded in every pytest run, so it imports nothing
heavy until a test asks for the fixture."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from omniinfer.testing.cassette import Cassette

# --omniinfer-record value -> cassette mode
_MODES = {"none": "replay", "once": "once", "all": "record"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("omniinfer", "omniinfer record/replay")
    group.addoption(
        "--omniinfer-record",
        choices=tuple(_MODES),
        default="none",
        help=(
            "omniinfer_cassette: none = replay only, a request with no recording fails (default); "
            "once = record the cassettes that do not exist yet; all = record every cassette anew"
        ),
    )


def cassette_path(node: pytest.Item) -> Path:
    """`<test dir>/cassettes/<test module>/<test name>.yaml` (parameters kept, unsafe characters
    replaced)."""
    name = re.sub(r"[^\w.,=+-]+", "_", node.name).strip("_")
    return Path(node.path).parent / "cassettes" / Path(node.path).stem / f"{name}.yaml"


@pytest.fixture
def omniinfer_cassette(request: pytest.FixtureRequest) -> Iterator[Cassette]:
    """Every request the test's omniinfer clients send is replayed from (or recorded to) a cassette
    named after the test; `--omniinfer-record=none|once|all` picks the mode."""
    from omniinfer.testing.cassette import cassette

    mode = _MODES[request.config.getoption("omniinfer_record")]
    assert isinstance(request.node, pytest.Item)
    with cassette(cassette_path(request.node), mode=mode) as tape:  # type: ignore[arg-type]
        yield tape
