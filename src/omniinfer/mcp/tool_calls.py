"""Rebuilding complete tool calls from the pieces a streaming chat completion sends.

OpenAI-style streams send, for each call, a first delta with `index`, `id` and `function.name`,
then deltas with the same `index` carrying more `function.arguments` text. Servers differ in the
details (ids left out, names repeated in every delta, `index` missing when there is one call), so
the merge is written to accept all of them. Pure: no I/O, nothing from the SDK.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from omniinfer.mcp.types import ToolCall


@dataclass
class PendingToolCall:
    """A tool call being assembled from stream deltas."""

    index: int
    id: str | None = None
    name: str = ""
    arguments: str = ""

    def call_id(self) -> str:
        # A conversation needs an id to pair the tool message with its call; some servers omit it.
        return self.id or f"call_{self.index}"

    def as_message_tool_call(self) -> ToolCall:
        return ToolCall.parse_obj_as_instance(
            {
                "id": self.call_id(),
                "type": "function",
                "function": {"name": self.name, "arguments": self.arguments or "{}"},
            }
        )


class ToolCallAccumulator:
    """Merges `delta.tool_calls` lists, chunk after chunk, into complete calls ordered by index."""

    def __init__(self) -> None:
        self._calls: dict[int, PendingToolCall] = {}
        self._last_index: int | None = None

    def __len__(self) -> int:
        return len(self._calls)

    def add(self, deltas: Iterable[Mapping[str, Any]] | None) -> None:
        for delta in deltas or ():
            self._add_one(delta)

    def _add_one(self, delta: Mapping[str, Any]) -> None:
        call_id = delta.get("id") or None
        index = delta.get("index")
        if not isinstance(index, int):
            index = self._index_without_index(call_id)
        pending = self._calls.get(index)
        if pending is None:
            pending = self._calls[index] = PendingToolCall(index=index)
        self._last_index = index
        if call_id and not pending.id:
            pending.id = str(call_id)
        function = delta.get("function") or {}
        name = function.get("name")
        # Names come whole in the first delta; later repeats of the same name are ignored.
        if name and not pending.name:
            pending.name = str(name)
        arguments = function.get("arguments")
        if arguments:
            if isinstance(arguments, str):
                pending.arguments += arguments
            else:
                # A few servers send the arguments as an already-parsed object.
                pending.arguments += json.dumps(arguments)

    def _index_without_index(self, call_id: Any) -> int:
        """Where a delta without `index` belongs: a new call if it brings a new id, else the last one."""
        if self._last_index is None:
            return 0
        last_id = self._calls[self._last_index].id
        if call_id and last_id and call_id != last_id:
            return max(self._calls) + 1
        return self._last_index

    def calls(self) -> list[PendingToolCall]:
        return [self._calls[index] for index in sorted(self._calls)]
