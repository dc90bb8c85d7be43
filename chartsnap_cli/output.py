"""What the CLI prints: the API's JSON as it came (--json), aligned tables and
`key: value` lines for people.

Text from the API (chart names, vendors' error words) is printed with control
characters made visible, so no answer can move the cursor or recolour the
terminal."""

from __future__ import annotations

import json
import re
import time
from typing import Any, Iterable, Sequence

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(value: Any) -> str:
    """One line of text: None as '-', control characters as \\xNN escapes."""
    if value is None:
        return "-"
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(value))


def as_json(value: Any) -> str:
    """The API's JSON as it came, indented; non-ASCII kept (a UTF-8 terminal shows it)."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Columns aligned on the widest cell; no trailing spaces."""
    cells = [list(headers)] + [[printable(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells)


def fields(pairs: Iterable[tuple[str, Any]]) -> str:
    """`key: value` lines, the values aligned."""
    pairs = list(pairs)
    width = max((len(key) for key, _ in pairs), default=0) + 1
    return "\n".join(f"{key + ':':<{width}} {printable(value)}" for key, value in pairs)


def utc(epoch: float | int | None) -> str | None:
    """Epoch seconds (measurement times) in the form the API gives snapshot times."""
    return None if epoch is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
