"""MCPClient: a chat model plus the tools of any number of MCP servers.

The MCP protocol itself is the official `mcp` SDK's job (imported when the first server is added);
this class wires its sessions to `AsyncInferenceClient.chat_completion`: MCP tools are offered to
the model as OpenAI function tools, and the calls the model makes are run on the session that owns
the tool.

Lifetime: every server is entered into its own exit stack, kept in `self.exit_stack`; `cleanup()`
(or leaving `async with`) closes the sessions and stops stdio subprocesses. The SDK builds on anyio
task groups, which must be exited by the task that entered them: add servers and clean up from the
same task.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable, Sequence, Set
from contextlib import AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, overload

from omniinfer.async_client import AsyncInferenceClient
from omniinfer.mcp.function_tools import FunctionTool, function_tool
from omniinfer.mcp.tool_calls import PendingToolCall, ToolCallAccumulator
from omniinfer.mcp.tools import describe_arguments_error, format_result, mcp_tool_to_openai, parse_arguments
from omniinfer.mcp.transports import check_parameters, describe, open_transport
from omniinfer.mcp.types import ChatMessage, ServerType, Tool, tool_name

if TYPE_CHECKING:
    from mcp import ClientSession
    from typing_extensions import Self, Unpack

    from omniinfer.mcp.types import SSEServerParameters, StdioServerParameters, StreamableHTTPParameters
    from omniinfer.types.chat_completion import ChatCompletionStreamOutput

logger = logging.getLogger(__name__)

CLIENT_NAME = "omniinfer.MCPClient"


class MCPServerConnectionError(ConnectionError):
    """An MCP server could not be started, reached or initialized. `server` names it."""

    def __init__(self, message: str, *, server: str) -> None:
        super().__init__(message)
        self.server = server


class MCPClient:
    """Connects to MCP servers and runs chat turns in which the model may call their tools.

    Args:
        model: model id (or URL) to chat with; sent in the payload when `base_url` is set.
        provider: inference provider, as for `AsyncInferenceClient`; unused with `base_url`.
        base_url: an OpenAI-compatible server, e.g. "http://127.0.0.1:8080/v1".
        api_key: token for the provider or the server.

    At least one of `model` and `base_url` is needed.
    """

    def __init__(
        self,
        *,
        model: str | None = None,
        provider: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
    ) -> None:
        if model is None and base_url is None:
            raise ValueError("At least one of `model` or `base_url` should be set in `MCPClient`.")
        # tool name -> the session of the server that provides it
        self.sessions: dict[str, ClientSession] = {}
        # tool name -> a Python callable given with add_tool()
        self.function_tools: dict[str, FunctionTool] = {}
        self.available_tools: list[Tool] = []
        self.exit_stack = AsyncExitStack()
        self.payload_model = model
        self.client: AsyncInferenceClient = AsyncInferenceClient(
            model=None if base_url is not None else model,
            provider=provider,
            api_key=api_key,
            base_url=base_url,
        )
        self._closed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.cleanup()

    async def cleanup(self) -> None:
        """Close every MCP session (stopping stdio servers) and the inference client. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            await self.exit_stack.aclose()
        finally:
            await self.client.close()

    @overload
    async def add_mcp_server(self, type: Literal["stdio"], **params: Unpack[StdioServerParameters]) -> None: ...

    @overload
    async def add_mcp_server(self, type: Literal["sse"], **params: Unpack[SSEServerParameters]) -> None: ...

    @overload
    async def add_mcp_server(self, type: Literal["http"], **params: Unpack[StreamableHTTPParameters]) -> None: ...

    async def add_mcp_server(self, type: ServerType, **params: Any) -> None:
        """Connect to an MCP server and make its tools available to the model.

        Args:
            type: "stdio" (a subprocess: `command`, `args`, `env`, `cwd`), "sse" (`url`, `headers`,
                `timeout`, `sse_read_timeout`) or "http" for streamable HTTP (the same plus
                `terminate_on_close`). Timeouts are seconds (float or timedelta).
            allowed_tools: keep only these tools of the server (others are not offered to the model).

        A tool whose name another server (or a Python tool) already provides is skipped with a
        warning. Raises `MCPServerConnectionError` when the server cannot be started or initialized;
        nothing of that server is left running then.
        """
        if self._closed:
            raise RuntimeError("This MCPClient was cleaned up; create a new one")
        allowed_tools: Sequence[str] | None = params.pop("allowed_tools", None)
        check_parameters(type, params)
        name = f"{type} MCP server {describe(type, params)}"

        try:
            from mcp import ClientSession
            from mcp import types as mcp_types
        except ImportError as err:
            raise ImportError(
                "MCP servers need the `mcp` package (the official MCP SDK): pip install 'omniinfer[mcp]'"
            ) from err

        from omniinfer._version import __version__

        server_stack = AsyncExitStack()
        try:
            read, write = await server_stack.enter_async_context(open_transport(type, params))
            session = await server_stack.enter_async_context(
                ClientSession(read, write, client_info=mcp_types.Implementation(name=CLIENT_NAME, version=__version__))
            )
            await session.initialize()
            tools = await _list_all_tools(session)
        except BaseException as err:
            # The HTTP transports report a connection failure when their task group closes: the
            # body sees only the cancellation, so the error of aclose() is the one to report.
            cause: BaseException = err
            try:
                await server_stack.aclose()
            except BaseException as close_error:
                cause = close_error
            if isinstance(cause, Exception):
                raise MCPServerConnectionError(
                    f"Could not connect to {name}: {_error_text(cause)}", server=name
                ) from cause
            raise err  # a real cancellation (or KeyboardInterrupt): let it through
        self.exit_stack.push_async_callback(server_stack.aclose)
        logger.debug("Connected to %s with tools %s", name, [tool.name for tool in tools])

        if allowed_tools is not None:
            allowed = set(allowed_tools)
            tools = [tool for tool in tools if tool.name in allowed]
        for tool in tools:
            if self._has_tool(tool.name):
                logger.warning("Tool '%s' already defined by another server. Skipping.", tool.name)
                continue
            self.sessions[tool.name] = session
            self.available_tools.append(mcp_tool_to_openai(tool))

    def add_tool(
        self, func: Callable[..., Any], *, name: str | None = None, description: str | None = None
    ) -> FunctionTool:
        """Offer a Python callable (sync or async) to the model as a tool; see `function_tools`."""
        tool = function_tool(func, name=name, description=description)
        if self._has_tool(tool.name):
            logger.warning("Tool '%s' already defined by another server. Skipping.", tool.name)
            return tool
        self.function_tools[tool.name] = tool
        self.available_tools.append(tool.definition())
        return tool

    def _has_tool(self, name: str) -> bool:
        return name in self.sessions or name in self.function_tools

    async def process_single_turn_with_tools(
        self,
        messages: list[Any],
        exit_loop_tools: list[Tool] | None = None,
        exit_if_first_chunk_no_tool: bool = False,
    ) -> AsyncGenerator[ChatCompletionStreamOutput | ChatMessage, None]:
        """One model turn: stream a chat completion with the tools, then run the calls it made.

        Yields every stream chunk, then one tool message per call. `messages` is extended in place
        with the assistant message (with its `tool_calls`) and the tool messages.

        Args:
            messages: the conversation so far (dicts or `ChatMessage`s).
            exit_loop_tools: extra tools (offered first) whose call ends the turn: each gets an
                empty tool message, yielded last, and nothing is executed for it.
            exit_if_first_chunk_no_tool: end the turn, without recording anything, as soon as the
                model starts answering with text instead of a tool call.

        Tool arguments that are not a JSON object, unknown tools and failing tools all become a
        tool message that says what went wrong, so that the model can correct itself.
        """
        exit_tools = list(exit_loop_tools or [])
        exit_names = {tool_name(tool) for tool in exit_tools}
        tools = [*exit_tools, *self.available_tools]
        stream = await self.client.chat_completion(
            messages,
            model=self.payload_model,
            stream=True,
            # Some servers reject an empty `tools` list, and tool_choice without tools.
            tools=tools or None,
            tool_choice="auto" if tools else None,
        )

        role = "assistant"
        content: list[str] = []
        calls = ToolCallAccumulator()
        async for chunk in stream:
            delta = chunk.choices[0].delta if chunk.choices else None
            if delta is not None:
                if delta.role:
                    role = delta.role
                if delta.content:
                    content.append(delta.content)
                calls.add(delta.tool_calls)
                if exit_if_first_chunk_no_tool and delta.content and not calls:
                    return
            yield chunk

        pending = calls.calls()
        text = "".join(content)
        if text or pending:
            assistant: dict[str, Any] = {"role": role, "content": text}
            if pending:
                assistant["tool_calls"] = [call.as_message_tool_call() for call in pending]
            messages.append(ChatMessage.parse_obj_as_instance(assistant))

        # The exit tools are answered last so that, when the model also called real tools in the same
        # message, those run and the conversation ends on the exit tool.
        for call in [c for c in pending if c.name not in exit_names] + [c for c in pending if c.name in exit_names]:
            message = await self.run_tool_call(call, exit_names)
            messages.append(message)
            yield message

    async def run_tool_call(self, call: PendingToolCall, exit_names: Set[str] = frozenset()) -> ChatMessage:
        """Run one complete tool call and return the tool message for it (never raises for the
        model's mistakes: bad arguments, unknown tools and tool failures are described in it)."""
        try:
            arguments = parse_arguments(call.arguments)
        except ValueError as err:
            content = describe_arguments_error(call.arguments, err)
        else:
            if call.name in exit_names:
                content = ""
            elif call.name in self.function_tools:
                content = await self.function_tools[call.name].call(arguments)
            elif call.name in self.sessions:
                try:
                    result = await self.sessions[call.name].call_tool(call.name, arguments)
                    content = format_result(result)
                except Exception as err:
                    content = f"Error: MCP tool call failed with error message: {_error_text(err)}"
            else:
                content = f"Error: No session found for tool: {call.name}"
        return ChatMessage.parse_obj_as_instance(
            {"role": "tool", "tool_call_id": call.call_id(), "name": call.name, "content": content}
        )


async def _list_all_tools(session: ClientSession) -> list[Any]:
    """All tools of a server, following pagination cursors."""
    from mcp import types as mcp_types

    tools: list[Any] = []
    cursor: str | None = None
    while True:
        params = mcp_types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            return tools


def _error_text(err: BaseException) -> str:
    """An exception as one line, also for exception groups from anyio task groups."""
    # Duck-typed: BaseExceptionGroup is not a builtin on Python 3.10.
    while isinstance(getattr(err, "exceptions", None), tuple) and len(err.exceptions) == 1:  # type: ignore[attr-defined]
        err = err.exceptions[0]  # type: ignore[attr-defined]
    text = str(err) or type(err).__name__
    return text if type(err).__name__ in text else f"{type(err).__name__}: {text}"
