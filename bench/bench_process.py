"""How a bench entry point (`python -m bench`, `python -m bench.scale`) sets up
its own process: log lines on stderr, quiet client libraries, and bokeh's
Chromium flags as render_svc has them."""

from __future__ import annotations

import logging
import os
import sys


def configure_bench_process() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s bench %(levelname)s %(message)s")
    for noisy in ("urllib3", "selenium", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ.setdefault("BOKEH_IN_DOCKER", "1")  # as render_svc: bokeh's Chromium flags for root/containers
