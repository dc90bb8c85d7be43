"""Saving a downloaded image (--output): whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def save_whole(destination: Path, content: bytes) -> None:
    """Write `content` to `destination` through a temporary file beside it, so a
    reader never sees half an image and a failed write leaves no file behind."""
    destination = destination.expanduser()
    handle, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.chmod(temporary, 0o666 & ~_umask())  # as open() would have made it
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    # os.umask can only be read by setting it; set it back at once.
    current = os.umask(0)
    os.umask(current)
    return current
