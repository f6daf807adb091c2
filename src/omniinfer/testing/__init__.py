"""Helpers for testing code that uses omniinfer: record/replay cassettes (docs/testing.md).

    from omniinfer.testing import cassette

    with cassette("tests/cassettes/chat.yaml", mode="once"):
        client.chat_completion(messages)

With pytest, the `omniinfer_cassette` fixture names the file after the test and
`--omniinfer-record=none|once|all` picks the mode (this package's pytest plugin).
Needs PyYAML (`pip install omniinfer[testing]`).
"""

from __future__ import annotations

from omniinfer.testing.cassette import Cassette, CassetteError, NoRecordingError, cassette

__all__ = ["Cassette", "CassetteError", "NoRecordingError", "cassette"]
