"""InferenceClient: every task, blocking. Each method is its signature, its docs, and one line into
the task's flow; async_client.py is generated from this file (scripts/gen_async_client.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal, overload

from omniinfer._client_base import ClientBase
from omniinfer._http import sync_driver
from omniinfer._http.sync_transport import SyncTransport
from omniinfer.tasks import chat, text_generation, text_to_image
from omniinfer.types import (
    ChatCompletionOutput,
    ChatCompletionStreamOutput,
    TextGenerationOutput,
    TextGenerationStreamOutput,
)

if TYPE_CHECKING:
    from PIL.Image import Image


class InferenceClient(ClientBase):
    """Run inference on inference providers, dedicated endpoints and local servers.

    Args:
        model: A Hub model id (e.g. `"meta-llama/Llama-3.1-8B-Instruct"`) or the URL of an endpoint or
            local server (e.g. `"http://localhost:8080"`). Can also be given per call.
        provider: The provider to use (e.g. `"together"`); `None`/`"auto"` picks the first provider
            that serves the model.
        token: A Hugging Face token (`hf_...`, routed through Hugging Face) or a provider's own key
            (sent directly to the provider). Defaults to the locally stored token.
        timeout: Seconds to wait for a connection and for each piece of the answer, or a `Timeout`.
        headers: Extra headers sent with every request.
        cookies: Cookies sent with every request.
        bill_to: The Hugging Face organization billed for routed requests (`X-HF-Bill-To`).
        base_url: Alias of `model` for an OpenAI-compatible base URL.
        api_key: Alias of `token`.
        max_retries: How many times a call is sent again after a connection failure, a timeout, or a
            408/429/5xx answer (exponential backoff with jitter, honouring `Retry-After`). 0 disables.

    Raises:
        ValueError: when both `model` and `base_url`, or both `token` and `api_key`, are given.
    """

    def _new_transport(self) -> SyncTransport:
        return SyncTransport()

    def _call(self, flow: Callable[..., Any], arguments: dict[str, Any]) -> Any:
        arguments.pop("self")
        return sync_driver.run(flow(self._ctx, **arguments), self._transport, self._ctx)

    def close(self) -> None:
        """Close the pooled connections. The client may still be used afterwards (it reconnects)."""
        self._transport.close()
        self._transport = SyncTransport()

    def __enter__(self) -> InferenceClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- task methods (begin): everything below is mirrored into async_client.py ---

    @overload
    def chat_completion(
        self,
        messages: list[dict[str, Any]],
        *,
        model: str | None = None,
        stream: Literal[False] = False,
        frequency_penalty: float | None = None,
        logit_bias: list[float] | dict[str, float] | None = None,
        logprobs: bool | None = None,
        max_tokens: int | None = None,
        n: int | None = None,
        presence_penalty: float | None = None,
        response_format: Any = None,
        seed: int | None = None,
        stop: list[str] | str | None = None,
        stream_options: dict[str, Any] | None = None,
        temperature: float | None = None,
        tool_choice: Any = None,
        tool_prompt: str | None = None,
        tools: list[Any] | None = None,
        top_logprobs: int | None = None,
        top_p: float | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> ChatCompletionOutput: ...
    @overload
    def chat_completion(
        self,
        messages: list[dict[str, Any]],
        *,
        model: str | None = None,
        stream: Literal[True],
        frequency_penalty: float | None = None,
        logit_bias: list[float] | dict[str, float] | None = None,
        logprobs: bool | None = None,
        max_tokens: int | None = None,
        n: int | None = None,
        presence_penalty: float | None = None,
        response_format: Any = None,
        seed: int | None = None,
        stop: list[str] | str | None = None,
        stream_options: dict[str, Any] | None = None,
        temperature: float | None = None,
        tool_choice: Any = None,
        tool_prompt: str | None = None,
        tools: list[Any] | None = None,
        top_logprobs: int | None = None,
        top_p: float | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> Iterator[ChatCompletionStreamOutput]: ...
    def chat_completion(
        self,
        messages: list[dict[str, Any]],
        *,
        model: str | None = None,
        stream: bool = False,
        frequency_penalty: float | None = None,
        logit_bias: list[float] | dict[str, float] | None = None,
        logprobs: bool | None = None,
        max_tokens: int | None = None,
        n: int | None = None,
        presence_penalty: float | None = None,
        response_format: Any = None,
        seed: int | None = None,
        stop: list[str] | str | None = None,
        stream_options: dict[str, Any] | None = None,
        temperature: float | None = None,
        tool_choice: Any = None,
        tool_prompt: str | None = None,
        tools: list[Any] | None = None,
        top_logprobs: int | None = None,
        top_p: float | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> ChatCompletionOutput | Iterator[ChatCompletionStreamOutput]:
        """Answer a conversation with a chat model (OpenAI chat-completions protocol).

        Args:
            messages: The conversation, as `{"role": ..., "content": ...}` dicts.
            model: The model; for a provider the Hub id, for a URL client the name sent as `"model"`.
            stream: Yield `ChatCompletionStreamOutput` chunks as they arrive instead of one answer.
            frequency_penalty, logit_bias, logprobs, max_tokens, n, presence_penalty, seed, stop,
            stream_options, temperature, top_logprobs, top_p: Sampling options, sent as given.
            response_format: `{"type": "json_object"}` or `{"type": "json_schema", "json_schema":
                {"name": ..., "schema": {...}}}` for structured output.
            tools, tool_choice, tool_prompt: Function tools the model may call.
            extra_body: Provider-specific keys merged into the request body.

        Returns:
            `ChatCompletionOutput`, or an iterator of `ChatCompletionStreamOutput` when `stream=True`.

        Raises:
            InferenceTimeoutError: a deadline passed. InferenceHTTPError (and subclasses such as
            BadRequestError): the server refused. IncompleteStreamError: the stream was cut.

        Example:
            >>> client = InferenceClient(base_url="http://localhost:8080/v1")
            >>> out = client.chat_completion([{"role": "user", "content": "Hi!"}], max_tokens=20)
            >>> out.choices[0].message.content
        """
        return self._call(chat.chat_completion, locals())  # type: ignore[no-any-return]

    @overload
    def text_generation(
        self,
        prompt: str,
        *,
        details: Literal[False] = False,
        stream: Literal[False] = False,
        model: str | None = None,
        adapter_id: str | None = None,
        best_of: int | None = None,
        decoder_input_details: bool | None = None,
        do_sample: bool | None = False,
        frequency_penalty: float | None = None,
        grammar: Any = None,
        max_new_tokens: int | None = None,
        repetition_penalty: float | None = None,
        return_full_text: bool | None = False,
        seed: int | None = None,
        stop: list[str] | None = None,
        stop_sequences: list[str] | None = None,
        temperature: float | None = None,
        top_k: int | None = None,
        top_n_tokens: int | None = None,
        top_p: float | None = None,
        truncate: int | None = None,
        typical_p: float | None = None,
        watermark: bool | None = None,
    ) -> str: ...
    @overload
    def text_generation(
        self,
        prompt: str,
        *,
        details: Literal[True],
        stream: Literal[False] = False,
        model: str | None = None,
        adapter_id: str | None = None,
        best_of: int | None = None,
        decoder_input_details: bool | None = None,
        do_sample: bool | None = False,
        frequency_penalty: float | None = None,
        grammar: Any = None,
        max_new_tokens: int | None = None,
        repetition_penalty: float | None = None,
        return_full_text: bool | None = False,
        seed: int | None = None,
        stop: list[str] | None = None,
        stop_sequences: list[str] | None = None,
        temperature: float | None = None,
        top_k: int | None = None,
        top_n_tokens: int | None = None,
        top_p: float | None = None,
        truncate: int | None = None,
        typical_p: float | None = None,
        watermark: bool | None = None,
    ) -> TextGenerationOutput: ...
    @overload
    def text_generation(
        self,
        prompt: str,
        *,
        details: Literal[False] = False,
        stream: Literal[True],
        model: str | None = None,
        adapter_id: str | None = None,
        best_of: int | None = None,
        decoder_input_details: bool | None = None,
        do_sample: bool | None = False,
        frequency_penalty: float | None = None,
        grammar: Any = None,
        max_new_tokens: int | None = None,
        repetition_penalty: float | None = None,
        return_full_text: bool | None = False,
        seed: int | None = None,
        stop: list[str] | None = None,
        stop_sequences: list[str] | None = None,
        temperature: float | None = None,
        top_k: int | None = None,
        top_n_tokens: int | None = None,
        top_p: float | None = None,
        truncate: int | None = None,
        typical_p: float | None = None,
        watermark: bool | None = None,
    ) -> Iterator[str]: ...
    @overload
    def text_generation(
        self,
        prompt: str,
        *,
        details: Literal[True],
        stream: Literal[True],
        model: str | None = None,
        adapter_id: str | None = None,
        best_of: int | None = None,
        decoder_input_details: bool | None = None,
        do_sample: bool | None = False,
        frequency_penalty: float | None = None,
        grammar: Any = None,
        max_new_tokens: int | None = None,
        repetition_penalty: float | None = None,
        return_full_text: bool | None = False,
        seed: int | None = None,
        stop: list[str] | None = None,
        stop_sequences: list[str] | None = None,
        temperature: float | None = None,
        top_k: int | None = None,
        top_n_tokens: int | None = None,
        top_p: float | None = None,
        truncate: int | None = None,
        typical_p: float | None = None,
        watermark: bool | None = None,
    ) -> Iterator[TextGenerationStreamOutput]: ...
    def text_generation(
        self,
        prompt: str,
        *,
        details: bool | None = False,
        stream: bool | None = False,
        model: str | None = None,
        adapter_id: str | None = None,
        best_of: int | None = None,
        decoder_input_details: bool | None = None,
        do_sample: bool | None = False,
        frequency_penalty: float | None = None,
        grammar: Any = None,
        max_new_tokens: int | None = None,
        repetition_penalty: float | None = None,
        return_full_text: bool | None = False,
        seed: int | None = None,
        stop: list[str] | None = None,
        stop_sequences: list[str] | None = None,
        temperature: float | None = None,
        top_k: int | None = None,
        top_n_tokens: int | None = None,
        top_p: float | None = None,
        truncate: int | None = None,
        typical_p: float | None = None,
        watermark: bool | None = None,
    ) -> str | TextGenerationOutput | Iterator[str] | Iterator[TextGenerationStreamOutput]:
        """Continue a prompt (TGI protocol; OpenAI `/v1/completions` for OpenAI-style URLs and providers).

        Args:
            prompt: The text to continue.
            details: Return `TextGenerationOutput` (tokens, finish reason, seed) instead of a str.
            stream: Yield tokens (str, or `TextGenerationStreamOutput` with `details=True`) as they come.
            model: Hub id or URL for this call (overrides the client's model).
            max_new_tokens, temperature, top_k, top_p, typical_p, repetition_penalty,
            frequency_penalty, do_sample, seed, stop, truncate, best_of, watermark, top_n_tokens,
            return_full_text, decoder_input_details, adapter_id: TGI generation parameters.
            grammar: A TGI grammar (`{"type": "json", "value": schema}` or `{"type": "regex", ...}`).
            stop_sequences: Deprecated alias of `stop`.

        Returns:
            The generated text, `TextGenerationOutput`, or an iterator of tokens / stream outputs.

        Raises:
            ValidationError, GenerationError, OverloadedError, IncompleteGenerationError, UnknownError:
            the server's TGI error. InferenceTimeoutError, InferenceHTTPError: as for every call.

        Example:
            >>> client = InferenceClient("http://localhost:8080")
            >>> client.text_generation("The huggingface_hub library is ", max_new_tokens=12)
        """
        return self._call(text_generation.text_generation, locals())  # type: ignore[no-any-return]

    def text_to_image(
        self,
        prompt: str,
        *,
        negative_prompt: str | None = None,
        height: int | None = None,
        width: int | None = None,
        num_inference_steps: int | None = None,
        guidance_scale: float | None = None,
        model: str | None = None,
        scheduler: str | None = None,
        seed: int | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> Image:
        """Generate an image from a prompt.

        Args:
            prompt: What to draw.
            negative_prompt: What not to draw.
            height, width: Image size in pixels.
            num_inference_steps: Denoising steps (more: better quality, slower).
            guidance_scale: How closely to follow the prompt.
            model: Hub id or endpoint URL for this call.
            scheduler: Scheduler name (hf-inference / diffusers).
            seed: Random seed, for reproducible images.
            extra_body: Provider-specific parameters, sent with the others.

        Returns:
            The image, as a `PIL.Image.Image` (needs Pillow: `pip install 'omniinfer[tasks]'`).

        Raises:
            InferenceHTTPError, InferenceTimeoutError: as for every call.

        Example:
            >>> client = InferenceClient(provider="fal-ai", api_key="hf_***")
            >>> image = client.text_to_image("An astronaut riding a horse", model="black-forest-labs/FLUX.1-dev")
            >>> image.save("astronaut.png")
        """
        return self._call(text_to_image.text_to_image, locals())  # type: ignore[no-any-return]

    # --- task methods (end) ---
