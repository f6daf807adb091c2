"""`python -m omniinfer`: the `omniinfer` command line."""

from __future__ import annotations

import sys

from omniinfer.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
