"""One flow per task family. Submodules load on first use (the client names them, the first call
imports them), so that `import omniinfer` does not pay for thirty tasks it may never run."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

_SUBMODULES = frozenset(
    {
        "audio",
        "chat",
        "embeddings",
        "endpoint",
        "media",
        "tabular",
        "text",
        "text_generation",
        "text_to_image",
        "vision",
    }
)


def __getattr__(name: str) -> ModuleType:
    if name not in _SUBMODULES:
        raise AttributeError(f"module 'omniinfer.tasks' has no attribute {name!r}")
    module = importlib.import_module(f"omniinfer.tasks.{name}")
    globals()[name] = module
    return module


if TYPE_CHECKING:
    from omniinfer.tasks import (
        audio as audio,
    )
    from omniinfer.tasks import (
        chat as chat,
    )
    from omniinfer.tasks import (
        embeddings as embeddings,
    )
    from omniinfer.tasks import (
        endpoint as endpoint,
    )
    from omniinfer.tasks import (
        media as media,
    )
    from omniinfer.tasks import (
        tabular as tabular,
    )
    from omniinfer.tasks import (
        text as text,
    )
    from omniinfer.tasks import (
        text_generation as text_generation,
    )
    from omniinfer.tasks import (
        text_to_image as text_to_image,
    )
    from omniinfer.tasks import (
        vision as vision,
    )
