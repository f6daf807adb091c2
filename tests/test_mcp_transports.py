"""MCPClient against real MCP servers over stdio, SSE and streamable HTTP (no chat model involved).

Servers: @modelcontextprotocol/server-everything and server-filesystem (node), mcp-server-time and
the shared demo server (Python SDK). See tests/mcp_peers.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mcp_peers
from mcp_peers import children_of, process_exists
from omniinfer.mcp import MCPClient, MCPServerConnectionError
from omniinfer.mcp.tools import format_result

# Fixtures from tests/mcp_peers.py: pytest looks them up by name in this module.
demo_http_url = mcp_peers.demo_http_url
demo_sse_url = mcp_peers.demo_sse_url
demo_stdio = mcp_peers.demo_stdio
everything_http_url = mcp_peers.everything_http_url
everything_sse_url = mcp_peers.everything_sse_url
everything_stdio = mcp_peers.everything_stdio
filesystem_stdio = mcp_peers.filesystem_stdio
mcp_servers_installed = mcp_peers.mcp_servers_installed
time_stdio = mcp_peers.time_stdio

pytestmark = [pytest.mark.peer, pytest.mark.timeout(60)]

# The chat model is never called in this module; the client only needs somewhere to point.
NO_MODEL = "http://127.0.0.1:9/v1"


def tool_names(client: MCPClient) -> list[str]:
    return [tool.function.name for tool in client.available_tools]


async def call(client: MCPClient, name: str, arguments: dict[str, object]) -> str:
    result = await client.sessions[name].call_tool(name, arguments)
    return format_result(result)


@pytest.mark.parametrize("transport", ["stdio", "sse", "http"])
def test_demo_server_over_each_transport(
    transport: str, demo_stdio: list[str], demo_sse_url: str, demo_http_url: str
) -> None:
    async def scenario() -> None:
        async with MCPClient(base_url=NO_MODEL) as client:
            if transport == "stdio":
                await client.add_mcp_server("stdio", command=demo_stdio[0], args=demo_stdio[1:])
            elif transport == "sse":
                await client.add_mcp_server("sse", url=demo_sse_url, timeout=10)
            else:
                await client.add_mcp_server("http", url=demo_http_url, timeout=10)
            assert tool_names(client) == ["add", "get_weather"]
            add = client.available_tools[0]
            # MCP input schema -> OpenAI function parameters, untouched
            assert add.type == "function"
            assert add.function.description == "Add two integers and return the sum."
            parameters = add.function.parameters
            assert parameters is not None
            assert parameters["required"] == ["a", "b"]
            assert parameters["properties"]["a"]["type"] == "integer"
            assert await call(client, "add", {"a": 20, "b": 22}) == "42"
            assert await call(client, "get_weather", {"city": "Oslo"}) == (
                "The weather in Oslo is sunny, 18 degrees Celsius."
            )

    asyncio.run(scenario())


@pytest.mark.parametrize("transport", ["stdio", "sse", "http"])
def test_everything_server_over_each_transport(
    transport: str, everything_stdio: list[str], everything_sse_url: str, everything_http_url: str
) -> None:
    async def scenario() -> None:
        async with MCPClient(base_url=NO_MODEL) as client:
            if transport == "stdio":
                await client.add_mcp_server("stdio", command=everything_stdio[0], args=everything_stdio[1:])
            elif transport == "sse":
                await client.add_mcp_server("sse", url=everything_sse_url)
            else:
                await client.add_mcp_server("http", url=everything_http_url, terminate_on_close=True)
            names = tool_names(client)
            assert {"echo", "get-sum", "get-tiny-image", "get-env"} <= set(names)
            assert len(names) == len(set(names))
            assert await call(client, "echo", {"message": "over " + transport}) == "Echo: over " + transport
            assert "5" in await call(client, "get-sum", {"a": 2, "b": 3})

    asyncio.run(scenario())


def test_time_server_over_stdio(time_stdio: list[str]) -> None:
    async def scenario() -> None:
        async with MCPClient(base_url=NO_MODEL) as client:
            await client.add_mcp_server("stdio", command=time_stdio[0], args=time_stdio[1:])
            assert set(tool_names(client)) == {"get_current_time", "convert_time"}
            answer = json.loads(await call(client, "get_current_time", {"timezone": "UTC"}))
            assert answer["timezone"] == "UTC"
            assert answer["datetime"].endswith("+00:00")

    asyncio.run(scenario())


def test_filesystem_server_over_stdio_with_cwd(filesystem_stdio: tuple[list[str], Path]) -> None:
    command, folder = filesystem_stdio
    (folder / "notes.txt").write_text("omniinfer was here\n", encoding="utf-8")

    async def scenario() -> None:
        async with MCPClient(base_url=NO_MODEL) as client:
            await client.add_mcp_server("stdio", command=command[0], args=command[1:], cwd=str(folder))
            assert {"read_text_file", "list_directory", "write_file"} <= set(tool_names(client))
            assert "omniinfer was here" in await call(client, "read_text_file", {"path": str(folder / "notes.txt")})
            listing = await call(client, "list_directory", {"path": str(folder)})
            assert "notes.txt" in listing
            await call(client, "write_file", {"path": str(folder / "out.txt"), "content": "written"})
        assert (folder / "out.txt").read_text(encoding="utf-8") == "written"

    asyncio.run(scenario())


def test_stdio_env_reaches_the_server(everything_stdio: list[str]) -> None:
    async def scenario() -> None:
        async with MCPClient(base_url=NO_MODEL) as client:
            await client.add_mcp_server(
                "stdio",
                command=everything_stdio[0],
                args=everything_stdio[1:],
                env={"OMNI_MCP_PROBE": "v-42"},
            )
            server_env = json.loads(await call(client, "get-env", {}))
            assert server_env["OMNI_MCP_PROBE"] == "v-42"

    asyncio.run(scenario())


def test_allowed_tools_filters_what_the_model_sees(everything_stdio: list[str], demo_http_url: str) -> None:
    async def scenario() -> None:
        async with MCPClient(base_url=NO_MODEL) as client:
            await client.add_mcp_server(
                "stdio",
                command=everything_stdio[0],
                args=everything_stdio[1:],
                allowed_tools=["echo", "nope"],
            )
            await client.add_mcp_server("http", url=demo_http_url, allowed_tools=[])
            assert tool_names(client) == ["echo"]
            assert set(client.sessions) == {"echo"}

    asyncio.run(scenario())


def test_duplicate_tool_names_are_skipped_with_a_warning(
    demo_stdio: list[str], demo_sse_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with MCPClient(base_url=NO_MODEL) as client:
            await client.add_mcp_server("stdio", command=demo_stdio[0], args=demo_stdio[1:])
            first_session = client.sessions["add"]
            with caplog.at_level(logging.WARNING, logger="omniinfer.mcp.client"):
                await client.add_mcp_server("sse", url=demo_sse_url)
            assert tool_names(client) == ["add", "get_weather"]
            assert client.sessions["add"] is first_session
            warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
            assert any("'add' already defined" in w for w in warnings)
            assert any("'get_weather' already defined" in w for w in warnings)

    asyncio.run(scenario())


def test_tool_results_are_formatted_for_the_model(everything_http_url: str) -> None:
    async def scenario() -> None:
        async with MCPClient(base_url=NO_MODEL) as client:
            await client.add_mcp_server("http", url=everything_http_url)
            image = await call(client, "get-tiny-image", {})
            # text, image, text: the image is summarized with its decoded size
            lines = image.split("\n")
            assert lines[0] == "Here's the image you requested:"
            assert lines[1].startswith("[Binary Content: Image image/png, ") and lines[1].endswith(" bytes]")
            assert int(lines[1].split(", ")[1].split()[0]) > 100
            text_ref = await call(client, "get-resource-reference", {"resourceType": "Text", "resourceId": 1})
            assert "This is a plaintext resource" in text_ref
            blob_ref = await call(client, "get-resource-reference", {"resourceType": "Blob", "resourceId": 2})
            assert "[Binary Content (demo://resource/dynamic/blob/2)" in blob_ref
            links = await call(client, "get-resource-links", {"count": 2})
            assert "[Resource link: " in links and "(demo://resource/" in links

    asyncio.run(scenario())


def test_cleanup_stops_every_stdio_server(
    demo_stdio: list[str], everything_stdio: list[str], time_stdio: list[str], demo_http_url: str
) -> None:
    me = os.getpid()
    before = children_of(me)

    async def scenario() -> set[int]:
        client = MCPClient(base_url=NO_MODEL)
        for command in (demo_stdio, everything_stdio, time_stdio):
            await client.add_mcp_server("stdio", command=command[0], args=command[1:])
        await client.add_mcp_server("http", url=demo_http_url)
        started = children_of(me) - before
        # one subprocess per stdio server while connected
        assert len(started) == 3, started
        await client.cleanup()
        await client.cleanup()  # idempotent
        return started

    started = asyncio.run(scenario())
    assert children_of(me) - before == set()
    assert [pid for pid in started if process_exists(pid)] == []


def test_async_with_stops_the_server_even_when_the_body_fails(demo_stdio: list[str]) -> None:
    me = os.getpid()
    before = children_of(me)

    async def scenario() -> None:
        async with MCPClient(base_url=NO_MODEL) as client:
            await client.add_mcp_server("stdio", command=demo_stdio[0], args=demo_stdio[1:])
            assert children_of(me) - before
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        asyncio.run(scenario())
    assert children_of(me) - before == set()


def test_a_server_that_cannot_start_raises_and_leaves_nothing(tmp_path: Path) -> None:
    me = os.getpid()
    before = children_of(me)
    crash = tmp_path / "crash.py"
    crash.write_text("import sys; sys.stdin.readline(); sys.exit(3)\n", encoding="utf-8")

    async def scenario() -> None:
        async with MCPClient(base_url=NO_MODEL) as client:
            with pytest.raises(MCPServerConnectionError, match="does-not-exist-omniinfer"):
                await client.add_mcp_server("stdio", command="does-not-exist-omniinfer")
            # starts, reads the initialize request, dies without answering
            with pytest.raises(MCPServerConnectionError) as info:
                await client.add_mcp_server("stdio", command=sys.executable, args=[str(crash)])
            assert "stdio MCP server" in str(info.value)
            with pytest.raises(MCPServerConnectionError):
                await client.add_mcp_server("http", url="http://127.0.0.1:9/mcp", timeout=2)
            assert client.available_tools == []
            assert children_of(me) - before == set()

    asyncio.run(scenario())
    assert children_of(me) - before == set()


def test_bad_parameters_are_rejected_before_starting_anything() -> None:
    async def scenario() -> None:
        async with MCPClient(base_url=NO_MODEL) as client:
            with pytest.raises(ValueError, match="Unsupported server type"):
                await client.add_mcp_server("websocket", url="ws://x")  # type: ignore[call-overload]
            with pytest.raises(ValueError, match="needs a 'url'"):
                await client.add_mcp_server("sse")  # type: ignore[call-overload]
            with pytest.raises(TypeError, match="commandd"):
                await client.add_mcp_server("stdio", command="x", commandd="y")  # type: ignore[call-overload]

    asyncio.run(scenario())
    with pytest.raises(ValueError, match="model"):
        MCPClient()


def test_importing_omniinfer_does_not_import_the_mcp_sdk() -> None:
    code = (
        "import sys, omniinfer, omniinfer.mcp, omniinfer.mcp.agent, omniinfer.mcp.config, "
        "omniinfer.cli.tiny_agents\n"
        "from omniinfer.mcp import Agent, MCPClient\n"
        "bad = sorted(m for m in sys.modules if m in ('mcp', 'mcp_types') or m.startswith(('mcp.', 'mcp_types.')))\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
