"""In-process answers for `local://` URLs (the `local` provider): GGUF models run by llama-cpp-python.

The chat, completions and embeddings flows build the same OpenAI-style requests they send to any
server, and this module answers them the way such a server would: a JSON body, an SSE stream, or an
error status with an `{"error": ...}` body. So every flow, output type and error mapping applies
unchanged, and the local provider is one more transport rather than a second code path.

Each client transport gets one engine. It keeps the models it loaded for the client's lifetime and
runs every call on one worker thread (a llama.cpp context serves one call at a time). A call is a
job whose answer (the head, body pieces, then END) travels through a channel: a thread-safe queue
for the sync client, an asyncio queue for the async one, so an event loop never waits on the model.
Generation runs ahead of the reader (the pieces are small), so a stream left unread never holds up
the next call; closing a response stops its generation at the next piece.

Waiting for the head covers installing and loading the model and, for a whole (non-streamed)
answer, generating it: it is bounded by the call's total deadline only. Stream pieces are bounded
like any server's, by the read (and first-token) timeouts.
"""

from __future__ import annotations

import asyncio
import importlib
import queue
import threading
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from omniinfer._core.jsonutil import dumps
from omniinfer._core.records import Request
from omniinfer._core.stepping import wait_budget
from omniinfer._http.async_transport import AsyncResponse
from omniinfer._http.h1 import Head
from omniinfer._http.sync_transport import SyncResponse
from omniinfer.errors import InferenceTimeoutError, LocalEngineCrashError
from omniinfer.local import calls, models, preflight
from omniinfer.local.hub import HubModelNotFound
from omniinfer.local.install import InstallError

END = object()  # the last item of every answer
Item = object  # a Head, then body pieces (bytes), then END; or an exception for the reader to raise
Answer = Generator[Item, None, None]
Put = Callable[[Item], None]

_JSON = {"content-type": "application/json"}
_SSE = {"content-type": "text/event-stream"}


def _head(status: int, headers: dict[str, str]) -> Head:
    return Head(status, "OK" if status < 400 else "Error", dict(headers), True)


def _error(status: int, message: str) -> Answer:
    yield _head(status, _JSON)
    yield dumps({"error": message})


def _event(payload: Any) -> bytes:
    return b"data: " + dumps(payload) + b"\n\n"


class LocalEngine:
    """The models of one client and the thread that runs them."""

    def __init__(self) -> None:
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="omniinfer-local")
        self._models: dict[tuple[str, bool], Any] = {}
        self._paths: dict[models.Found, Path] = {}

    def submit(self, request: Request, put: Put) -> threading.Event:
        """Queue the request's job; its answer goes to `put`. Returns the job's cancel flag."""
        cancelled = threading.Event()
        try:
            call = calls.parse_call(urlsplit(request.url).path, request.body)
            found = models.locate(call.model)
        except calls.BadRequest as exc:
            _deliver(_error(400, str(exc)), put, cancelled)
        except models.ModelNotFound as exc:
            _deliver(_error(404, str(exc)), put, cancelled)
        else:
            self._worker.submit(_deliver, self._answer(call, found), put, cancelled)
        return cancelled

    def _answer(self, call: calls.LocalCall, found: Any) -> Answer:
        """The whole answer to one call, as the items a server would send (runs on the worker)."""
        try:
            llama = self._model(found, call.route == "embeddings")
            if call.stream:
                chunks = self._chunks(llama, call)
                first = next(chunks, None)  # prompt errors (too long for the context...) are 400s
            else:
                result = self._run(llama, call)
        except (calls.BadRequest, ValueError) as exc:
            yield from _error(400, str(exc))
            return
        except (models.ModelNotFound, HubModelNotFound) as exc:
            yield from _error(404, str(exc))
            return
        except LocalEngineCrashError as exc:  # raised as it is: no status describes it
            yield exc
            return
        except InstallError as exc:
            yield from _error(503, f"could not install model {call.model!r}: {exc}")
            return
        except Exception as exc:
            yield from _error(500, f"{type(exc).__name__}: {exc}")
            return
        if not call.stream:
            yield _head(200, _JSON)
            yield dumps(result)
            return
        try:
            yield _head(200, _SSE)
            if first is not None:
                yield _event(first)
            for chunk in chunks:
                yield _event(chunk)
        except Exception as exc:  # mid-stream: an error event, as servers send
            yield _event({"error": f"{type(exc).__name__}: {exc}"})
            return
        finally:
            chunks.close()
        yield b"data: [DONE]\n\n"

    def _model(self, found: models.Found, embedding: bool) -> Any:
        path = self._paths.get(found)
        if path is None:  # installed or downloaded once per client (a Hub model: one listing call)
            path = self._paths[found] = models.materialise(found)
        key = (str(path), embedding)
        llama = self._models.get(key)
        if llama is None:
            preflight.check(path)  # a model that crashes the engine must not crash this process
            llama = self._models[key] = models.load(path, embedding)
        return llama

    def _run(self, llama: Any, call: calls.LocalCall) -> Any:
        if call.route == "embeddings":
            vectors, tokens = llama.embed(call.arguments["input"], return_count=True)
            return calls.embeddings_response(vectors, call.model, tokens, call.arguments["normalize"])
        arguments = {**call.arguments, **_grammar(call)}
        if call.route == "completions":
            return calls.named(llama.create_completion(**arguments), call.model)
        completion = calls.named(llama.create_chat_completion(**arguments), call.model)
        return calls.with_tool_calls(completion, call.tool_names) if call.tool_names else completion

    def _chunks(self, llama: Any, call: calls.LocalCall) -> Generator[Any, None, None]:
        if call.tool_names:  # tool calls are read from the whole text: generate it, then tell it
            yield from calls.as_chunks(self._run(llama, call))
            return
        arguments = {**call.arguments, **_grammar(call), "stream": True}
        method = llama.create_completion if call.route == "completions" else llama.create_chat_completion
        for chunk in method(**arguments):
            yield calls.named(chunk, call.model)


def _grammar(call: calls.LocalCall) -> dict[str, Any]:
    if call.json_schema is None and call.gbnf is None:
        return {}
    grammars = importlib.import_module("llama_cpp.llama_grammar")
    if call.gbnf is not None:
        return {"grammar": grammars.LlamaGrammar.from_string(call.gbnf, verbose=False)}
    if not call.json_schema:  # any JSON value
        return {"grammar": grammars.LlamaGrammar.from_string(grammars.JSON_GBNF, verbose=False)}
    return {"grammar": grammars.LlamaGrammar.from_json_schema(dumps(call.json_schema).decode(), verbose=False)}


def _deliver(answer: Answer, put: Put, cancelled: threading.Event) -> None:
    """Hand the answer's items to the reader, until it ends or the reader gives up (closing the
    answer stops its generation)."""
    try:
        for item in answer:
            put(item)
            if cancelled.is_set():
                break
    except RuntimeError:  # the reader's event loop is gone: nobody is waiting for the rest
        cancelled.set()
    finally:
        answer.close()
        try:
            put(END)
        except RuntimeError:
            pass


_engines_lock = threading.Lock()


def _engine(owner: object) -> LocalEngine:
    """The engine of a transport, made on its first local request."""
    engine: LocalEngine | None = getattr(owner, "_local_engine", None)
    if engine is None:
        with _engines_lock:
            engine = getattr(owner, "_local_engine", None)
            if engine is None:
                models.require_llama_cpp()
                engine = LocalEngine()
                setattr(owner, "_local_engine", engine)  # noqa: B010  (the transports declare no such slot)
    return engine


def _budget(deadline: float | None, limit: float | None, url: str) -> float | None:
    try:
        return wait_budget(deadline, limit)
    except InferenceTimeoutError:
        raise _timed_out(url) from None


def _timed_out(url: str) -> InferenceTimeoutError:
    return InferenceTimeoutError(f"Timed out waiting for the local model ({url})", url=url, provider="local")


# --- the sync client --------------------------------------------------------------------------


def send_sync(owner: object, request: Request, read_timeout: float | None, deadline: float | None) -> SyncResponse:
    channel: queue.SimpleQueue[Item] = queue.SimpleQueue()
    cancelled = _engine(owner).submit(request, channel.put)
    response = LocalSyncResponse(channel, cancelled, request.url, read_timeout, deadline)
    head = response._next(_budget(deadline, None, request.url))
    assert isinstance(head, Head)
    response.head = head
    return response


class LocalSyncResponse(SyncResponse):
    """A local answer, read like a socket's: `head`, then `read()` or `iter_bytes()`."""

    __slots__ = ("_cancelled", "_channel")

    def __init__(
        self,
        channel: queue.SimpleQueue[Item],
        cancelled: threading.Event,
        url: str,
        read_timeout: float | None,
        deadline: float | None,
    ) -> None:
        self._channel = channel
        self._cancelled = cancelled
        self._conn = None
        self.url = url
        self._read_timeout = read_timeout
        self._deadline = deadline

    def _next(self, wait: float | None) -> Item:
        try:
            item = self._channel.get(timeout=wait)
        except queue.Empty:
            self.close()
            raise _timed_out(self.url) from None
        if isinstance(item, BaseException):
            raise item
        return item

    def iter_bytes(self, first_wait: float | None = None, keep_deadline: bool = True) -> Iterator[bytes]:
        wait = first_wait if first_wait is not None else self._read_timeout
        deadline = self._deadline
        try:
            while (item := self._next(_budget(deadline, wait, self.url))) is not END:
                assert isinstance(item, bytes)
                yield item
                wait = self._read_timeout
                if not keep_deadline:
                    deadline = None
        finally:
            self.close()

    def close(self) -> None:
        self._cancelled.set()


# --- the async client -------------------------------------------------------------------------


async def send_async(
    owner: object, request: Request, read_timeout: float | None, deadline: float | None
) -> AsyncResponse:
    loop = asyncio.get_running_loop()
    channel: asyncio.Queue[Item] = asyncio.Queue()

    def put(item: Item) -> None:  # called on the worker thread
        loop.call_soon_threadsafe(channel.put_nowait, item)

    cancelled = _engine(owner).submit(request, put)
    response = LocalAsyncResponse(channel, cancelled, request.url, read_timeout, deadline)
    head = await response._next(_budget(deadline, None, request.url))
    assert isinstance(head, Head)
    response.head = head
    return response


class LocalAsyncResponse(AsyncResponse):
    __slots__ = ("_cancelled", "_channel")

    def __init__(
        self,
        channel: asyncio.Queue[Item],
        cancelled: threading.Event,
        url: str,
        read_timeout: float | None,
        deadline: float | None,
    ) -> None:
        self._channel = channel
        self._cancelled = cancelled
        self._conn = None
        self.url = url
        self._read_timeout = read_timeout
        self._deadline = deadline

    async def _next(self, wait: float | None) -> Item:
        try:
            item = self._channel.get_nowait()
        except asyncio.QueueEmpty:
            try:
                item = await asyncio.wait_for(self._channel.get(), wait)
            except asyncio.TimeoutError:
                self.close()
                raise _timed_out(self.url) from None
            except BaseException:
                self.close()  # cancelled: stop generating for nobody
                raise
        if isinstance(item, BaseException):
            raise item
        return item

    async def iter_bytes(self, first_wait: float | None = None, keep_deadline: bool = True) -> AsyncIterator[bytes]:
        wait = first_wait if first_wait is not None else self._read_timeout
        deadline = self._deadline
        try:
            while (item := await self._next(_budget(deadline, wait, self.url))) is not END:
                assert isinstance(item, bytes)
                yield item
                wait = self._read_timeout
                if not keep_deadline:
                    deadline = None
        finally:
            self.close()

    def close(self) -> None:
        self._cancelled.set()
