"""Row -> task call: which client method a task is, which column holds its main input, which other
arguments a row or `--param` may give, and the typed result -> the output row's fields.

Everything here is checked once, before the first request, against the input's columns, so a missing
column or an unknown task is a usage error rather than a million failed rows.
"""

from __future__ import annotations

import base64
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from omniinfer._core import jsonutil

# Every task of the client (the 29 task methods), by its registry id.
TASKS = (
    "audio-classification",
    "audio-to-audio",
    "automatic-speech-recognition",
    "conversational",
    "document-question-answering",
    "feature-extraction",
    "fill-mask",
    "image-classification",
    "image-segmentation",
    "image-to-image",
    "image-to-text",
    "image-to-video",
    "object-detection",
    "question-answering",
    "sentence-similarity",
    "summarization",
    "table-question-answering",
    "tabular-classification",
    "tabular-regression",
    "text-classification",
    "text-generation",
    "text-to-image",
    "text-to-speech",
    "text-to-video",
    "token-classification",
    "translation",
    "visual-question-answering",
    "zero-shot-classification",
    "zero-shot-image-classification",
)
_ALIASES = {"chat": "conversational", "chat-completion": "conversational", "chat_completion": "conversational"}
# Arguments a bulk row never sets: the job decides streaming, and the client is built once.
_RESERVED = frozenset({"stream", "stream_options"})


class BulkUsageError(ValueError):
    """The job cannot start: an unknown task, a missing column, a bad option. Raised before any request."""


def task_id(name: str) -> str:
    """`text_to_image`, `text-to-image`, `chat`, `chat_completion` -> the task id; BulkUsageError if unknown."""
    task = _ALIASES.get(name, name.replace("_", "-"))
    if task not in TASKS:
        raise BulkUsageError(f"unknown task {name!r}; tasks: {', '.join(TASKS)}")
    return task


def method_name(task: str) -> str:
    return "chat_completion" if task == "conversational" else task.replace("-", "_")


@dataclass(frozen=True, slots=True)
class Binder:
    """How the rows of one job become calls of one task."""

    task: str
    method: str
    column: str  # the input column holding the main argument
    params: Mapping[str, Any]  # --param values, for every row
    row_args: frozenset[str]  # other columns passed as arguments of the same name
    coerce: bool  # values are text (CSV): numbers, lists and objects in them are read as JSON

    def call(self, row: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
        """The main argument and the keyword arguments for one row. Raises ValueError on a bad row."""
        value = row.get(self.column)
        if value is None:
            raise ValueError(f"column {self.column!r} is empty in this row")
        if self.task == "conversational":
            value = _messages(value)
        elif self.task in ("tabular-classification", "tabular-regression", "table-question-answering"):
            value = _maybe_json(value) if isinstance(value, str) else value
        kwargs = dict(self.params)
        for name in self.row_args:
            given = row.get(name)
            if given is not None:
                kwargs[name] = _maybe_json(given) if self.coerce and isinstance(given, str) else given
        return value, kwargs

    def estimate_tokens(self, value: Any, ceiling: float | None, typical_output: float = 0.0) -> float:
        """A request's tokens as a rate limiter counts them before the answer: the prompt's characters
        / 4 plus the most it may generate (`ceiling`, from `output_ceiling`: what OpenAI-style
        limiters charge up front), or, for a row that sets no such ceiling, what the job's answers
        have generated on average (`typical_output`)."""
        chars = 0
        if isinstance(value, str):
            chars = len(value)
        elif isinstance(value, list):
            for message in value:
                # dict first: rows hold plain dicts, and an ABC's isinstance is several times slower
                content = message.get("content") if isinstance(message, (dict, Mapping)) else message
                if isinstance(content, str):
                    chars += len(content)
        return chars / 4 + (typical_output if ceiling is None else ceiling)


def output_ceiling(kwargs: Mapping[str, Any]) -> float | None:
    """The most tokens a call's arguments let it generate (`max_tokens`, `max_new_tokens`), or None."""
    ceiling = kwargs.get("max_tokens") or kwargs.get("max_new_tokens")
    return ceiling if isinstance(ceiling, (int, float)) and not isinstance(ceiling, bool) else None


class TypicalOutput:
    """How many tokens an answer generates, learned from the job's answers to rows that set no ceiling.

    Without it such a row is counted at its prompt alone until its answer arrives: against a token
    limit the job then sends as if each request cost a few tokens, and a server that counts what it
    generates answers with 429s (measured: 87 for 150 rows of 1 + 40 tokens at 400 tokens/s).
    The mean of the first answers, then a moving one (the last ~100 weigh most)."""

    __slots__ = ("answers", "sized", "tokens")

    WINDOW = 100

    def __init__(self) -> None:
        self.tokens = 0.0
        self.answers = 0
        # A row without a ceiling has settled: its answer told what such a row generates (or the
        # server reports no usage, and nothing ever will). Until then the engine sends one alone.
        self.sized = False

    def add(self, generated: int) -> None:
        self.answers += 1
        self.tokens += (generated - self.tokens) / min(self.answers, self.WINDOW)


def bind(
    task: str,
    columns: Sequence[str] | None,
    *,
    column: str | None = None,
    id_column: str | None = None,
    params: Mapping[str, Any] | None = None,
    coerce: bool = False,
) -> Binder:
    """Check the job's shape against the input's columns (None: unknown, e.g. an empty input)."""
    from omniinfer.async_client import AsyncInferenceClient

    method = method_name(task)
    parameters = list(inspect.signature(getattr(AsyncInferenceClient, method)).parameters.values())[1:]
    main = parameters[0]
    named = [p for p in parameters[1:] if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    accepted = {p.name for p in named} - _RESERVED
    open_kwargs = any(p.kind is p.VAR_KEYWORD for p in parameters)
    params = dict(params or {})
    for name in params:
        if name not in accepted and not open_kwargs:
            raise BulkUsageError(f"param {name!r} is not an argument of {task}; it takes {', '.join(sorted(accepted))}")
    known = list(columns) if columns is not None else None
    if column is None:
        candidates = ["messages", "prompt", "inputs"] if task == "conversational" else [main.name, "inputs"]
        column = next((c for c in candidates if known is None or c in known), candidates[0])
        if known is not None and column not in known:
            raise BulkUsageError(
                f"{task} reads its input from column {' or '.join(repr(c) for c in candidates)}, "
                f"and the input has {_listing(known)}; pass --column NAME"
            )
    elif known is not None and column not in known:
        raise BulkUsageError(f"column {column!r} (--column) is not in the input, which has {_listing(known)}")
    if id_column is not None and known is not None and id_column not in known:
        raise BulkUsageError(f"id column {id_column!r} (--id-column) is not in the input, which has {_listing(known)}")
    row_args = frozenset(c for c in (known or ()) if c in accepted and c not in (column, id_column) and c not in params)
    for p in named:
        if p.default is p.empty and p.name not in params and p.name not in row_args:
            where = f"the input has {_listing(known)}" if known is not None else "no row gives it"
            raise BulkUsageError(
                f"{task} needs {p.name!r}: give a column of that name or --param {p.name}=VALUE ({where})"
            )
    return Binder(task, method, column, params, row_args, coerce)


def _listing(columns: Sequence[str]) -> str:
    return f"columns {', '.join(repr(c) for c in columns)}" if columns else "no columns"


def _messages(value: Any) -> Any:
    if isinstance(value, str):
        stripped = value.lstrip()
        if stripped.startswith("["):  # a JSON list of messages in a text column
            parsed = _maybe_json(value)
            if isinstance(parsed, list):
                return parsed
        return [{"role": "user", "content": value}]
    if hasattr(value, "tolist"):  # an array column read by a dataframe library
        value = value.tolist()
    return value


def _maybe_json(text: str) -> Any:
    try:
        return jsonutil.loads(text)
    except jsonutil.JSONDecodeError:
        return text


def result_fields(task: str, result: Any) -> tuple[Any, str | None, int | None, int | None]:
    """(result as JSON-ready data, the answer's text for chat and text generation, input tokens,
    output tokens) of one typed result."""
    text: str | None = None
    input_tokens = output_tokens = None
    if task == "conversational":
        choices = result.get("choices") or []
        if choices:
            message = choices[0].get("message") or {}
            content = message.get("content")
            text = content if isinstance(content, str) else None
        usage = result.get("usage") or {}
        input_tokens, output_tokens = usage.get("prompt_tokens"), usage.get("completion_tokens")
    elif task == "text-generation":
        text = result if isinstance(result, str) else result.get("generated_text")
    # Typed outputs are dicts (and lists of them): the JSON encoder takes them as they are, numpy
    # arrays included; only media and odd scalars need converting.
    plain = isinstance(result, (dict, list)) and not (task in _MEDIA_TASKS and _holds_media(result))
    data = result if plain else jsonable(result)
    return data, text, input_tokens, output_tokens


def answered_model(result: Any) -> str | None:
    """The model an answer names (`model` of a chat completion or an embedding list), for a call that
    named none itself: an endpoint or a local server called without `--model`."""
    model = result.get("model") if isinstance(result, dict) else None
    return model if isinstance(model, str) else None


_MEDIA_TASKS = frozenset({"image-segmentation"})  # the one task whose typed items carry images (masks)


def _holds_media(result: dict[str, Any] | list[Any]) -> bool:
    """A list of typed items may carry images (image segmentation masks): those need converting."""
    items = result if isinstance(result, list) else [result]
    return any(
        isinstance(value, (bytes, bytearray)) or type(value).__module__.startswith("PIL.")
        for item in items[:1]
        if isinstance(item, dict)
        for value in item.values()
    )


def jsonable(value: Any) -> Any:
    """Typed outputs are dicts; arrays become lists, images and audio base64 with their media type."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    if type(value).__module__.startswith("PIL.") and hasattr(value, "save"):
        import io

        buffer = io.BytesIO()
        value.save(buffer, format="PNG")
        return {"mime_type": "image/png", "base64": base64.b64encode(buffer.getvalue()).decode("ascii")}
    return str(value)
