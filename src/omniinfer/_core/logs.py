"""The library's logger, made on first use: `import logging` is not free, and most calls never log."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging


@functools.cache
def logger() -> logging.Logger:
    import logging

    return logging.getLogger("omniinfer")
