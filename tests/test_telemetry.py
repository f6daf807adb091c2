"""OpenTelemetry: one span per call (GenAI semantic conventions) and the two GenAI client metrics,
read back with the SDK's in-memory exporter and metric reader; both clients, streams included."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from opentelemetry.util._once import Once

from clients import Runner
from fixture_server import FixtureServer
from omniinfer import AsyncInferenceClient, BadRequestError
from omniinfer._core.meta import Stream
from probes import loaded_after
from samples import DONE, HI, ROUTE, chunk, completion

USAGE = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}


class Telemetry:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.reader = InMemoryMetricReader()

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        assert data is not None
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]


def _reset_globals() -> None:
    # The API sets its global providers once per process; tests need a fresh pair each.
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    metrics._internal._METER_PROVIDER_SET_ONCE = Once()
    metrics._internal._METER_PROVIDER = None


@pytest.fixture
def otel() -> Iterator[Telemetry]:
    telemetry = Telemetry()
    _reset_globals()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(telemetry.spans))
    meter_provider = MeterProvider(metric_readers=[telemetry.reader])
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    try:
        yield telemetry
    finally:
        tracer_provider.shutdown()
        meter_provider.shutdown()
        _reset_globals()


def final_chunk(text: str) -> dict[str, Any]:
    last = chunk(text)
    last["choices"][0]["finish_reason"] = "length"
    return last


def test_chat_call_makes_one_span_with_the_genai_attributes(
    fixture_server: FixtureServer, otel: Telemetry, kind: str
) -> None:
    fixture_server.add("POST", ROUTE, json=completion("hello", usage=USAGE))
    with Runner(kind, base_url=fixture_server.url + "/v1") as run:
        run("chat_completion", HI, model="my-model", max_tokens=5, temperature=0.5, top_p=0.9)
    (span,) = otel.finished()
    assert span.name == "chat my-model"
    assert span.kind == trace.SpanKind.CLIENT
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == "my-model"
    assert attributes["gen_ai.request.max_tokens"] == 5
    assert attributes["gen_ai.request.temperature"] == 0.5
    assert attributes["gen_ai.request.top_p"] == 0.9
    assert attributes["gen_ai.response.id"] == "x"
    assert attributes["gen_ai.response.model"] == "m"
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.usage.input_tokens"] == 7
    assert attributes["gen_ai.usage.output_tokens"] == 3
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == fixture_server.port
    assert attributes["omniinfer.attempts"] == 1
    assert "error.type" not in attributes
    assert "gen_ai.input.messages" not in attributes and "gen_ai.output.messages" not in attributes
    (duration,) = otel.points("gen_ai.client.operation.duration")
    assert duration.count == 1 and duration.attributes["gen_ai.operation.name"] == "chat"
    tokens = {point.attributes["gen_ai.token.type"]: point.sum for point in otel.points("gen_ai.client.token.usage")}
    assert tokens == {"input": 7, "output": 3}


def test_message_content_only_when_asked(
    fixture_server: FixtureServer, otel: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    fixture_server.add("POST", ROUTE, json=completion("secret answer"))
    with Runner("sync", base_url=fixture_server.url + "/v1") as run:
        run("chat_completion", [{"role": "user", "content": "secret question"}])
    (span,) = otel.finished()
    assert "secret question" in str(span.attributes["gen_ai.input.messages"])  # type: ignore[index]
    assert "secret answer" in str(span.attributes["gen_ai.output.messages"])  # type: ignore[index]


def test_stream_span_ends_with_the_stream_and_has_a_first_token_event(
    fixture_server: FixtureServer, otel: Telemetry, kind: str
) -> None:
    usage = {**chunk(""), "choices": [], "usage": USAGE}
    fixture_server.add("POST", ROUTE, sse=[chunk("a"), final_chunk("b"), usage, DONE])
    with Runner(kind, base_url=fixture_server.url + "/v1") as run:
        chunks = run("chat_completion", HI, model="my-model", stream=True)
    assert [c.choices[0].delta.content for c in chunks] == ["a", "b"]
    (span,) = otel.finished()
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.usage.output_tokens"] == 3
    assert attributes["gen_ai.response.finish_reasons"] == ("length",)
    assert attributes["gen_ai.response.id"] == "1"
    (event,) = [e for e in span.events if e.name == "gen_ai.first_token"]
    assert span.start_time is not None and span.end_time is not None
    assert span.start_time <= event.timestamp <= span.end_time
    assert len(otel.points("gen_ai.client.operation.time_to_first_chunk")) == 1


def test_stream_span_is_open_until_the_stream_is_read_or_closed(fixture_server: FixtureServer, otel: Telemetry) -> None:
    fixture_server.add("POST", ROUTE, sse=[chunk("a"), chunk("b"), DONE])
    with Runner("sync", base_url=fixture_server.url + "/v1") as run:
        stream = run.client.chat_completion(HI, stream=True)
        assert isinstance(stream, Stream)
        next(stream)
        assert otel.finished() == []
        stream.close()
    (span,) = otel.finished()
    assert "error.type" not in (span.attributes or {})  # closing early is the caller's choice, not a failure


def test_async_stream_span_ends_when_the_stream_is_closed(fixture_server: FixtureServer, otel: Telemetry) -> None:
    fixture_server.add("POST", ROUTE, sse=[chunk("a"), chunk("b"), DONE])

    async def main() -> None:
        client = AsyncInferenceClient(base_url=fixture_server.url + "/v1")
        stream = await client.chat_completion(HI, stream=True)
        await stream.__anext__()
        assert otel.finished() == []
        await stream.aclose()
        await client.close()

    asyncio.run(main())
    (span,) = otel.finished()
    assert "error.type" not in (span.attributes or {})


def test_embeddings_span(fixture_server: FixtureServer, otel: Telemetry, kind: str) -> None:
    answer = {"data": [{"embedding": [1.0]}], "model": "emb", "usage": {"prompt_tokens": 2, "total_tokens": 2}}
    fixture_server.add("POST", "/v1/embeddings", json=answer)
    with Runner(kind, base_url=fixture_server.url + "/v1") as run:
        run("feature_extraction", "hello", model="emb")
    (span,) = otel.finished()
    assert span.name == "embeddings emb"
    assert span.attributes is not None and span.attributes["gen_ai.usage.input_tokens"] == 2


def test_a_failing_call_records_its_error_type(fixture_server: FixtureServer, otel: Telemetry, kind: str) -> None:
    fixture_server.add("POST", ROUTE, status=400, json={"error": "bad messages"})
    with Runner(kind, base_url=fixture_server.url + "/v1") as run, pytest.raises(BadRequestError):
        run("chat_completion", HI, model="my-model")
    (span,) = otel.finished()
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes is not None and span.attributes["error.type"] == "BadRequestError"
    assert span.attributes["http.response.status_code"] == 400
    (duration,) = otel.points("gen_ai.client.operation.duration")
    assert duration.attributes["error.type"] == "BadRequestError"


def test_fallback_and_retries_are_visible(hub: FixtureServer, otel: Telemetry, kind: str) -> None:
    model = "org/traced-model"
    mapping = {
        "together": {"status": "live", "providerId": "together-id", "task": "conversational"},
        "fireworks-ai": {"status": "live", "providerId": "fireworks-id", "task": "conversational"},
    }
    hub.add("GET", f"/api/models/{model}", host="huggingface.co", json={"inferenceProviderMapping": mapping})
    router = "router.huggingface.co"
    hub.add("POST", "/together/v1/chat/completions", host=router, status=503, json={"error": "overloaded"})
    hub.add("POST", "/fireworks-ai/inference/v1/chat/completions", host=router, json=completion("ok"), times=1)
    hub.add("POST", "/fireworks-ai/inference/v1/chat/completions", host=router, status=503, json={"error": "x"})
    with Runner(kind, model, provider=["together", "fireworks-ai"], token="hf_t", max_retries=1) as run:
        run("chat_completion", HI)
    (span,) = otel.finished()
    attributes = dict(span.attributes or {})
    assert span.name == f"chat {model}"
    assert attributes["gen_ai.provider.name"] == "fireworks-ai"
    assert attributes["omniinfer.providers_tried"] == ("together", "fireworks-ai")
    assert attributes["omniinfer.attempts"] == 1
    assert attributes["server.address"] == "127.0.0.1"


def test_no_provider_configured_means_no_span_and_no_import() -> None:
    code = (
        "import omniinfer\n"
        "from omniinfer import InferenceClient\n"
        "from omniinfer._core import telemetry\n"
        "assert telemetry.begin('chat_completion', {}, InferenceClient()._ctx) is None\n"
    )
    assert loaded_after(code, ("opentelemetry", "opentelemetry.trace", "opentelemetry.metrics")) == []


def test_api_imported_without_a_provider_makes_no_span() -> None:
    _reset_globals()
    from omniinfer import InferenceClient
    from omniinfer._core import telemetry

    assert telemetry.begin("chat_completion", {}, InferenceClient()._ctx) is None
