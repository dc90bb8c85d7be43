"""Text chunks in a PNG: read back by Pillow, CRCs right, the image itself untouched."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from render_svc.png_text import NotAPng, with_text


def _png(width: int = 20, height: int = 10) -> bytes:
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[:, :, 0] = np.arange(width, dtype=np.uint8) * 10
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, each CRC checked."""
    found, at = [], 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at:at + 4])
        kind, data = png[at + 4:at + 8], png[at + 8:at + 8 + length]
        (crc,) = struct.unpack(">I", png[at + 8 + length:at + 12 + length])
        assert crc == zlib.crc32(kind + data) & 0xFFFFFFFF, kind
        found.append((kind, data))
        at += 12 + length
    return found


def test_latin1_text_goes_in_text_chunks_after_ihdr() -> None:
    original = _png()
    marked = with_text(original, {"Software": "chartsnap", "Description": "queue.depth peaked at 4,210 — no"[:27]})
    chunks = _chunks(marked)
    assert [kind for kind, _ in chunks[:3]] == [b"IHDR", b"tEXt", b"tEXt"]
    assert chunks[-1][0] == b"IEND"
    with Image.open(io.BytesIO(marked)) as image:
        assert image.text == {"Software": "chartsnap", "Description": "queue.depth peaked at 4,210"}
        assert np.array_equal(np.asarray(image), np.asarray(Image.open(io.BytesIO(original))))
    # Nothing of the original is re-encoded: only the new chunks were added.
    assert [c for c in chunks if c[0] != b"tEXt"] == _chunks(original)


def test_accented_latin1_stays_text() -> None:
    marked = with_text(_png(), {"Description": "température maximale 41 °C"})
    assert b"tEXt" in marked and b"iTXt" not in marked
    with Image.open(io.BytesIO(marked)) as image:
        assert image.text["Description"] == "température maximale 41 °C"


def test_text_beyond_latin1_goes_in_an_itxt_chunk() -> None:
    summary = "キュー peaked at 4,210 at 14:32 UTC — ended at 380; 3 streams ✓"
    marked = with_text(_png(), {"Software": "chartsnap", "Description": summary})
    kinds = [kind for kind, _ in _chunks(marked)]
    assert kinds.count(b"iTXt") == 1 and kinds.count(b"tEXt") == 1
    with Image.open(io.BytesIO(marked)) as image:
        image.verify()  # chunk CRCs, as a decoder checks them
    with Image.open(io.BytesIO(marked)) as image:
        assert image.text["Description"] == summary


def test_empty_texts_are_skipped_and_nul_dropped() -> None:
    marked = with_text(_png(), {"Software": "chartsnap", "Description": ""})
    assert [kind for kind, _ in _chunks(marked)].count(b"tEXt") == 1
    with Image.open(io.BytesIO(with_text(_png(), {"Description": "a\x00b"}))) as image:
        assert image.text["Description"] == "ab"


def test_long_text_is_bounded() -> None:
    with Image.open(io.BytesIO(with_text(_png(), {"Description": "x" * 100_000}))) as image:
        assert len(image.text["Description"]) == 2000


def test_not_a_png_is_refused() -> None:
    with pytest.raises(NotAPng):
        with_text(b"GIF89a" + b"\x00" * 40, {"Software": "chartsnap"})
    with pytest.raises(ValueError):
        with_text(_png(), {"bad\x00keyword": "x"})
