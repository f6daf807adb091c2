"""MCPClient turns and the Agent loop with a real model (llama.cpp, Qwen2.5-0.5B, temperature 0)
and real MCP servers. The questions are ones this small model answers reliably with a tool call.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import mcp_peers
from omniinfer.mcp import Agent, ChatMessage, MCPClient
from omniinfer.mcp.agent import INTERRUPTED_TOOL_CALL
from omniinfer.mcp.tool_calls import PendingToolCall
from omniinfer.types import ChatCompletionStreamOutput

# Fixtures from tests/mcp_peers.py: pytest looks them up by name in this module.
demo_http_url = mcp_peers.demo_http_url
demo_stdio = mcp_peers.demo_stdio
llama_base_url = mcp_peers.llama_base_url
mcp_servers_installed = mcp_peers.mcp_servers_installed

pytestmark = [pytest.mark.peer, pytest.mark.timeout(60)]

WEATHER = "The weather in Paris is sunny, 18 degrees Celsius."


def _role(message: Any) -> str:
    return str(message["role"])


def get_population(city: str) -> int:
    """Get the number of people living in a city.

    Args:
        city: Name of the city.
    """
    return {"atlantis": 73512}.get(city.lower(), 1000)


def test_agent_answers_with_the_result_of_an_mcp_tool(llama_base_url: str, demo_stdio: list[str]) -> None:
    async def scenario() -> None:
        servers = [{"type": "stdio", "command": demo_stdio[0], "args": demo_stdio[1:]}]
        async with Agent(model="qwen", base_url=llama_base_url, servers=servers) as agent:
            await agent.load_tools()
            assert [t.function.name for t in agent.available_tools] == ["add", "get_weather"]
            chunks: list[ChatCompletionStreamOutput] = []
            tool_messages: list[ChatMessage] = []
            async for item in agent.run("What is the weather in Paris?"):
                if isinstance(item, ChatCompletionStreamOutput):
                    chunks.append(item)
                else:
                    tool_messages.append(item)
            assert [(m.role, m.name, m.content) for m in tool_messages] == [("tool", "get_weather", WEATHER)]
            answer = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            assert "18" in answer and "sunny" in answer.lower()
            # system, user, assistant(tool_calls), tool, assistant(answer)
            assert [_role(m) for m in agent.messages] == ["system", "user", "assistant", "tool", "assistant"]
            call = agent.messages[2]["tool_calls"][0]
            assert call["function"]["name"] == "get_weather"
            assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
            assert agent.messages[3]["tool_call_id"] == call["id"]
            assert "18" in agent.messages[4]["content"]

    asyncio.run(scenario())


def test_single_turn_streams_chunks_then_runs_the_call(llama_base_url: str, demo_http_url: str) -> None:
    async def scenario() -> None:
        async with MCPClient(model="qwen", base_url=llama_base_url) as client:
            await client.add_mcp_server("http", url=demo_http_url)
            messages: list[Any] = [{"role": "user", "content": "What is 1234 plus 4321? Use the add tool."}]
            items = [item async for item in client.process_single_turn_with_tools(messages)]
            chunks = [i for i in items if isinstance(i, ChatCompletionStreamOutput)]
            tools = [i for i in items if not isinstance(i, ChatCompletionStreamOutput)]
            assert len(chunks) > 3  # streamed: the arguments come in pieces
            assert items[-1] is tools[-1]  # tool messages come after the stream
            streamed_args = "".join(
                call.function.arguments or ""
                for c in chunks
                if c.choices
                for call in c.choices[0].delta.tool_calls or []
            )
            assert json.loads(streamed_args) == {"a": 1234, "b": 4321}
            assert [(t.role, t.name, t.content) for t in tools] == [("tool", "add", "5555")]
            assert [_role(m) for m in messages] == ["user", "assistant", "tool"]
            assert json.loads(messages[1].tool_calls[0].function.arguments) == {"a": 1234, "b": 4321}
            assert messages[2] is tools[0]

    asyncio.run(scenario())


def test_python_callable_as_a_tool(llama_base_url: str) -> None:
    async def scenario() -> None:
        async with Agent(model="qwen", base_url=llama_base_url, tools=[get_population]) as agent:
            schema = agent.available_tools[0].function
            assert schema.name == "get_population"
            assert schema.description == "Get the number of people living in a city."
            assert schema.parameters == {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "Name of the city."}},
                "required": ["city"],
            }
            items = [item async for item in agent.run("How many people live in Atlantis?")]
            tool_messages = [i for i in items if isinstance(i, ChatMessage)]
            assert [(m.name, m.content) for m in tool_messages] == [("get_population", "73512")]
            assert "73512" in agent.messages[-1]["content"]

    asyncio.run(scenario())


def test_an_exit_tool_ends_the_run(llama_base_url: str) -> None:
    async def scenario() -> None:
        async with Agent(model="qwen", base_url=llama_base_url, tools=[get_population]) as agent:
            items = [i async for i in agent.run("The task is already complete. Call the task_complete tool now.")]
            tool_messages = [i for i in items if isinstance(i, ChatMessage)]
            assert [(m.name, m.content) for m in tool_messages] == [("task_complete", "")]
            assert agent.messages[-1] is tool_messages[0]

    asyncio.run(scenario())


def test_turn_limit_stops_the_loop(llama_base_url: str) -> None:
    async def scenario() -> None:
        async with Agent(model="qwen", base_url=llama_base_url, tools=[get_population], max_turns=1) as agent:
            items = [i async for i in agent.run("How many people live in Atlantis?")]
            # one turn: the call and its result, and no second turn to answer in words
            assert [_role(m) for m in agent.messages] == ["system", "user", "assistant", "tool"]
            assert isinstance(items[-1], ChatMessage) and items[-1].content == "73512"

    asyncio.run(scenario())


def test_abort_event_stops_the_stream(llama_base_url: str) -> None:
    async def scenario() -> None:
        async with Agent(model="qwen", base_url=llama_base_url) as agent:
            abort = asyncio.Event()
            seen = 0
            async for _ in agent.run("Count from 1 to 300, separated by commas.", abort_event=abort):
                seen += 1
                if seen == 5:
                    abort.set()
            assert seen == 5
            # the cut-off answer is not recorded; the conversation can go on
            assert [_role(m) for m in agent.messages] == ["system", "user"]
            items = [i async for i in agent.run("Reply with the single word: hello")]
            assert items and _role(agent.messages[-1]) == "assistant"

    asyncio.run(scenario())


def test_exit_if_first_chunk_no_tool_ends_a_text_turn(llama_base_url: str, demo_http_url: str) -> None:
    async def scenario() -> None:
        async with MCPClient(model="qwen", base_url=llama_base_url) as client:
            await client.add_mcp_server("http", url=demo_http_url)
            messages: list[Any] = [{"role": "user", "content": "Reply with the single word: hello"}]
            items = [i async for i in client.process_single_turn_with_tools(messages, exit_if_first_chunk_no_tool=True)]
            assert not any(isinstance(i, ChatMessage) for i in items)
            text = "".join(c.choices[0].delta.content or "" for c in items if c.choices)
            assert text == ""  # stopped at the first chunk with text
            assert len(messages) == 1

    asyncio.run(scenario())


def test_model_mistakes_become_tool_messages(demo_stdio: list[str]) -> None:
    """What the model may get wrong is reported to it, on a real MCP session, instead of raising."""

    async def scenario() -> None:
        async with MCPClient(model="unused", base_url="http://127.0.0.1:9/v1") as client:
            await client.add_mcp_server("stdio", command=demo_stdio[0], args=demo_stdio[1:])
            client.add_tool(get_population)

            async def run(name: str, arguments: str) -> str:
                message = await client.run_tool_call(PendingToolCall(index=0, id="c1", name=name, arguments=arguments))
                assert (message.role, message.tool_call_id, message.name) == ("tool", "c1", name)
                return str(message.content)

            assert (await run("add", '{"a": 1, "b": ')).startswith("Invalid JSON generated by the model: ")
            assert (await run("add", "[1, 2]")).startswith("Invalid arguments generated by the model: ")
            assert await run("nope", "{}") == "Error: No session found for tool: nope"
            # the server rejects a wrong type (an error result, not an exception): its words are passed on
            wrong = await run("add", '{"a": "one", "b": 2}')
            assert wrong.startswith("Error executing tool add:") and "valid integer" in wrong
            assert await run("get_population", '{"town": "x"}') == (
                "Invalid arguments generated by the model: missing a required argument: 'city'"
            )
            assert await run("add", '{"a": 1, "b": 2}') == "3"
            # no arguments at all are sent as {} (the server then says what is missing)
            assert "Field required" in await run("add", "")

    asyncio.run(scenario())


def test_interrupted_tool_calls_are_answered_before_the_next_run(llama_base_url: str) -> None:
    async def scenario() -> None:
        async with Agent(model="qwen", base_url=llama_base_url) as agent:
            # what Ctrl+C during a tool call leaves behind: a call without its result
            agent.messages += [
                ChatMessage.from_dict({"role": "user", "content": "What is the weather in Paris?"}),
                ChatMessage.parse_obj_as_instance(
                    {
                        "role": "assistant",
                        "content": "",
                        "tool_calls": [{"id": "x1", "type": "function", "function": {"name": "w", "arguments": "{}"}}],
                    }
                ),
            ]
            items = [i async for i in agent.run("Reply with the single word: hello")]
            assert items
            roles = [_role(m) for m in agent.messages]
            assert roles[:6] == ["system", "user", "assistant", "tool", "user", "assistant"]
            assert agent.messages[3]["tool_call_id"] == "x1"
            assert agent.messages[3]["content"] == INTERRUPTED_TOOL_CALL

    asyncio.run(scenario())
