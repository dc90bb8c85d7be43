"""Text chunks written into a PNG without re-encoding its image.

The PNG the browser captured is kept byte for byte; the text chunks are
inserted right after IHDR (readers that stop early still see them), each with
its CRC. Per the PNG specification a ``tEXt`` chunk holds Latin-1 text only,
so a text with any other character goes into an ``iTXt`` chunk (UTF-8,
uncompressed, no language tag) under the same keyword. NUL bytes, which
neither may hold, are dropped; a text is bounded in length.
"""

from __future__ import annotations

import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SOFTWARE = "chartsnap"
# A one-line summary is far shorter; this only bounds what a caller could put in.
MAX_TEXT_CHARS = 2000


class NotAPng(ValueError):
    """The bytes do not start with a PNG signature and an IHDR chunk."""


def with_text(png: bytes, texts: dict[str, str]) -> bytes:
    """``png`` with one text chunk per (keyword, text) after its IHDR; empty texts are skipped."""
    if not png.startswith(PNG_SIGNATURE) or png[12:16] != b"IHDR":
        raise NotAPng("not a PNG (no signature and IHDR chunk)")
    (ihdr_length,) = struct.unpack(">I", png[8:12])
    after_ihdr = 8 + 4 + 4 + ihdr_length + 4
    chunks = b"".join(text_chunk(keyword, text) for keyword, text in texts.items() if text)
    return png[:after_ihdr] + chunks + png[after_ihdr:]


def text_chunk(keyword: str, text: str) -> bytes:
    """A ``tEXt`` chunk when ``text`` is Latin-1, else an ``iTXt`` chunk."""
    key = _keyword(keyword)
    text = text.replace("\x00", "")[:MAX_TEXT_CHARS]
    try:
        return chunk(b"tEXt", key + b"\x00" + text.encode("latin-1"))
    except UnicodeEncodeError:
        # keyword, NUL, compression flag 0, method 0, language tag "", NUL, translated keyword "", NUL, text
        return chunk(b"iTXt", key + b"\x00\x00\x00" + b"\x00" + b"\x00" + text.encode("utf-8"))


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _keyword(keyword: str) -> bytes:
    # 1-79 printable Latin-1 characters without leading, trailing or double spaces.
    key = keyword.encode("latin-1")
    if not 1 <= len(key) <= 79 or key != key.strip() or b"  " in key or any(b < 32 or 126 < b < 161 for b in key):
        raise ValueError(f"not a PNG text keyword: {keyword!r}")
    return key
