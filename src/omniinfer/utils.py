"""The names inference code imports from `huggingface_hub.utils`, under the same spelling.

    from omniinfer.utils import HfHubHTTPError      # was: from huggingface_hub.utils import HfHubHTTPError

Only what an inference user needs is here: the HTTP error classes and `get_token` (the token the
client sends when none is given). Hub utilities (cache, repositories, uploads) are not part of
omniinfer.
"""

from __future__ import annotations

from omniinfer._core.tokens import stored_token
from omniinfer.errors import (
    BadRequestError,
    ErrorRequest,
    ErrorResponse,
    HfHubHTTPError,
    InferenceTimeoutError,
)


def get_token() -> str | None:
    """The locally stored token: `HF_TOKEN`, then `HUGGING_FACE_HUB_TOKEN`, then the token file
    (`$HF_TOKEN_PATH` or `$HF_HOME/token`); None when there is none."""
    return stored_token()


__all__ = [
    "BadRequestError",
    "ErrorRequest",
    "ErrorResponse",
    "HfHubHTTPError",
    "InferenceTimeoutError",
    "get_token",
]
