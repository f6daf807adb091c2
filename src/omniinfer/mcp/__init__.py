"""MCP (Model Context Protocol) support: `MCPClient`, `Agent`, and what the tiny-agents CLI uses.

Needs the `mcp` package (`pip install 'omniinfer[mcp]'`). Names are resolved lazily so that
`import omniinfer` (and `import omniinfer.mcp`) never imports the MCP SDK or its HTTP stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omniinfer.mcp.agent import DEFAULT_SYSTEM_PROMPT, MAX_NUM_TURNS, Agent
    from omniinfer.mcp.client import MCPClient, MCPServerConnectionError
    from omniinfer.mcp.config import AgentConfig, ConfigError, InputSpec, load_agent_config
    from omniinfer.mcp.function_tools import FunctionTool, function_tool
    from omniinfer.mcp.tools import ASK_QUESTION_TOOL, EXIT_LOOP_TOOLS, TASK_COMPLETE_TOOL, format_result
    from omniinfer.mcp.types import (
        ChatMessage,
        SSEServerParameters,
        StdioServerParameters,
        StreamableHTTPParameters,
        Tool,
    )

_EXPORTS: dict[str, str] = {
    "Agent": "agent",
    "DEFAULT_SYSTEM_PROMPT": "agent",
    "MAX_NUM_TURNS": "agent",
    "MCPClient": "client",
    "MCPServerConnectionError": "client",
    "AgentConfig": "config",
    "ConfigError": "config",
    "InputSpec": "config",
    "load_agent_config": "config",
    "FunctionTool": "function_tools",
    "function_tool": "function_tools",
    "ASK_QUESTION_TOOL": "tools",
    "EXIT_LOOP_TOOLS": "tools",
    "TASK_COMPLETE_TOOL": "tools",
    "format_result": "tools",
    "ChatMessage": "types",
    "SSEServerParameters": "types",
    "StdioServerParameters": "types",
    "StreamableHTTPParameters": "types",
    "Tool": "types",
}

__all__ = [
    "ASK_QUESTION_TOOL",
    "DEFAULT_SYSTEM_PROMPT",
    "EXIT_LOOP_TOOLS",
    "MAX_NUM_TURNS",
    "TASK_COMPLETE_TOOL",
    "Agent",
    "AgentConfig",
    "ChatMessage",
    "ConfigError",
    "FunctionTool",
    "InputSpec",
    "MCPClient",
    "MCPServerConnectionError",
    "SSEServerParameters",
    "StdioServerParameters",
    "StreamableHTTPParameters",
    "Tool",
    "format_result",
    "function_tool",
    "load_agent_config",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
