"""OpenTelemetry spans and metrics for every call, following the GenAI semantic conventions.

Free when unused: opentelemetry is never imported here. A call is observed only when the application
has imported `opentelemetry.trace` (or `.metrics`) and configured a real tracer (meter) provider;
otherwise `begin` costs two dictionary lookups. The facts come from the call's `ResponseMeta` (who
answered, how fast, how many sends) and its result, when the call ends: one span per call, the
whole call long (retries and fallbacks included; a stream's until it ends or is closed).

Prompts and completions are recorded only with `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from omniinfer._core.context import ClientContext
    from omniinfer._core.meta import ResponseMeta

_SCOPE = "omniinfer"
_CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
# The conventions' operation names; every other task is named after itself.
_OPERATIONS = {"chat_completion": "chat", "text_generation": "text_completion", "feature_extraction": "embeddings"}
# Request parameters recorded under `gen_ai.request.*`, by argument name.
_REQUEST_PARAMETERS = (
    ("max_tokens", "gen_ai.request.max_tokens"),
    ("max_new_tokens", "gen_ai.request.max_tokens"),
    ("temperature", "gen_ai.request.temperature"),
    ("top_p", "gen_ai.request.top_p"),
    ("seed", "gen_ai.request.seed"),
)
_DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
_TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)

# Per configured provider: its tracer / its two instruments, made once.
_tracers: dict[int, tuple[Any, Any]] = {}
_instruments: dict[int, tuple[Any, Any, Any, Any]] = {}


_ABSENT = object()
_named_in_environment: dict[str, bool] = {}


def _global_provider(module: Any, variable: str, getter: str, environment: str) -> Any:
    """The provider the application set, or None when it set none.

    Reads the API's global directly: its public getter looks the environment up on every call,
    which alone costs more than the 2 µs a call may spend here. A provider named in the environment
    (set when the process starts) is loaded through the public getter."""
    provider = getattr(module, variable, _ABSENT)
    if provider is None:
        named = _named_in_environment.get(environment)
        if named is None:
            named = _named_in_environment[environment] = environment in os.environ
        return getattr(module, getter)() if named else None
    if provider is _ABSENT:  # an API version without that global: the public way
        return getattr(module, getter)()
    return provider


def _tracer() -> Any:
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    provider = _global_provider(trace, "_TRACER_PROVIDER", "get_tracer_provider", "OTEL_PYTHON_TRACER_PROVIDER")
    if provider is None or type(provider) in _placeholders(trace, None):
        return None
    cached = _tracers.get(id(provider))
    if cached is None or cached[0] is not provider:
        cached = _tracers[id(provider)] = (provider, provider.get_tracer(_SCOPE, _version()))
    return cached[1]


def _meters() -> tuple[Any, Any, Any, Any] | None:
    metrics = sys.modules.get("opentelemetry.metrics._internal")
    if metrics is None:
        return None
    provider = _global_provider(metrics, "_METER_PROVIDER", "get_meter_provider", "OTEL_PYTHON_METER_PROVIDER")
    if provider is None or type(provider) in _placeholders(None, metrics):
        return None
    cached = _instruments.get(id(provider))
    if cached is None or cached[0] is not provider:
        meter = provider.get_meter(_SCOPE, _version())
        duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=list(_DURATION_BUCKETS),
        )
        tokens = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used",
            explicit_bucket_boundaries_advisory=list(_TOKEN_BUCKETS),
        )
        first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            unit="s",
            description="Time to receive the first chunk of a streamed answer",
            explicit_bucket_boundaries_advisory=list(_DURATION_BUCKETS),
        )
        cached = _instruments[id(provider)] = (provider, duration, tokens, first_chunk)
    return cached


_PLACEHOLDERS: dict[str, frozenset[type]] = {}


def _placeholders(trace: Any, metrics: Any) -> frozenset[type]:
    """The API's provider classes that record nothing: the proxy it hands out before a provider is
    set, and the no-op one (looked up once; the metrics proxy has no public name)."""
    key = "trace" if trace is not None else "metrics"
    found = _PLACEHOLDERS.get(key)
    if found is None:
        if trace is not None:
            found = frozenset({trace.ProxyTracerProvider, trace.NoOpTracerProvider})
        else:
            found = frozenset({metrics._ProxyMeterProvider, metrics.NoOpMeterProvider})
        _PLACEHOLDERS[key] = found
    return found


def _version() -> str:
    from omniinfer._version import __version__

    return __version__


class CallTrace:
    """One observed call: its span (if tracing) and what its metrics need."""

    __slots__ = ("instruments", "model", "operation", "provider", "span", "started_ns")

    def __init__(self, operation: str, model: str | None, provider: str | None) -> None:
        self.operation = operation
        self.model = model
        self.provider = provider
        self.span: Any = None
        self.instruments: tuple[Any, Any, Any, Any] | None = None
        self.started_ns = time.time_ns()


def begin(task: str, arguments: dict[str, Any], ctx: ClientContext) -> CallTrace | None:
    """Start observing a call of `task`, or None (nearly free) when OpenTelemetry is not configured."""
    modules = sys.modules
    if "opentelemetry.trace" not in modules and "opentelemetry.metrics" not in modules:
        return None
    tracer = _tracer()
    instruments = _meters()
    if tracer is None and instruments is None:
        return None
    operation = _OPERATIONS.get(task, task)
    model = _model_name(arguments.get("model")) or _model_name(ctx.model)
    provider = ctx.provider if isinstance(ctx.provider, str) and ctx.provider != "auto" else None
    call = CallTrace(operation, model, provider)
    call.instruments = instruments
    if tracer is not None:
        from opentelemetry.trace import SpanKind

        attributes: dict[str, Any] = {"gen_ai.operation.name": operation}
        if model:
            attributes["gen_ai.request.model"] = model
        if provider:
            attributes["gen_ai.provider.name"] = provider
        for argument, name in _REQUEST_PARAMETERS:
            value = arguments.get(argument)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                attributes[name] = value
        if _capture_content():
            captured = _input_content(task, arguments)
            if captured is not None:
                attributes["gen_ai.input.messages"] = captured
        name = f"{operation} {model}" if model else operation
        call.span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes, start_time=call.started_ns)
    return call


def end(call: CallTrace, meta: ResponseMeta, result: Any = None, error: BaseException | None = None) -> None:
    """Finish the call's span and record its metrics from what `meta` (and the result) tell."""
    provider = meta.provider or call.provider
    model = call.model or meta.model
    common: dict[str, Any] = {"gen_ai.operation.name": call.operation}
    if provider:
        common["gen_ai.provider.name"] = provider
    if model:
        common["gen_ai.request.model"] = model
    if meta.url:
        parts = urlsplit(meta.url)
        if parts.hostname:
            common["server.address"] = parts.hostname
        if parts.port:
            common["server.port"] = parts.port
    facts = _result_facts(result, meta)
    error_type = None
    if error is not None:
        error_type = type(error).__name__
        common["error.type"] = error_type
    usage = meta.usage
    span = call.span
    if span is not None:
        if call.model is None and model:
            span.update_name(f"{call.operation} {model}")
        span.set_attributes(common)
        span.set_attributes(facts)
        if usage is not None:
            if usage.input_tokens is not None:
                span.set_attribute("gen_ai.usage.input_tokens", usage.input_tokens)
            if usage.output_tokens is not None:
                span.set_attribute("gen_ai.usage.output_tokens", usage.output_tokens)
        span.set_attribute("omniinfer.attempts", meta.attempts)
        if meta.providers_tried:
            span.set_attribute("omniinfer.providers_tried", list(meta.providers_tried))
        if meta.status is not None:
            span.set_attribute("http.response.status_code", meta.status)
        if meta.time_to_first_token is not None:
            span.set_attribute("gen_ai.response.time_to_first_chunk", meta.time_to_first_token)
            span.add_event(
                "gen_ai.first_token",
                {"gen_ai.response.time_to_first_chunk": meta.time_to_first_token},
                timestamp=call.started_ns + int(meta.time_to_first_token * 1e9),
            )
        if error is None and _capture_content():
            captured = _output_content(result, meta)
            if captured is not None:
                span.set_attribute("gen_ai.output.messages", captured)
        if error is not None:
            from opentelemetry.trace import Status, StatusCode

            span.set_status(Status(StatusCode.ERROR, _describe(error)))
        # Offsets of the same clock as the first-token event: the event never falls after the end.
        span.end(end_time=None if meta.elapsed is None else call.started_ns + int(meta.elapsed * 1e9))
    instruments = call.instruments
    if instruments is not None:
        _, duration, tokens, first_chunk = instruments
        elapsed = meta.elapsed if meta.elapsed is not None else (time.time_ns() - call.started_ns) / 1e9
        if "gen_ai.response.model" in facts:
            common["gen_ai.response.model"] = facts["gen_ai.response.model"]
        duration.record(elapsed, common)
        if meta.time_to_first_token is not None:
            first_chunk.record(meta.time_to_first_token, common)
        if usage is not None:
            if usage.input_tokens is not None:
                tokens.record(usage.input_tokens, {**common, "gen_ai.token.type": "input"})
            if usage.output_tokens is not None:
                tokens.record(usage.output_tokens, {**common, "gen_ai.token.type": "output"})


def _describe(error: BaseException) -> str:
    # Exception texts are already scrubbed of tokens (errors.py); keep the status description short.
    return str(error)[:300]


def _model_name(model: Any) -> str | None:
    if not isinstance(model, str) or not model or model.startswith(("http://", "https://", "local://")):
        return None
    return model


def _capture_content() -> bool:
    return os.environ.get(_CAPTURE_ENV, "").strip().lower() == "true"


def _json(value: Any) -> str | None:
    from omniinfer._core.jsonutil import dumps

    try:
        return dumps(value).decode()
    except (TypeError, ValueError):
        return None


def _input_content(task: str, arguments: dict[str, Any]) -> str | None:
    messages = arguments.get("messages")
    if isinstance(messages, list):
        return _json(messages)
    for name in ("prompt", "text", "inputs", "question"):
        value = arguments.get(name)
        if isinstance(value, str):
            return _json([{"role": "user", "parts": [{"type": "text", "content": value}]}])
    return None


def _output_content(result: Any, meta: ResponseMeta) -> str | None:
    choices = getattr(result, "choices", None)
    if isinstance(choices, list):
        return _json(
            [
                {
                    "role": "assistant",
                    "parts": [{"type": "text", "content": getattr(getattr(c, "message", None), "content", None)}],
                    "finish_reason": getattr(c, "finish_reason", None),
                }
                for c in choices
            ]
        )
    text = result if isinstance(result, str) else getattr(result, "generated_text", None)
    if isinstance(text, str):
        return _json([{"role": "assistant", "parts": [{"type": "text", "content": text}]}])
    return None


def _result_facts(result: Any, meta: ResponseMeta) -> dict[str, Any]:
    """`gen_ai.response.*` from a typed answer (or, for a stream, from its last event)."""
    facts: dict[str, Any] = {}
    source = meta.last_event if meta.last_event is not None else result
    get = source.get if isinstance(source, dict) else None
    if get is None:
        return facts
    answer_id, model = get("id"), get("model")
    if isinstance(answer_id, str):
        facts["gen_ai.response.id"] = answer_id
    if isinstance(model, str):
        facts["gen_ai.response.model"] = model
    reasons: list[str] = []
    choices = get("choices")
    if isinstance(choices, list):
        reasons = [
            c["finish_reason"] for c in choices if isinstance(c, dict) and isinstance(c.get("finish_reason"), str)
        ]
    details = get("details")
    if isinstance(details, dict) and isinstance(details.get("finish_reason"), str):
        reasons.append(details["finish_reason"])
    if reasons:
        facts["gen_ai.response.finish_reasons"] = reasons
    return facts
