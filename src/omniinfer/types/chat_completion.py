"""Chat completion outputs (OpenAI `chat.completion` and `chat.completion.chunk`)."""

from __future__ import annotations

from typing import Any

from omniinfer.types._base import BaseInferenceType

# --- inputs: what a conversation holds (the MCP client and Agent build these) ---------------------


class ChatCompletionInputFunctionDefinition(BaseInferenceType):
    name: str
    arguments: Any
    description: str | None
    parameters: Any


class ChatCompletionInputToolCall(BaseInferenceType):
    function: ChatCompletionInputFunctionDefinition
    id: str
    type: str


class ChatCompletionInputTool(BaseInferenceType):
    function: ChatCompletionInputFunctionDefinition
    type: str


class ChatCompletionInputMessage(BaseInferenceType):
    """One message of a conversation (a plain dict works as well wherever messages are accepted)."""

    role: str
    content: Any
    name: str | None
    tool_call_id: str | None
    tool_calls: list[ChatCompletionInputToolCall] | None


# --- outputs ---------------------------------------------------------------------------------------


class ChatCompletionOutputFunctionDefinition(BaseInferenceType):
    name: str
    arguments: Any
    description: str | None


class ChatCompletionOutputToolCall(BaseInferenceType):
    id: str
    type: str
    function: ChatCompletionOutputFunctionDefinition


class ChatCompletionOutputMessage(BaseInferenceType):
    role: str
    content: str | None
    tool_call_id: str | None
    tool_calls: list[ChatCompletionOutputToolCall] | None
    reasoning_content: str | None


class ChatCompletionOutputTopLogprob(BaseInferenceType):
    logprob: float
    token: str


class ChatCompletionOutputLogprob(BaseInferenceType):
    logprob: float
    token: str
    top_logprobs: list[ChatCompletionOutputTopLogprob]


class ChatCompletionOutputLogprobs(BaseInferenceType):
    content: list[ChatCompletionOutputLogprob]


class ChatCompletionOutputComplete(BaseInferenceType):
    finish_reason: str
    index: int
    message: ChatCompletionOutputMessage
    logprobs: ChatCompletionOutputLogprobs | None


class ChatCompletionOutputUsage(BaseInferenceType):
    completion_tokens: int
    prompt_tokens: int
    total_tokens: int


class ChatCompletionOutput(BaseInferenceType):
    """The answer of a non-streamed chat completion."""

    choices: list[ChatCompletionOutputComplete]
    created: int
    id: str
    model: str
    system_fingerprint: str | None
    usage: ChatCompletionOutputUsage | None
    object: str | None


class ChatCompletionStreamOutputFunction(BaseInferenceType):
    arguments: str | None
    name: str | None


class ChatCompletionStreamOutputDeltaToolCall(BaseInferenceType):
    function: ChatCompletionStreamOutputFunction
    id: str | None
    index: int
    type: str | None


class ChatCompletionStreamOutputDelta(BaseInferenceType):
    role: str | None
    content: str | None
    tool_call_id: str | None
    tool_calls: list[ChatCompletionStreamOutputDeltaToolCall] | None
    reasoning_content: str | None


class ChatCompletionStreamOutputTopLogprob(BaseInferenceType):
    logprob: float
    token: str


class ChatCompletionStreamOutputLogprob(BaseInferenceType):
    logprob: float
    token: str
    top_logprobs: list[ChatCompletionStreamOutputTopLogprob]


class ChatCompletionStreamOutputLogprobs(BaseInferenceType):
    content: list[ChatCompletionStreamOutputLogprob]


class ChatCompletionStreamOutputChoice(BaseInferenceType):
    delta: ChatCompletionStreamOutputDelta
    index: int
    finish_reason: str | None
    logprobs: ChatCompletionStreamOutputLogprobs | None


class ChatCompletionStreamOutputUsage(BaseInferenceType):
    completion_tokens: int
    prompt_tokens: int
    total_tokens: int


class ChatCompletionStreamOutput(BaseInferenceType):
    """One chunk of a streamed chat completion."""

    choices: list[ChatCompletionStreamOutputChoice]
    created: int
    id: str
    model: str
    system_fingerprint: str | None
    usage: ChatCompletionStreamOutputUsage | None
    object: str | None


__all__ = [
    "ChatCompletionInputFunctionDefinition",
    "ChatCompletionInputMessage",
    "ChatCompletionInputTool",
    "ChatCompletionInputToolCall",
    "ChatCompletionOutput",
    "ChatCompletionOutputComplete",
    "ChatCompletionOutputFunctionDefinition",
    "ChatCompletionOutputLogprob",
    "ChatCompletionOutputLogprobs",
    "ChatCompletionOutputMessage",
    "ChatCompletionOutputToolCall",
    "ChatCompletionOutputTopLogprob",
    "ChatCompletionOutputUsage",
    "ChatCompletionStreamOutput",
    "ChatCompletionStreamOutputChoice",
    "ChatCompletionStreamOutputDelta",
    "ChatCompletionStreamOutputDeltaToolCall",
    "ChatCompletionStreamOutputFunction",
    "ChatCompletionStreamOutputLogprob",
    "ChatCompletionStreamOutputLogprobs",
    "ChatCompletionStreamOutputTopLogprob",
    "ChatCompletionStreamOutputUsage",
]
