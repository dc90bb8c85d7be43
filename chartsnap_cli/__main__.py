"""python -m chartsnap_cli — the same as the `chartsnap` console script."""

from __future__ import annotations

import sys

from chartsnap_cli.main import main

if __name__ == "__main__":
    sys.exit(main())
