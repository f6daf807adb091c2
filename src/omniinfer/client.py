"""InferenceClient: every task, blocking. Each method is its signature, its docs, and one line into
the task's flow; async_client.py is generated from this file (scripts/gen_async_client.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal, overload

from omniinfer import tasks
from omniinfer._client_base import ClientBase

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from PIL.Image import Image

    from omniinfer._core.inputs import BinaryInput
    from omniinfer._http.sync_transport import SyncTransport
    from omniinfer.types import (
        AudioClassificationOutputElement,
        AudioToAudioOutputElement,
        AutomaticSpeechRecognitionOutput,
        ChatCompletionOutput,
        ChatCompletionStreamOutput,
        DocumentQuestionAnsweringOutputElement,
        FillMaskOutputElement,
        ImageClassificationOutputElement,
        ImageSegmentationOutputElement,
        ImageToImageTargetSize,
        ImageToTextOutput,
        ImageToVideoTargetSize,
        ObjectDetectionOutputElement,
        QuestionAnsweringOutputElement,
        SummarizationOutput,
        TableQuestionAnsweringOutputElement,
        TextClassificationOutputElement,
        TextGenerationOutput,
        TextGenerationStreamOutput,
        TokenClassificationOutputElement,
        TranslationOutput,
        VisualQuestionAnsweringOutputElement,
        ZeroShotClassificationOutputElement,
        ZeroShotImageClassificationOutputElement,
    )


class InferenceClient(ClientBase):
    """Run inference on inference providers, dedicated endpoints and local servers.

    Args:
        model: A Hub model id (e.g. `"meta-llama/Llama-3.1-8B-Instruct"`) or the URL of an endpoint or
            local server (e.g. `"http://localhost:8080"`). Can also be given per call.
        provider: The provider to use (e.g. `"together"`); `None`/`"auto"` picks the first provider
            that serves the model.
        token: A Hugging Face token (`hf_...`, routed through Hugging Face) or a provider's own key
            (sent directly to the provider). Defaults to the locally stored token.
        timeout: Seconds after which a call raises `InferenceTimeoutError`: the whole call, retries
            included, for an answer read at once; for a stream, the wait for it to start and each
            wait between chunks (a long generation is never cut). A `Timeout` sets each phase.
        headers: Extra headers sent with every request.
        cookies: Cookies sent with every request.
        bill_to: The Hugging Face organization billed for routed requests (`X-HF-Bill-To`).
        base_url: Alias of `model` for an OpenAI-compatible base URL.
        api_key: Alias of `token`.
        max_retries: How many times a call is sent again after a connection failure, a timeout, or a
            408/429/5xx answer (exponential backoff with jitter, honouring `Retry-After`). 0 disables.
            Default 2, except that a POST which timed out after it was sent (the server may be
            running it) is not resent unless `max_retries=` or a `Timeout(...)` is given.
        fallback: With `provider="auto"`, run a call that failed on one provider (after its retries) on
            the next provider that serves the model. A list of providers (`provider=["together",
            "fireworks-ai"]`) always falls back, in its order. `result.response_meta.provider` says
            which provider answered.
        proxies: A proxy URL for every request, or `{"http": ..., "https": ..., "all": ...}`, in
            place of the environment's proxies (`https_proxy`, ...).
        trust_env: False: ignore the environment's proxy variables.
        max_connections: The async client's limit on connections open at once (per event loop, all
            hosts together; default 256): more calls in flight wait for a free connection, in order,
            instead of failing when the process runs out of file descriptors. The sync client opens
            one connection per thread at a time and ignores it.

    Raises:
        ValueError: when both `model` and `base_url`, or both `token` and `api_key`, are given.
    """

    def _new_transport(self) -> SyncTransport:
        # The I/O modules load with the first client, not with `import omniinfer`.
        from omniinfer._http import sync_driver
        from omniinfer._http.sync_transport import SyncTransport

        self._run = sync_driver.run
        return SyncTransport(self._proxies)

    def _call(self, flow: Callable[..., Any], /, **arguments: Any) -> Any:
        return self._run(lambda ctx: flow(ctx, **arguments), self._transport, self._ctx, flow.__name__, arguments)

    def close(self) -> None:
        """Close the pooled connections. The client may still be used afterwards (it reconnects)."""
        self._transport.close()
        self._transport = self._new_transport()

    def __enter__(self) -> InferenceClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- task methods (begin): everything below is mirrored into async_client.py ---

    def audio_classification(
        self,
        audio: BinaryInput,
        *,
        model: str | None = None,
        top_k: int | None = None,
        function_to_apply: Literal["sigmoid", "softmax", "none"] | None = None,
    ) -> list[AudioClassificationOutputElement]:
        """Classify an audio clip (speaker gender, emotion, language, sound events, ...).

        Args:
            audio: The audio: bytes, an open binary file, a path, an http(s) or data: URL.
            model: Hub id or endpoint URL for this call (default: the client's, else a recommended model).
            top_k: Return only the `top_k` most likely classes.
            function_to_apply: How scores are computed from the logits: "sigmoid", "softmax" or "none".

        Returns:
            A list of `AudioClassificationOutputElement` (`label`, `score`), most likely first.

        Raises:
            ValueError: `audio` is not binary content. FileNotFoundError: `audio` names no file.
            InferenceHTTPError, InferenceTimeoutError: as for every call. MalformedResponseError: the
            answer has another shape.

        Example:
            >>> client = InferenceClient()
            >>> client.audio_classification("audio.flac", model="superb/hubert-large-superb-er")
            [AudioClassificationOutputElement(score=0.44, label='neu'), ...]
        """
        return self._call(
            tasks.audio.audio_classification, audio=audio, model=model, top_k=top_k, function_to_apply=function_to_apply
        )

    def audio_to_audio(self, audio: BinaryInput, *, model: str | None = None) -> list[AudioToAudioOutputElement]:
        """Transform audio: separate speakers, remove noise, enhance speech.

        Args:
            audio: The audio: bytes, an open binary file, a path, an http(s) or data: URL.
            model: Hub id or endpoint URL for this call (default: the client's, else a recommended model).

        Returns:
            A list of `AudioToAudioOutputElement`: `label`, `content_type` and `blob` (the audio bytes).

        Raises:
            ValueError: `audio` is not binary content. FileNotFoundError: `audio` names no file.
            InferenceHTTPError, InferenceTimeoutError, MalformedResponseError: as for every call.

        Example:
            >>> for track in client.audio_to_audio("audio.flac", model="speechbrain/sepformer-wham"):
            ...     Path(f"{track.label}.flac").write_bytes(track.blob)
        """
        return self._call(tasks.audio.audio_to_audio, audio=audio, model=model)

    def automatic_speech_recognition(
        self,
        audio: BinaryInput,
        *,
        model: str | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> AutomaticSpeechRecognitionOutput:
        """Transcribe speech to text.

        Args:
            audio: The audio: bytes, an open binary file, a path, an http(s) or data: URL.
            model: Hub id or endpoint URL for this call (default: the client's, else a recommended model).
            extra_body: Provider- or model-specific parameters (e.g. `{"return_timestamps": True}`).

        Returns:
            `AutomaticSpeechRecognitionOutput`: the `text`, and timestamped `chunks` when the server gives them.

        Raises:
            ValueError: `audio` is not binary content. FileNotFoundError: `audio` names no file.
            InferenceHTTPError, InferenceTimeoutError, MalformedResponseError: as for every call.

        Example:
            >>> client.automatic_speech_recognition("hello_world.flac").text
            'hello world'
        """
        return self._call(
            tasks.audio.automatic_speech_recognition,
            audio=audio,
            model=model,
            extra_body=extra_body,
        )

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
        return self._call(
            tasks.chat.chat_completion,
            messages=messages,
            model=model,
            stream=stream,
            frequency_penalty=frequency_penalty,
            logit_bias=logit_bias,
            logprobs=logprobs,
            max_tokens=max_tokens,
            n=n,
            presence_penalty=presence_penalty,
            response_format=response_format,
            seed=seed,
            stop=stop,
            stream_options=stream_options,
            temperature=temperature,
            tool_choice=tool_choice,
            tool_prompt=tool_prompt,
            tools=tools,
            top_logprobs=top_logprobs,
            top_p=top_p,
            extra_body=extra_body,
        )

    def document_question_answering(
        self,
        image: BinaryInput,
        question: str,
        *,
        model: str | None = None,
        doc_stride: int | None = None,
        handle_impossible_answer: bool | None = None,
        lang: str | None = None,
        max_answer_len: int | None = None,
        max_question_len: int | None = None,
        max_seq_len: int | None = None,
        top_k: int | None = None,
        word_boxes: list[list[float] | str] | None = None,
    ) -> list[DocumentQuestionAnsweringOutputElement]:
        """Answer a question about a document image (invoice, form, receipt, ...).

        Args:
            image: The document image: bytes, an open binary file, a path, an http(s) or data: URL,
                or a PIL image.
            question: The question.
            model: Hub id or endpoint URL for this call (default: the client's, else a recommended model).
            doc_stride: Overlap between chunks when the document is split.
            handle_impossible_answer: Accept "no answer" as an answer.
            lang: Language for the OCR (e.g. "en").
            max_answer_len, max_question_len, max_seq_len: Length limits, in tokens.
            top_k: Number of answers to return.
            word_boxes: Words and their boxes, to skip the OCR.

        Returns:
            A list of `DocumentQuestionAnsweringOutputElement` (`answer`, `score`, `start`, `end`).

        Raises:
            ValueError: `image` is not binary content, or `question` is not text.
            FileNotFoundError: `image` names no file. InferenceHTTPError, InferenceTimeoutError,
            MalformedResponseError: as for every call.

        Example:
            >>> client.document_question_answering("invoice.png", "What is the invoice number?")
            [DocumentQuestionAnsweringOutputElement(answer='us-001', score=0.9, start=16, end=16)]
        """
        return self._call(
            tasks.vision.document_question_answering,
            image=image,
            question=question,
            model=model,
            doc_stride=doc_stride,
            handle_impossible_answer=handle_impossible_answer,
            lang=lang,
            max_answer_len=max_answer_len,
            max_question_len=max_question_len,
            max_seq_len=max_seq_len,
            top_k=top_k,
            word_boxes=word_boxes,
        )

    def feature_extraction(
        self,
        text: str | list[str],
        *,
        normalize: bool | None = None,
        prompt_name: str | None = None,
        truncate: bool | None = None,
        truncation_direction: Literal["Left", "Right"] | None = None,
        model: str | None = None,
        dimensions: int | None = None,
        encoding_format: Literal["float", "base64"] | None = None,
    ) -> NDArray[np.float32]:
        """Embed a text: a vector per text (sentence-transformers) or per token (transformers).

        Args:
            text: The text to embed. OpenAI-compatible servers (a base URL or model URL ending in `/v1`,
                served at `/v1/embeddings`) and embedding providers also take a list of texts: one
                row per text.
            normalize: Normalize the embeddings (text-embeddings-inference).
            prompt_name: The name of a prompt of the model's configuration to prepend (e.g. "query").
            truncate: Truncate inputs longer than the model accepts.
            truncation_direction: Which side to truncate: "Left" or "Right".
            model: Hub id or endpoint URL for this call (default: the client's, else a recommended model).
            dimensions: The size of the embeddings, for models that can shorten them (OpenAI-style
                servers and providers, recent text-embeddings-inference).
            encoding_format: "float" or "base64": how the server sends the vectors (OpenAI-style);
                the result is the same array either way.

        Returns:
            A `numpy.ndarray` of float32, shaped as the server answered (e.g. `(1, dim)` or
            `(1, tokens, dim)`). Needs numpy: `pip install 'omniinfer[tasks]'`.

        Raises:
            ValueError: `text` is binary content. TypeError: `text` is not a str.
            InferenceHTTPError, InferenceTimeoutError, MalformedResponseError: as for every call.

        Example:
            >>> client.feature_extraction("Hi, who are you?", model="sentence-transformers/all-MiniLM-L6-v2").shape
            (1, 384)
        """
        return self._call(
            tasks.embeddings.feature_extraction,
            text=text,
            normalize=normalize,
            prompt_name=prompt_name,
            truncate=truncate,
            truncation_direction=truncation_direction,
            model=model,
            dimensions=dimensions,
            encoding_format=encoding_format,
        )

    def fill_mask(
        self,
        text: str,
        *,
        model: str | None = None,
        targets: list[str] | None = None,
        top_k: int | None = None,
    ) -> list[FillMaskOutputElement]:
        """Fill in the masked word of a text (the model's mask token, e.g. `[MASK]` or `<mask>`).

        Args:
            text: The text with one mask token.
            model: Hub id or endpoint URL for this call (default: the client's, else a recommended model).
            targets: Only score these candidate words.
            top_k: Number of candidates to return.

        Returns:
            A list of `FillMaskOutputElement` (`sequence`, `token`, `token_str`, `score`).

        Raises:
            ValueError: `text` is binary content. TypeError: `text` is not a str.
            InferenceHTTPError, InferenceTimeoutError, MalformedResponseError: as for every call.

        Example:
            >>> client.fill_mask("The goal of life is <mask>.")[0].token_str
            ' happiness'
        """
        return self._call(tasks.text.fill_mask, text=text, model=model, targets=targets, top_k=top_k)

    def get_endpoint_info(self, *, model: str | None = None) -> dict[str, Any]:
        """What an endpoint says about itself: the JSON of `GET <url>/info` (TGI, TEI, Inference Endpoints).

        Args:
            model: The endpoint URL for this call (default: the client's). A Hub model id is refused:
                the info comes from a running endpoint.

        Returns:
            A `dict`, as the server sent it (e.g. `model_id`, `max_input_tokens` for TGI).

        Raises:
            ValueError: no model, a model that is not a URL, or a provider other than the default or
                "hf-inference".
            InferenceHTTPError, InferenceTimeoutError, MalformedResponseError: as for every call.

        Example:
            >>> InferenceClient("http://localhost:8080").get_endpoint_info()["model_id"]
            'meta-llama/Llama-3.1-8B-Instruct'
        """
        return self._call(tasks.endpoint.get_endpoint_info, model=model)

    def health_check(self, model: str | None = None) -> bool:
        """Whether an endpoint is up: `GET <url>/health` answered 200.

        Never raises for a dead endpoint: a refused connection, a timeout or an error status is
        `False`, answered at once (no retries).

        Args:
            model: The endpoint URL to check (default: the client's). Only URLs are accepted.

        Returns:
            `True` on a 200 answer, `False` otherwise.

        Raises:
            ValueError: no model, a model that is not a URL, or a provider other than the default or
                "hf-inference".

        Example:
            >>> InferenceClient("http://localhost:8080").health_check()
            True
        """
        return self._call(tasks.endpoint.health_check, model=model)

    def image_classification(
        self,
        image: BinaryInput,
        *,
        model: str | None = None,
        function_to_apply: Literal["sigmoid", "softmax", "none"] | None = None,
        top_k: int | None = None,
    ) -> list[ImageClassificationOutputElement]:
        """Classify an image.

        Args:
            image: The image: bytes, an open binary file, a path, an http(s) or data: URL, or a PIL image.
            model: Hub id or endpoint URL for this call (default: the client's, else a recommended model).
            function_to_apply: How scores are computed from the logits: "sigmoid", "softmax" or "none".
            top_k: Return only the `top_k` most likely classes.

        Returns:
            A list of `ImageClassificationOutputElement` (`label`, `score`).

        Raises:
            ValueError: `image` is not binary content. FileNotFoundError: `image` names no file.
            InferenceHTTPError, InferenceTimeoutError, MalformedResponseError: as for every call.

        Example:
            >>> client.image_classification("https://upload.wikimedia.org/wikipedia/commons/4/43/Cute_dog.jpg")
            [ImageClassificationOutputElement(label='Blenheim spaniel', score=0.9779), ...]
        """
        return self._call(
            tasks.vision.image_classification,
            image=image,
            model=model,
            function_to_apply=function_to_apply,
            top_k=top_k,
        )

    def image_segmentation(
        self,
        image: BinaryInput,
        *,
        model: str | None = None,
        mask_threshold: float | None = None,
        overlap_mask_area_threshold: float | None = None,
        subtask: Literal["instance", "panoptic", "semantic"] | None = None,
        threshold: float | None = None,
    ) -> list[ImageSegmentationOutputElement]:
        """Split an image into labelled segments.

        Args:
            image: The image: bytes, an open binary file, a path, an http(s) or data: URL, or a PIL image.
            model: Hub id or endpoint URL for this call (default: the client's, else a recommended model).
            mask_threshold: Threshold to binarize the masks.
            overlap_mask_area_threshold: Merge or drop small disconnected parts below this ratio.
            subtask: "instance", "panoptic" or "semantic" segmentation.
            threshold: Drop segments scored below this probability.

        Returns:
            A list of `ImageSegmentationOutputElement`: `label`, `score` and `mask`, a `PIL.Image.Image`
            (needs Pillow: `pip install 'omniinfer[tasks]'`).

        Raises:
            ValueError: `image` is not binary content. FileNotFoundError: `image` names no file.
            InferenceHTTPError, InferenceTimeoutError, MalformedResponseError: as for every call.

        Example:
            >>> segments = client.image_segmentation("cat.jpg", model="facebook/detr-resnet-50-panoptic")
            >>> segments[0].label, segments[0].mask.size
        """
        return self._call(
            tasks.vision.image_segmentation,
            image=image,
            model=model,
            mask_threshold=mask_threshold,
            overlap_mask_area_threshold=overlap_mask_area_threshold,
            subtask=subtask,
            threshold=threshold,
        )

    def image_to_image(
        self,
        image: BinaryInput,
        prompt: str | None = None,
        *,
        negative_prompt: str | None = None,
        num_inference_steps: int | None = None,
        guidance_scale: float | None = None,
        model: str | None = None,
        target_size: ImageToImageTargetSize | dict[str, int] | None = None,
        **kwargs: Any,
    ) -> Image:
        """Transform an image as a prompt says (edit, restyle, upscale, ...).

        Args:
            image: The image: bytes, an open binary file, a path, an http(s) or data: URL, or a PIL image.
            prompt: What the output should show.
            negative_prompt: What it should not show.
            num_inference_steps: Denoising steps (more: better quality, slower).
            guidance_scale: How closely to follow the prompt.
            model: Hub id or endpoint URL for this call (default: the client's, else a recommended model).
            target_size: `{"width": w, "height": h}` of the output, in pixels.
            **kwargs: Model-specific parameters, sent with the others.

        Returns:
            The image, as a `PIL.Image.Image` (needs Pillow: `pip install 'omniinfer[tasks]'`).

        Raises:
            ValueError: `image` is not binary content, or `target_size` is not a width and height.
            FileNotFoundError: `image` names no file. InferenceHTTPError, InferenceTimeoutError,
            MalformedResponseError: as for every call.

        Example:
            >>> image = client.image_to_image("cat.jpg", prompt="Turn the cat into a tiger")
            >>> image.save("tiger.png")
        """
        return self._call(
            tasks.media.image_to_image,
            image=image,
            prompt=prompt,
            negative_prompt=negative_prompt,
            num_inference_steps=num_inference_steps,
            guidance_scale=guidance_scale,
            model=model,
            target_size=target_size,
            kwargs=kwargs,
        )

    def image_to_text(self, image: BinaryInput, *, model: str | None = None) -> ImageToTextOutput:
        """Caption an image.

        Args:
            image: The image: bytes, an open binary file, a path, an http(s) or data: URL, or a PIL image.
            model: Hub id or endpoint URL for this call (default: the client's, else a recommended model).

        Returns:
            `ImageToTextOutput` with the caption in `generated_text`.

        Raises:
            ValueError: `image` is not binary content. FileNotFoundError: `image` names no file.
            InferenceHTTPError, InferenceTimeoutError, MalformedResponseError: as for every call.

        Example:
            >>> client.image_to_text("cat.jpg").generated_text
            'a cat sitting on a couch'
        """
        return self._call(tasks.vision.image_to_text, image=image, model=model)

    def image_to_video(
        self,
        image: BinaryInput,
        *,
        model: str | None = None,
        prompt: str | None = None,
        negative_prompt: str | None = None,
        num_frames: float | None = None,
        num_inference_steps: int | None = None,
        guidance_scale: float | None = None,
        seed: int | None = None,
        target_size: ImageToVideoTargetSize | dict[str, int] | None = None,
        **kwargs: Any,
    ) -> bytes:
        """Animate an image into a video.

        Args:
            image: The first frame: bytes, an open binary file, a path, an http(s) or data: URL, or a PIL image.
            model: Hub id or endpoint URL for this call.
            prompt: What should happen in the video.
            negative_prompt: What should not.
            num_frames: Number of frames to generate.
            num_inference_steps: Denoising steps (more: better quality, slower).
            guidance_scale: How closely to follow the prompt.
            seed: Random seed, for reproducible videos.
            target_size: `{"width": w, "height": h}` of the video, in pixels.
            **kwargs: Provider- or model-specific parameters, sent with the others.

        Returns:
            The video, as bytes (usually MP4).

        Raises:
            ValueError: `image` is not binary content, or the provider does not serve the task
            (hf-inference does not). FileNotFoundError: `image` names no file.
            InferenceHTTPError, InferenceTimeoutError: as for every call.

        Example:
            >>> client = InferenceClient(provider="fal-ai", api_key="hf_***")
            >>> video = client.image_to_video("cat.jpg", model="Wan-AI/Wan2.2-I2V-A14B", prompt="The cat jumps")
            >>> Path("cat.mp4").write_bytes(video)
        """
        return self._call(
            tasks.media.image_to_video,
            image=image,
            model=model,
            prompt=prompt,
            negative_prompt=negative_prompt,
            num_frames=num_frames,
            num_inference_steps=num_inference_steps,
            guidance_scale=guidance_scale,
            seed=seed,
            target_size=target_size,
            kwargs=kwargs,
        )

    def object_detection(
        self,
        image: BinaryInput,
        *,
        model: str | None = None,
        threshold: float | None = None,
    ) -> list[ObjectDetectionOutputElement]:
        """Detect objects in an image, with their boxes.

        Args:
            image: The image: bytes, an open binary file, a path, an http(s) or data: URL, or a PIL image.
            model: Hub id or endpoint URL for this call (default: the client's, else a recommended model).
            threshold: Drop detections scored below this probability.

        Returns:
            A list of `ObjectDetectionOutputElement`: `label`, `score` and `box` (`xmin`, `ymin`, `xmax`, `ymax`).

        Raises:
            ValueError: `image` is not binary content. FileNotFoundError: `image` names no file.
            InferenceHTTPError, InferenceTimeoutError, MalformedResponseError: as for every call.

        Example:
            >>> client.object_detection("people.jpg")[0].box.xmin
            59
        """
        return self._call(tasks.vision.object_detection, image=image, model=model, threshold=threshold)

    def question_answering(
        self,
        question: str,
        context: str,
        *,
        model: str | None = None,
        align_to_words: bool | None = None,
        doc_stride: int | None = None,
        handle_impossible_answer: bool | None = None,
        max_answer_len: int | None = None,
        max_question_len: int | None = None,
        max_seq_len: int | None = None,
        top_k: int | None = None,
    ) -> QuestionAnsweringOutputElement | list[QuestionAnsweringOutputElement]:
        """Find the answer to a question in a text.

        Args:
            question: The question.
            context: The text that holds the answer.
            model: Hub id or endpoint URL for this call (default: the client's, else a recommended model).
            align_to_words: Align the answer to whole words.
            doc_stride: Overlap between chunks when the context is split.
            handle_impossible_answer: Accept "no answer" as an answer.
            max_answer_len, max_question_len, max_seq_len: Length limits, in tokens.
            top_k: Number of answers to return.

        Returns:
            A `QuestionAnsweringOutputElement` (`answer`, `score`, `start`, `end`), or a list of
            them when the server returns several (`top_k` > 1).

        Raises:
            ValueError: `question` or `context` is binary content. TypeError: one of them is not a str.
            InferenceHTTPError, InferenceTimeoutError, MalformedResponseError: as for every call.

        Example:
            >>> client.question_answering("What's my name?", "My name is Clara and I live in Berkeley.").answer
            'Clara'
        """
        return self._call(
            tasks.text.question_answering,
            question=question,
            context=context,
            model=model,
            align_to_words=align_to_words,
            doc_stride=doc_stride,
            handle_impossible_answer=handle_impossible_answer,
            max_answer_len=max_answer_len,
            max_question_len=max_question_len,
            max_seq_len=max_seq_len,
            top_k=top_k,
        )

    def sentence_similarity(
        self,
        sentence: str,
        other_sentences: list[str],
        *,
        model: str | None = None,
    ) -> list[float]:
        """Score how similar each of `other_sentences` is to `sentence` (cosine similarity of embeddings).

        Args:
            sentence: The reference sentence.
            other_sentences: The sentences to compare with it.
            model: Hub id or endpoint URL for this call (default: the client's, else a recommended model).

        Returns:
            One score per sentence of `other_sentences`, in order.

        Raises:
            ValueError: `other_sentences` is not a non-empty list of str, or `sentence` is binary content.
            InferenceHTTPError, InferenceTimeoutError, MalformedResponseError: as for every call.

        Example:
            >>> client.sentence_similarity("Machine learning is so easy.", ["Deep learning is so straightforward."])
            [0.7785]
        """
        return self._call(
            tasks.embeddings.sentence_similarity, sentence=sentence, other_sentences=other_sentences, model=model
        )

    def summarization(
        self,
        text: str,
        *,
        model: str | None = None,
        clean_up_tokenization_spaces: bool | None = None,
        generate_parameters: dict[str, Any] | None = None,
        truncation: Literal["do_not_truncate", "longest_first", "only_first", "only_second"] | None = None,
    ) -> SummarizationOutput:
        """Summarize a text.

        Args:
            text: The text to summarize.
            model: Hub id or endpoint URL for this call (default: the client's, else a recommended model).
            clean_up_tokenization_spaces: Remove extra spaces left by the tokenizer.
            generate_parameters: Generation options (e.g. `{"max_length": 60}`).
            truncation: How to truncate a text longer than the model accepts.

        Returns:
            `SummarizationOutput` with the summary in `summary_text`.

        Raises:
            ValueError: `text` is binary content. TypeError: `text` is not a str.
            InferenceHTTPError, InferenceTimeoutError, MalformedResponseError: as for every call.

        Example:
            >>> client.summarization("The Eiffel tower is 324 metres tall, about the same as an 81-storey building...")
            SummarizationOutput(summary_text='The Eiffel tower is one of the most famous landmarks in the world....')
        """
        return self._call(
            tasks.text.summarization,
            text=text,
            model=model,
            clean_up_tokenization_spaces=clean_up_tokenization_spaces,
            generate_parameters=generate_parameters,
            truncation=truncation,
        )

    def table_question_answering(
        self,
        table: dict[str, Any],
        query: str,
        *,
        model: str | None = None,
        padding: Literal["do_not_pad", "longest", "max_length"] | None = None,
        sequential: bool | None = None,
        truncation: bool | None = None,
    ) -> TableQuestionAnsweringOutputElement:
        """Answer a question about a table.

        Args:
            table: The table, as `{column name: [cell values]}` with all columns the same length.
            query: The question.
            model: Hub id or endpoint URL for this call (default: the client's, else a recommended model).
            padding: How to pad the inputs: "do_not_pad", "longest" or "max_length".
            sequential: Answer sequentially (for conversational queries); slower.
            truncation: Truncate a table larger than the model accepts.

        Returns:
            `TableQuestionAnsweringOutputElement`: `answer`, `cells`, `coordinates` and `aggregator`.

        Raises:
            ValueError: `table` is not a dict of equal-length columns, or `query` is binary content.
            InferenceHTTPError, InferenceTimeoutError, MalformedResponseError: as for every call.

        Example:
            >>> table = {"Repository": ["Transformers", "Datasets"], "Stars": ["36542", "4512"]}
            >>> client.table_question_answering(table, "How many stars does Transformers have?").answer
            'AVERAGE > 36542'
        """
        return self._call(
            tasks.tabular.table_question_answering,
            table=table,
            query=query,
            model=model,
            padding=padding,
            sequential=sequential,
            truncation=truncation,
        )

    def tabular_classification(self, table: dict[str, Any], *, model: str | None = None) -> list[str]:
        """Classify each row of a table.

        Args:
            table: The rows, as `{column name: [cell values]}` with all columns the same length.
            model: Hub id or endpoint URL for this call (default: the client's, else a recommended model).

        Returns:
            One label per row, in order (as the model names them).

        Raises:
            ValueError: `table` is not a dict of equal-length columns.
            InferenceHTTPError, InferenceTimeoutError, MalformedResponseError: as for every call.

        Example:
            >>> table = {"fixed_acidity": ["7.4", "7.8"], "volatile_acidity": ["0.7", "0.88"]}
            >>> client.tabular_classification(table, model="julien-c/wine-quality")
            ['5', '5']
        """
        return self._call(tasks.tabular.tabular_classification, table=table, model=model)

    def tabular_regression(self, table: dict[str, Any], *, model: str | None = None) -> list[float]:
        """Predict a number for each row of a table.

        Args:
            table: The rows, as `{column name: [cell values]}` with all columns the same length.
            model: An endpoint URL, or a Hub id with a provider that serves the task (hf-inference does not).

        Returns:
            One value per row, in order.

        Raises:
            ValueError: `table` is not a dict of equal-length columns, or the provider does not serve
            the task. InferenceHTTPError, InferenceTimeoutError, MalformedResponseError: as for every call.

        Example:
            >>> table = {"Height": ["11.52", "12.48"], "Length1": ["23.2", "24"], "Width": ["4.02", "4.30"]}
            >>> client.tabular_regression(table, model="https://my-endpoint.example/fish-weight")
            [110.0, 120.0]
        """
        return self._call(tasks.tabular.tabular_regression, table=table, model=model)

    def text_classification(
        self,
        text: str,
        *,
        model: str | None = None,
        top_k: int | None = None,
        function_to_apply: Literal["sigmoid", "softmax", "none"] | None = None,
    ) -> list[TextClassificationOutputElement]:
        """Classify a text (sentiment, topic, toxicity, ...).

        Args:
            text: The text to classify.
            model: Hub id or endpoint URL for this call (default: the client's, else a recommended model).
            top_k: Return only the `top_k` most likely classes.
            function_to_apply: How scores are computed from the logits: "sigmoid", "softmax" or "none".

        Returns:
            A list of `TextClassificationOutputElement` (`label`, `score`).

        Raises:
            ValueError: `text` is binary content. TypeError: `text` is not a str.
            InferenceHTTPError, InferenceTimeoutError, MalformedResponseError: as for every call.

        Example:
            >>> client.text_classification("I like you")
            [TextClassificationOutputElement(label='POSITIVE', score=0.9998), ...]
        """
        return self._call(
            tasks.text.text_classification, text=text, model=model, top_k=top_k, function_to_apply=function_to_apply
        )

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
        return self._call(
            tasks.text_generation.text_generation,
            prompt=prompt,
            details=details,
            stream=stream,
            model=model,
            adapter_id=adapter_id,
            best_of=best_of,
            decoder_input_details=decoder_input_details,
            do_sample=do_sample,
            frequency_penalty=frequency_penalty,
            grammar=grammar,
            max_new_tokens=max_new_tokens,
            repetition_penalty=repetition_penalty,
            return_full_text=return_full_text,
            seed=seed,
            stop=stop,
            stop_sequences=stop_sequences,
            temperature=temperature,
            top_k=top_k,
            top_n_tokens=top_n_tokens,
            top_p=top_p,
            truncate=truncate,
            typical_p=typical_p,
            watermark=watermark,
        )

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
        return self._call(
            tasks.text_to_image.text_to_image,
            prompt=prompt,
            negative_prompt=negative_prompt,
            height=height,
            width=width,
            num_inference_steps=num_inference_steps,
            guidance_scale=guidance_scale,
            model=model,
            scheduler=scheduler,
            seed=seed,
            extra_body=extra_body,
        )

    def text_to_speech(
        self,
        text: str,
        *,
        model: str | None = None,
        do_sample: bool | None = None,
        early_stopping: bool | Literal["never"] | None = None,
        epsilon_cutoff: float | None = None,
        eta_cutoff: float | None = None,
        max_length: int | None = None,
        max_new_tokens: int | None = None,
        min_length: int | None = None,
        min_new_tokens: int | None = None,
        num_beam_groups: int | None = None,
        num_beams: int | None = None,
        penalty_alpha: float | None = None,
        temperature: float | None = None,
        top_k: int | None = None,
        top_p: float | None = None,
        typical_p: float | None = None,
        use_cache: bool | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> bytes:
        """Speak a text.

        Args:
            text: The text to read.
            model: Hub id or endpoint URL for this call (default: the client's, else a recommended model).
            do_sample, early_stopping, epsilon_cutoff, eta_cutoff, max_length, max_new_tokens,
            min_length, min_new_tokens, num_beam_groups, num_beams, penalty_alpha, temperature,
            top_k, top_p, typical_p, use_cache: Generation options of the speech model.
            extra_body: Provider-specific parameters (e.g. a voice), sent with the others.

        Returns:
            The audio, as bytes (format chosen by the server, e.g. FLAC, WAV or MP3).

        Raises:
            ValueError: `text` is binary content. TypeError: `text` is not a str.
            InferenceHTTPError, InferenceTimeoutError: as for every call.

        Example:
            >>> Path("hello.flac").write_bytes(client.text_to_speech("Hello world"))
        """
        return self._call(
            tasks.audio.text_to_speech,
            text=text,
            model=model,
            do_sample=do_sample,
            early_stopping=early_stopping,
            epsilon_cutoff=epsilon_cutoff,
            eta_cutoff=eta_cutoff,
            max_length=max_length,
            max_new_tokens=max_new_tokens,
            min_length=min_length,
            min_new_tokens=min_new_tokens,
            num_beam_groups=num_beam_groups,
            num_beams=num_beams,
            penalty_alpha=penalty_alpha,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            typical_p=typical_p,
            use_cache=use_cache,
            extra_body=extra_body,
        )

    def text_to_video(
        self,
        prompt: str,
        *,
        model: str | None = None,
        guidance_scale: float | None = None,
        negative_prompt: list[str] | None = None,
        num_frames: float | None = None,
        num_inference_steps: int | None = None,
        seed: int | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> bytes:
        """Generate a video from a prompt.

        Args:
            prompt: What the video should show.
            model: An endpoint URL, or a Hub id with a provider that serves the task (hf-inference does not).
            guidance_scale: How closely to follow the prompt.
            negative_prompt: What the video should not show.
            num_frames: Number of frames to generate.
            num_inference_steps: Denoising steps (more: better quality, slower).
            seed: Random seed, for reproducible videos.
            extra_body: Provider-specific parameters, sent with the others.

        Returns:
            The video, as bytes (usually MP4).

        Raises:
            ValueError: `prompt` is binary content, or the provider does not serve the task.
            TypeError: `prompt` is not a str. InferenceHTTPError, InferenceTimeoutError: as for every call.

        Example:
            >>> client = InferenceClient(provider="fal-ai", api_key="hf_***")
            >>> video = client.text_to_video("A young man walking on the street", model="Wan-AI/Wan2.1-T2V-14B")
            >>> Path("walk.mp4").write_bytes(video)
        """
        return self._call(
            tasks.media.text_to_video,
            prompt=prompt,
            model=model,
            guidance_scale=guidance_scale,
            negative_prompt=negative_prompt,
            num_frames=num_frames,
            num_inference_steps=num_inference_steps,
            seed=seed,
            extra_body=extra_body,
        )

    def token_classification(
        self,
        text: str,
        *,
        model: str | None = None,
        aggregation_strategy: Literal["none", "simple", "first", "average", "max"] | None = None,
        ignore_labels: list[str] | None = None,
        stride: int | None = None,
    ) -> list[TokenClassificationOutputElement]:
        """Tag the words of a text (named entities, parts of speech, ...).

        Args:
            text: The text to tag.
            model: Hub id or endpoint URL for this call (default: the client's, else a recommended model).
            aggregation_strategy: How tokens are merged into entities: "none", "simple", "first",
                "average" or "max".
            ignore_labels: Labels to leave out.
            stride: Overlap between chunks when the text is split.

        Returns:
            A list of `TokenClassificationOutputElement`: `entity_group` (or `entity`), `score`,
            `word`, `start`, `end`.

        Raises:
            ValueError: `text` is binary content. TypeError: `text` is not a str.
            InferenceHTTPError, InferenceTimeoutError, MalformedResponseError: as for every call.

        Example:
            >>> client.token_classification("My name is Sarah Jessica Parker but you can call me Jessica")[0].word
            'Sarah Jessica Parker'
        """
        return self._call(
            tasks.text.token_classification,
            text=text,
            model=model,
            aggregation_strategy=aggregation_strategy,
            ignore_labels=ignore_labels,
            stride=stride,
        )

    def translation(
        self,
        text: str,
        *,
        model: str | None = None,
        src_lang: str | None = None,
        tgt_lang: str | None = None,
        clean_up_tokenization_spaces: bool | None = None,
        truncation: Literal["do_not_truncate", "longest_first", "only_first", "only_second"] | None = None,
        generate_parameters: dict[str, Any] | None = None,
    ) -> TranslationOutput:
        """Translate a text.

        Args:
            text: The text to translate.
            model: Hub id or endpoint URL for this call (default: the client's, else a recommended model).
            src_lang, tgt_lang: Source and target language codes, for multilingual models (both or neither).
            clean_up_tokenization_spaces: Remove extra spaces left by the tokenizer.
            truncation: How to truncate a text longer than the model accepts.
            generate_parameters: Generation options (e.g. `{"max_length": 60}`).

        Returns:
            `TranslationOutput` with the translation in `translation_text`.

        Raises:
            ValueError: only one of `src_lang` / `tgt_lang` is given, or `text` is binary content.
            TypeError: `text` is not a str. InferenceHTTPError, InferenceTimeoutError,
            MalformedResponseError: as for every call.

        Example:
            >>> client.translation("My name is Wolfgang", model="Helsinki-NLP/opus-mt-en-fr").translation_text
            "Je m'appelle Wolfgang"
            >>> client.translation("Hello", model="facebook/mbart-large-50-many-to-many-mmt",
            ...                    src_lang="en_XX", tgt_lang="fr_XX")
        """
        return self._call(
            tasks.text.translation,
            text=text,
            model=model,
            src_lang=src_lang,
            tgt_lang=tgt_lang,
            clean_up_tokenization_spaces=clean_up_tokenization_spaces,
            truncation=truncation,
            generate_parameters=generate_parameters,
        )

    def visual_question_answering(
        self,
        image: BinaryInput,
        question: str,
        *,
        model: str | None = None,
        top_k: int | None = None,
    ) -> list[VisualQuestionAnsweringOutputElement]:
        """Answer a question about an image.

        Args:
            image: The image: bytes, an open binary file, a path, an http(s) or data: URL, or a PIL image.
            question: The question.
            model: Hub id or endpoint URL for this call (default: the client's, else a recommended model).
            top_k: Number of answers to return.

        Returns:
            A list of `VisualQuestionAnsweringOutputElement` (`answer`, `score`).

        Raises:
            ValueError: `image` is not binary content, or `question` is not text.
            FileNotFoundError: `image` names no file. InferenceHTTPError, InferenceTimeoutError,
            MalformedResponseError: as for every call.

        Example:
            >>> client.visual_question_answering("tiger.jpg", "What is the animal doing?")[0].answer
            'laying down'
        """
        return self._call(
            tasks.vision.visual_question_answering, image=image, question=question, model=model, top_k=top_k
        )

    def zero_shot_classification(
        self,
        text: str,
        candidate_labels: list[str] | None = None,
        *,
        multi_label: bool | None = False,
        hypothesis_template: str | None = None,
        model: str | None = None,
    ) -> list[ZeroShotClassificationOutputElement]:
        """Classify a text into labels of your choosing, without training.

        Args:
            text: The text to classify.
            candidate_labels: The labels to choose from (at least one).
            multi_label: Score each label independently (several may be true) instead of one
                distribution over all labels.
            hypothesis_template: The sentence each label is tried in, with `{}` for the label
                (e.g. "This text is about {}.").
            model: Hub id or endpoint URL for this call (default: the client's, else a recommended model).

        Returns:
            A list of `ZeroShotClassificationOutputElement` (`label`, `score`), most likely first.

        Raises:
            ValueError: `candidate_labels` is missing or empty, or `text` is binary content.
            InferenceHTTPError, InferenceTimeoutError, MalformedResponseError: as for every call.

        Example:
            >>> client.zero_shot_classification("I really like our new product!", ["positive", "negative"])
            [ZeroShotClassificationOutputElement(label='positive', score=0.99), ...]
        """
        return self._call(
            tasks.text.zero_shot_classification,
            text=text,
            candidate_labels=candidate_labels,
            multi_label=multi_label,
            hypothesis_template=hypothesis_template,
            model=model,
        )

    def zero_shot_image_classification(
        self,
        image: BinaryInput,
        candidate_labels: list[str] | None = None,
        *,
        model: str | None = None,
        hypothesis_template: str | None = None,
    ) -> list[ZeroShotImageClassificationOutputElement]:
        """Classify an image into labels of your choosing, without training.

        Args:
            image: The image: bytes, an open binary file, a path, an http(s) or data: URL, or a PIL image.
            candidate_labels: The labels to choose from (at least two).
            model: Hub id or endpoint URL for this call (default: the client's, else a recommended model).
            hypothesis_template: The sentence each label is tried in, with `{}` for the label
                (e.g. "This is a photo of {}.").

        Returns:
            A list of `ZeroShotImageClassificationOutputElement` (`label`, `score`).

        Raises:
            ValueError: fewer than two `candidate_labels`, or `image` is not binary content.
            FileNotFoundError: `image` names no file. InferenceHTTPError, InferenceTimeoutError,
            MalformedResponseError: as for every call.

        Example:
            >>> client.zero_shot_image_classification("cat.jpg", candidate_labels=["dog", "cat"])
            [ZeroShotImageClassificationOutputElement(label='cat', score=0.99), ...]
        """
        return self._call(
            tasks.vision.zero_shot_image_classification,
            image=image,
            candidate_labels=candidate_labels,
            model=model,
            hypothesis_template=hypothesis_template,
        )

    # --- task methods (end) ---
