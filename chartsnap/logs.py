"""One log format for every service: a line per event, key=value friendly."""

from __future__ import annotations

import logging
import os
import sys


def configure(service: str) -> None:
    level = os.environ.get("CHARTSNAP_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        stream=sys.stderr,
        format=f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s",
    )
    # Third-party chatter that would drown our own lines.
    for noisy in ("urllib3", "selenium", "asyncio", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
