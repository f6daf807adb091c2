"""Shapes shared by the MCP client, the agent and the tiny-agents CLI.

Server parameters are TypedDicts (what a caller passes to `add_mcp_server`); tools and messages are
`BaseInferenceType` dicts so that they serialize as plain JSON in a chat request *and* read with
attribute access (`tool.function.name`, `message.content`) like the reference client's objects.
No import of the `mcp` SDK here: this module is loaded by code that must stay fast to import.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal, TypedDict

from omniinfer.types.chat_completion import (
    ChatCompletionInputFunctionDefinition,
    ChatCompletionInputMessage,
    ChatCompletionInputTool,
    ChatCompletionInputToolCall,
)

ServerType = Literal["stdio", "sse", "http"]
SERVER_TYPES: tuple[ServerType, ...] = ("stdio", "sse", "http")


# The required/optional split uses two classes instead of `Required[...]`, which would need
# typing_extensions on Python 3.10.
class _StdioRequired(TypedDict):
    command: str


class StdioServerParameters(_StdioRequired, total=False):
    """Parameters of a server spawned as a subprocess and spoken to over stdin/stdout."""

    args: list[str]
    env: dict[str, str]
    cwd: str | Path | None
    allowed_tools: list[str]


class _UrlRequired(TypedDict):
    url: str


class SSEServerParameters(_UrlRequired, total=False):
    """Parameters of a server reached with the legacy HTTP+SSE transport (GET /sse)."""

    headers: dict[str, Any]
    timeout: float | timedelta
    sse_read_timeout: float | timedelta
    allowed_tools: list[str]


class StreamableHTTPParameters(_UrlRequired, total=False):
    """Parameters of a server reached with the streamable HTTP transport (POST /mcp)."""

    headers: dict[str, Any]
    timeout: float | timedelta
    sse_read_timeout: float | timedelta
    terminate_on_close: bool
    allowed_tools: list[str]


class ToolFunction(ChatCompletionInputFunctionDefinition):
    """The `function` part of an OpenAI function tool."""

    # These objects are sent back to servers: a field that was never set stays out of the JSON
    # (some servers reject `"description": null`), and still reads as None.
    _blank: ClassVar[dict[str, None]] = {}

    name: str
    description: str | None
    parameters: dict[str, Any] | None


class Tool(ChatCompletionInputTool):
    """An OpenAI function tool, as sent in the `tools` list of a chat completion request."""

    _blank: ClassVar[dict[str, None]] = {}  # sparse, as ToolFunction

    type: str
    function: ToolFunction


class ToolCallFunction(ChatCompletionInputFunctionDefinition):
    _blank: ClassVar[dict[str, None]] = {}  # sparse, as ToolFunction
    name: str
    arguments: str


class ToolCall(ChatCompletionInputToolCall):
    """A complete tool call, as recorded in the assistant message of the conversation."""

    _blank: ClassVar[dict[str, None]] = {}  # sparse, as ToolFunction

    id: str
    type: str
    function: ToolCallFunction


class ChatMessage(ChatCompletionInputMessage):
    """A message of the conversation: what the agent appends to `messages` and yields for tool results."""

    _blank: ClassVar[dict[str, None]] = {}  # sparse, as ToolFunction


def make_tool(name: str, description: str | None, parameters: dict[str, Any] | None) -> Tool:
    """An OpenAI function tool; `description` is left out when there is none (some servers reject null)."""
    function: dict[str, Any] = {"name": name}
    if description is not None:
        function["description"] = description
    function["parameters"] = parameters if parameters is not None else {"type": "object", "properties": {}}
    return Tool.parse_obj_as_instance({"type": "function", "function": function})


def tool_name(tool: Any) -> str:
    """The function name of a tool given as a `Tool`, a plain dict or any object with `.function.name`."""
    if isinstance(tool, dict):
        return str(tool["function"]["name"])
    return str(tool.function.name)
