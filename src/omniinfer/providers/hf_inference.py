"""hf-inference: the Hugging Face serverless API, reachable through the router only. It serves Hub
ids as they are (a task check instead of a mapping) with the Hugging Face task bodies."""

from __future__ import annotations

from omniinfer.providers._spec import Provider, TaskRoute
from omniinfer.providers.openai_style import json_object_with_value

_MODEL = "/models/{model}"
_HF = TaskRoute(_MODEL, protocol="hf")

# Every task the serverless API runs with the plain Hugging Face body on `/models/{id}` (the
# tabular tasks send their table the same way, as the seed's table of supported tasks says).
# Not served (the registry's lookup error lists these): text-to-video, image-to-video.
_HF_TASKS = (
    "audio-classification",
    "audio-to-audio",
    "automatic-speech-recognition",
    "document-question-answering",
    "fill-mask",
    "image-classification",
    "image-segmentation",
    "image-to-image",
    "image-to-text",
    "object-detection",
    "question-answering",
    "summarization",
    "table-question-answering",
    "tabular-classification",
    "tabular-regression",
    "text-classification",
    "text-to-image",
    "text-to-speech",
    "token-classification",
    "translation",
    "visual-question-answering",
    "zero-shot-classification",
    "zero-shot-image-classification",
)

HF_INFERENCE = Provider(
    "hf-inference",
    None,
    {
        "conversational": TaskRoute(_MODEL + "/v1/chat/completions", json_object_with_value, "chat"),
        "text-generation": TaskRoute(_MODEL, None, "tgi"),
        **dict.fromkeys(_HF_TASKS, _HF),
        # The embedding pipelines are addressed explicitly: one model may serve both.
        "feature-extraction": TaskRoute(_MODEL + "/pipeline/feature-extraction", protocol="hf"),
        "sentence-similarity": TaskRoute(_MODEL + "/pipeline/sentence-similarity", protocol="hf"),
    },
    token_required=False,
    uses_hub_mapping=False,
    checks_hub_task=True,
)
