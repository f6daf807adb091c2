"""Opening an MCP transport (stdio, SSE, streamable HTTP) with the official `mcp` SDK.

The one place that knows the SDK's transport functions and their arguments; the client only gets
a (read stream, write stream) pair. The SDK is imported when a transport is opened, never when this
module is imported.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from omniinfer.mcp.types import SERVER_TYPES

if TYPE_CHECKING:
    from mcp.client._transport import TransportStreams

logger = logging.getLogger(__name__)

# Parameters each transport accepts (besides `allowed_tools`, which the client handles).
TRANSPORT_PARAMETERS: dict[str, frozenset[str]] = {
    "stdio": frozenset({"command", "args", "env", "cwd"}),
    "sse": frozenset({"url", "headers", "timeout", "sse_read_timeout"}),
    "http": frozenset({"url", "headers", "timeout", "sse_read_timeout", "terminate_on_close"}),
}
# The SDK's own defaults for HTTP transports: 30 s for connect/write, 5 min between stream events.
DEFAULT_TIMEOUT = 30.0
DEFAULT_SSE_READ_TIMEOUT = 300.0


def describe(type: str, params: dict[str, Any]) -> str:
    """A short human name for a server, used in logs and error messages."""
    if type == "stdio":
        return " ".join([str(params.get("command")), *map(str, params.get("args") or [])])
    return str(params.get("url"))


def check_parameters(type: str, params: dict[str, Any]) -> None:
    """Reject an unknown transport, a missing command/url or an unknown parameter, before any I/O."""
    if type not in TRANSPORT_PARAMETERS:
        raise ValueError(f"Unsupported server type: {type!r} (expected one of {', '.join(SERVER_TYPES)})")
    required = "command" if type == "stdio" else "url"
    if not isinstance(params.get(required), str) or not params[required]:
        raise ValueError(f"A {type!r} MCP server needs a {required!r} string")
    unknown = set(params) - TRANSPORT_PARAMETERS[type]
    if unknown:
        raise TypeError(
            f"Unexpected parameter(s) for a {type!r} MCP server: {', '.join(sorted(unknown))} "
            f"(accepted: {', '.join(sorted(TRANSPORT_PARAMETERS[type]))}, allowed_tools)"
        )


@contextlib.asynccontextmanager
async def open_transport(type: str, params: dict[str, Any]) -> AsyncIterator[TransportStreams]:
    """Open the transport; the streams are valid until the context exits (which stops a subprocess)."""
    check_parameters(type, params)
    if type == "stdio":
        from mcp.client.stdio import StdioServerParameters, stdio_client

        logger.info("Connecting to stdio MCP server: %s", describe(type, params))
        options: dict[str, Any] = {"command": params["command"]}
        for key in ("args", "env", "cwd"):
            if params.get(key) is not None:
                options[key] = params[key]
        if options.get("env") is not None:
            options["env"] = {str(k): str(v) for k, v in options["env"].items()}
        async with stdio_client(StdioServerParameters(**options)) as (read, write):
            yield read, write
    elif type == "sse":
        from mcp.client.sse import sse_client

        logger.info("Connecting to SSE MCP server at %s", params["url"])
        async with sse_client(
            params["url"],
            headers=params.get("headers"),
            timeout=_seconds(params.get("timeout"), DEFAULT_TIMEOUT),
            sse_read_timeout=_seconds(params.get("sse_read_timeout"), DEFAULT_SSE_READ_TIMEOUT),
        ) as (read, write):
            yield read, write
    else:
        import httpx2
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        logger.info("Connecting to streamable HTTP MCP server at %s", params["url"])
        # The SDK takes headers and timeouts through the HTTP client it is given; a client we pass
        # is ours to close, hence the nesting.
        timeout = httpx2.Timeout(
            _seconds(params.get("timeout"), DEFAULT_TIMEOUT),
            read=_seconds(params.get("sse_read_timeout"), DEFAULT_SSE_READ_TIMEOUT),
        )
        headers = {str(k): str(v) for k, v in (params.get("headers") or {}).items()}
        async with (
            create_mcp_http_client(headers=headers or None, timeout=timeout) as http_client,
            streamable_http_client(
                params["url"],
                http_client=http_client,
                terminate_on_close=bool(params.get("terminate_on_close", True)),
            ) as streams,
        ):
            yield streams[0], streams[1]


def _seconds(value: float | timedelta | None, default: float) -> float:
    # 0.33.4 documents timedelta for the HTTP transport and float for SSE; accept both everywhere.
    if value is None:
        return default
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)
