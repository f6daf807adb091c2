"""The pure pieces of the MCP support: merging streamed tool-call deltas, argument parsing, Python
callables as tools (schema from signature and docstring), and mending interrupted conversations."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
from typing import Annotated, Any, Literal, TypedDict

import pytest

from omniinfer.mcp.agent import INTERRUPTED_TOOL_CALL, close_interrupted_tool_calls, split_server_config
from omniinfer.mcp.function_tools import function_tool, parse_docstring, type_schema
from omniinfer.mcp.tool_calls import ToolCallAccumulator
from omniinfer.mcp.tools import EXIT_LOOP_TOOLS, base64_decoded_size, parse_arguments
from omniinfer.mcp.types import ChatMessage

# ---- streamed tool calls -------------------------------------------------------------------------


def test_openai_style_deltas_are_merged_by_index() -> None:
    acc = ToolCallAccumulator()
    acc.add([{"index": 0, "id": "a", "type": "function", "function": {"name": "get_weather", "arguments": ""}}])
    acc.add([{"index": 1, "id": "b", "type": "function", "function": {"name": "add", "arguments": '{"a"'}}])
    acc.add([{"index": 0, "function": {"arguments": '{"city": '}}])
    acc.add(
        [
            {"index": 1, "function": {"arguments": ': 1, "b": 2}'}},
            {"index": 0, "function": {"arguments": '"Oslo"}'}},
        ]
    )
    acc.add(None)
    calls = acc.calls()
    assert [(c.index, c.id, c.name) for c in calls] == [(0, "a", "get_weather"), (1, "b", "add")]
    assert json.loads(calls[0].arguments) == {"city": "Oslo"}
    assert json.loads(calls[1].arguments) == {"a": 1, "b": 2}
    message_call = calls[1].as_message_tool_call()
    assert message_call == {
        "id": "b",
        "type": "function",
        "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'},
    }
    assert message_call.function.name == "add"


def test_deltas_with_repeated_names_missing_ids_or_indexes() -> None:
    acc = ToolCallAccumulator()
    # a server that repeats the name in every delta and sends no id
    acc.add([{"index": 0, "function": {"name": "echo", "arguments": '{"m'}}])
    acc.add([{"index": 0, "function": {"name": "echo", "arguments": '": 1}'}}])
    (call,) = acc.calls()
    assert (call.name, call.arguments, call.call_id()) == ("echo", '{"m": 1}', "call_0")

    acc = ToolCallAccumulator()
    # no index at all: a new id starts a new call, pieces without id continue the last one
    acc.add([{"id": "x", "function": {"name": "f", "arguments": "{"}}])
    acc.add([{"function": {"arguments": "}"}}])
    acc.add([{"id": "y", "function": {"name": "g", "arguments": {"k": 1}}}])  # already-parsed arguments
    assert [(c.id, c.name, c.arguments) for c in acc.calls()] == [("x", "f", "{}"), ("y", "g", '{"k": 1}')]


def test_parse_arguments() -> None:
    assert parse_arguments('{"a": [1, 2]}') == {"a": [1, 2]}
    assert parse_arguments("") == {}
    assert parse_arguments(None) == {}
    with pytest.raises(json.JSONDecodeError):
        parse_arguments('{"a": ')
    with pytest.raises(ValueError, match="JSON object"):
        parse_arguments("[1]")


def test_base64_decoded_size() -> None:
    assert base64_decoded_size("aGVsbG8=") == 5  # "hello"
    assert base64_decoded_size("aGVsbG8h") == 6
    assert base64_decoded_size("data:image/png;base64,aGk=") == 2
    assert base64_decoded_size("") == 0


def test_exit_tools_are_parameterless_function_tools() -> None:
    assert [t.function.name for t in EXIT_LOOP_TOOLS] == ["task_complete", "ask_question"]
    for tool in EXIT_LOOP_TOOLS:
        assert tool["type"] == "function"
        assert tool["function"]["parameters"] == {"type": "object", "properties": {}}
        assert json.loads(json.dumps(tool)) == tool  # plain JSON in a request


# ---- Python callables as tools -------------------------------------------------------------------


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Place(TypedDict, total=False):
    lat: float
    lon: float


@dataclasses.dataclass
class Box:
    width: int
    height: int = 1


def forecast(
    city: str,
    days: int = 1,
    unit: Unit = Unit.CELSIUS,
    hourly: bool = False,
    tags: list[str] | None = None,
    mode: Literal["fast", "slow"] = "fast",
    note: Annotated[str, "free text for the forecaster"] = "",
) -> str:
    """Forecast the weather.

    Uses the local model.

    Args:
        city: The city,
            in English.
        days (int): How many days.
        unit: Temperature unit.

    Returns:
        The forecast.
    """
    return f"{city}/{days}/{unit.name}/{hourly}/{tags}/{mode}/{note}"


def test_signature_and_docstring_become_the_schema() -> None:
    tool = function_tool(forecast)
    definition = tool.definition()
    assert definition.type == "function"
    assert definition.function.name == "forecast"
    assert definition.function.description == "Forecast the weather.\n\nUses the local model."
    assert definition.function.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city, in English."},
            "days": {"type": "integer", "description": "How many days.", "default": 1},
            "unit": {
                "type": "string",
                "enum": ["celsius", "fahrenheit"],
                "description": "Temperature unit.",
                "default": "celsius",
            },
            "hourly": {"type": "boolean", "default": False},
            "tags": {"type": "array", "items": {"type": "string"}},
            "mode": {"type": "string", "enum": ["fast", "slow"], "default": "fast"},
            "note": {"type": "string", "description": "free text for the forecaster", "default": ""},
        },
        "required": ["city"],
    }


def test_calling_a_function_tool_converts_and_reports() -> None:
    tool = function_tool(forecast)
    assert asyncio.run(tool.call({"city": "Oslo", "unit": "fahrenheit", "tags": ["a"]})) == (
        "Oslo/1/FAHRENHEIT/False/['a']/fast/"
    )
    assert asyncio.run(tool.call({"days": 2})) == (
        "Invalid arguments generated by the model: missing a required argument: 'city'"
    )

    def area(box: Box) -> dict[str, int]:
        return {"area": box.width * box.height}

    assert asyncio.run(function_tool(area).call({"box": {"width": 3, "height": 4}})) == '{"area": 12}'

    async def lookup(key: str) -> None:
        raise KeyError(key)

    assert asyncio.run(function_tool(lookup).call({"key": "k"})) == "Error: KeyError: 'k'"
    assert asyncio.run(function_tool(lambda: None, name="noop").call({})) == "[No content]"


def test_type_schemas() -> None:
    assert type_schema(float) == {"type": "number"}
    assert type_schema(Any) == {}
    assert type_schema(dict[str, int]) == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert type_schema(tuple[int, ...]) == {"type": "array", "items": {"type": "integer"}}
    assert type_schema(set[str]) == {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
    assert type_schema(int | str) == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert type_schema(int | None) == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert type_schema(Place) == {
        "type": "object",
        "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}},
    }
    assert type_schema(Box) == {
        "type": "object",
        "properties": {"width": {"type": "integer"}, "height": {"type": "integer"}},
        "required": ["width"],
    }
    with pytest.raises(TypeError, match="keys are strings"):
        type_schema(dict[int, str])
    with pytest.raises(TypeError, match="unsupported"):
        type_schema(bytes)


def test_functions_that_cannot_be_tools() -> None:
    def star(*args: int) -> None: ...

    def positional(a: int, /) -> None: ...

    def raw(data: bytes) -> None: ...

    with pytest.raises(TypeError, match=r"\*args"):
        function_tool(star)
    with pytest.raises(TypeError, match="positional-only"):
        function_tool(positional)
    with pytest.raises(TypeError, match="parameter 'data'"):
        function_tool(raw)
    with pytest.raises(ValueError, match="name="):
        function_tool(lambda: None)
    assert function_tool(lambda: None, name="ok", description="d").description == "d"


def test_docstring_styles() -> None:
    rest = """Add numbers.

    :param a: the first
    :param int b: the second,
        continued
    :returns: the sum
    """
    assert parse_docstring(rest) == ("Add numbers.", {"a": "the first", "b": "the second, continued"})
    numpy = (
        "Scale.\n\nParameters\n----------\nx : float\n    The value.\n"
        "factor : int\n    How much.\n\nReturns\n-------\nfloat\n"
    )
    assert parse_docstring(numpy) == ("Scale.", {"x": "The value.", "factor": "How much."})
    assert parse_docstring("") == ("", {})


# ---- conversations ---------------------------------------------------------------------------------


def test_interrupted_tool_calls_get_a_result() -> None:
    calls = [
        {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
        {"id": "b", "type": "function", "function": {"name": "g", "arguments": "{}"}},
    ]
    messages: list[Any] = [
        {"role": "user", "content": "q"},
        ChatMessage.parse_obj_as_instance({"role": "assistant", "content": "", "tool_calls": calls}),
        {"role": "tool", "tool_call_id": "a", "name": "f", "content": "done"},
    ]
    close_interrupted_tool_calls(messages)
    assert messages[3] == {"role": "tool", "tool_call_id": "b", "name": "g", "content": INTERRUPTED_TOOL_CALL}
    close_interrupted_tool_calls(messages)  # nothing left to mend
    assert len(messages) == 4
    finished: list[Any] = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    close_interrupted_tool_calls(finished)
    assert len(finished) == 2


def test_server_configs_flat_or_nested() -> None:
    assert split_server_config({"type": "stdio", "command": "x", "args": ["y"]}) == (
        "stdio",
        {"command": "x", "args": ["y"]},
    )
    assert split_server_config({"type": "sse", "config": {"url": "http://h/sse"}}) == (
        "sse",
        {"url": "http://h/sse"},
    )
    with pytest.raises(ValueError, match="'type'"):
        split_server_config({"command": "x"})
