"""Agent: a loop of model turns over an MCPClient, until the task is done.

Each `run()` adds the user's message, then runs turns (one streamed chat completion plus the tool
calls it asked for) until one of:
  * the model calls an exit tool (`task_complete`, `ask_question`);
  * the model answers without calling any tool;
  * `max_turns` turns were run (a model that calls tools forever would never stop otherwise);
  * `abort_event` is set.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from omniinfer.mcp.client import MCPClient
from omniinfer.mcp.tools import EXIT_LOOP_TOOLS
from omniinfer.mcp.types import ChatMessage, tool_name

if TYPE_CHECKING:
    from omniinfer.types.chat_completion import ChatCompletionStreamOutput

DEFAULT_SYSTEM_PROMPT = """
You are an agent: keep going until the user's query is completely resolved before you end your
turn and hand back to the user. Only stop when you are sure the problem is solved, or when you
need more information from the user.
When you are not sure about something the request depends on, use your tools to look it up and
gather the relevant information: do NOT guess or make up an answer.
Plan before each tool call and reflect on the outcome of the previous ones; do not solve the task
by tool calls alone, as that gets in the way of thinking about the problem.
""".strip()

MAX_NUM_TURNS = 10
INTERRUPTED_TOOL_CALL = "Error: this tool call was interrupted before it returned a result."


class Agent(MCPClient):
    """An MCPClient that keeps a conversation and runs the tool loop for each user message.

    Args:
        model, provider, base_url, api_key: as for `MCPClient`.
        servers: MCP server configs, each `{"type": "stdio"|"sse"|"http", ...parameters}` (the
            parameters of `add_mcp_server`, flat or under a `"config"` key). Connected by `load_tools()`.
        prompt: the system prompt (default: `DEFAULT_SYSTEM_PROMPT`).
        tools: Python callables offered as tools too (an extension over the reference client).
        max_turns: the most model turns one `run()` makes.
    """

    def __init__(
        self,
        *,
        model: str | None = None,
        servers: Iterable[Mapping[str, Any]] = (),
        provider: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        prompt: str | None = None,
        tools: Iterable[Callable[..., Any]] = (),
        max_turns: int = MAX_NUM_TURNS,
    ) -> None:
        super().__init__(model=model, provider=provider, base_url=base_url, api_key=api_key)
        if max_turns < 1:
            raise ValueError("max_turns must be at least 1")
        self._servers_cfg = [split_server_config(server) for server in servers]
        self.messages: list[Any] = [
            ChatMessage.from_dict({"role": "system", "content": prompt or DEFAULT_SYSTEM_PROMPT})
        ]
        self.max_turns = max_turns
        for func in tools:
            self.add_tool(func)

    async def load_tools(self) -> None:
        """Connect to every configured MCP server (in order) and collect their tools."""
        for server_type, params in self._servers_cfg:
            await self.add_mcp_server(server_type, **params)

    async def run(
        self, user_input: str, *, abort_event: asyncio.Event | None = None
    ) -> AsyncGenerator[ChatCompletionStreamOutput | ChatMessage, None]:
        """Answer `user_input`: yields the stream chunks of every turn and the tool messages.

        Setting `abort_event` stops the run at the next chunk or tool message.
        """
        close_interrupted_tool_calls(self.messages)
        self.messages.append(ChatMessage.from_dict({"role": "user", "content": user_input}))
        exit_names = {tool_name(tool) for tool in EXIT_LOOP_TOOLS}
        for _ in range(self.max_turns):
            if abort_event is not None and abort_event.is_set():
                return
            turn = self.process_single_turn_with_tools(self.messages, exit_loop_tools=EXIT_LOOP_TOOLS)
            # aclosing: leaving early must close the HTTP stream now, not when the generator is collected.
            async with aclosing(turn):
                async for item in turn:
                    yield item
                    if abort_event is not None and abort_event.is_set():
                        return
            last = self.messages[-1]
            if _get(last, "role") != "tool":
                return  # an answer without tool calls (or no answer at all)
            if _get(last, "name") in exit_names:
                return


def split_server_config(server: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """(type, parameters) of a server config, flat (`{"type", "command", ...}`) or nested (`"config"`)."""
    if "type" not in server:
        raise ValueError(f"An MCP server config needs a 'type' (stdio, sse or http): {dict(server)!r}")
    nested = server.get("config")
    if isinstance(nested, Mapping):
        return server["type"], dict(nested)
    return server["type"], {key: value for key, value in server.items() if key != "type"}


def close_interrupted_tool_calls(messages: list[Any]) -> None:
    """Answer tool calls left without a result by an interrupted run.

    Chat APIs reject a conversation in which an assistant's tool call has no tool message, so the
    conversation could not go on after Ctrl+C during a tool call without this.
    """
    for position in range(len(messages) - 1, -1, -1):
        message = messages[position]
        if _get(message, "role") == "assistant" and _get(message, "tool_calls"):
            answered = {_get(m, "tool_call_id") for m in messages[position + 1 :] if _get(m, "role") == "tool"}
            for call in _get(message, "tool_calls"):
                if _get(call, "id") not in answered:
                    messages.append(
                        ChatMessage.from_dict(
                            {
                                "role": "tool",
                                "tool_call_id": _get(call, "id"),
                                "name": _get(_get(call, "function") or {}, "name"),
                                "content": INTERRUPTED_TOOL_CALL,
                            }
                        )
                    )
            return
        if _get(message, "role") == "user":
            return


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)
