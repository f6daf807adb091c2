"""local: GGUF models run in the client's own process (llama-cpp-python, `pip install 'omniinfer[local]'`).

Requests to `local://` URLs never leave the process: the transports hand them to
`omniinfer._http.local_transport`, which answers them as an OpenAI-compatible server would, so the
chat, completions and embeddings flows serve this provider unchanged. The model id is the path of a
`.gguf` file, a Hub repository of GGUF files, or the name of a catalogue model
(`omniinfer.local.catalogue`), installed or downloaded on first use.
"""

from __future__ import annotations

from omniinfer.local.catalogue import DEFAULT_MODEL
from omniinfer.providers._spec import Provider, TaskRoute
from omniinfer.providers.openai_style import embeddings

LOCAL = Provider(
    "local",
    "local://llama-cpp",
    {
        "conversational": TaskRoute("/v1/chat/completions"),
        "text-generation": TaskRoute("/v1/completions", protocol="completions"),
        "feature-extraction": embeddings(),
    },
    token_required=False,
    router_allowed=False,
    uses_hub_mapping=False,
    model_is_hub_id=False,
    default_model=DEFAULT_MODEL,
)
