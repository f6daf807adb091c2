"""Heavy optional libraries (numpy, Pillow, pyarrow, ...), imported only by the code that needs them."""

from __future__ import annotations

import importlib
from functools import lru_cache
from types import ModuleType

_EXTRAS = {"numpy": "numpy", "PIL": "Pillow", "PIL.Image": "Pillow"}


def first_importable(*names: str) -> ModuleType | None:
    """The first of these modules that imports, or None (for libraries with several bindings)."""
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


@lru_cache(maxsize=1)
def zstd_module() -> ModuleType | None:
    """The zstd binding: `compression.zstd` (Python 3.14) or its backport, which share one API
    (`ZstdDecompressor(options=...)`, `ZstdFile`), else `zstandard`; None when there is none."""
    return first_importable("compression.zstd", "backports.zstd", "zstandard")


def require(module: str, purpose: str, extra: str = "tasks") -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        package = _EXTRAS.get(module, module.partition(".")[0])
        raise ImportError(
            f"{purpose} needs {package}: pip install 'omniinfer[{extra}]' (or pip install {package})"
        ) from None


def image_from_bytes(data: bytes) -> object:
    """A PIL image (fully loaded, so the bytes can go)."""
    import io

    image_module = require("PIL.Image", "Decoding images")
    image = image_module.open(io.BytesIO(data))
    image.load()
    return image
