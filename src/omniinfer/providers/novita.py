"""novita: OpenAI-compatible chat and completions, and text-to-video answered with a file URL."""

from __future__ import annotations

from omniinfer.providers._files import file_at
from omniinfer.providers._payload import prompt_body
from omniinfer.providers._spec import Provider, native
from omniinfer.providers.openai_style import chat, completions

NOVITA = Provider(
    "novita",
    "https://api.novita.ai",
    {
        "conversational": chat("/v3/openai/chat/completions"),
        "text-generation": completions("/v3/openai/completions"),
        "text-to-video": native("/v3/hf/{model}", prompt_body, file_at("video", "video_url")),
    },
)
