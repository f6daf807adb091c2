"""Typed outputs of every task. Each is a dict whose fields are also attributes."""

from omniinfer.types._base import BaseInferenceType
from omniinfer.types.chat_completion import *  # noqa: F403
from omniinfer.types.chat_completion import __all__ as _chat_all
from omniinfer.types.text_generation import *  # noqa: F403
from omniinfer.types.text_generation import __all__ as _tg_all

__all__ = ["BaseInferenceType", *_chat_all, *_tg_all]
