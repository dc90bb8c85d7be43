"""The words every destination shows, in plain text and HTML, so that mail
and each chat say the same thing: who shared which chart (linked), the
optional message, and the image. The chart's name links to the snapshot's
public share page (DeliveryRequest.chart_url), which anyone given the message
can open."""

from __future__ import annotations

import unicodedata
from html import escape
from typing import Callable

from notifier_svc.delivery import Delivery

ELLIPSIS = "…"


def headline(d: Delivery) -> str:
    """One line of plain text, e.g. "Ada Lovelace shared a snapshot of CPU load"."""
    return f"{d.sender} shared a snapshot of {d.title}"


# RFC 5322 asks for header lines under 78 characters; the email package
# folds longer ones, and a subject past this is cut anyway.
MAX_HEADER_TEXT = 200


def header_safe(text: str, limit: int = MAX_HEADER_TEXT) -> str:
    """`text` fit for one header value: CR, LF and every other control or
    line/paragraph separator become a space (so no value can start a header
    of its own), runs of spaces collapse, and at most `limit` characters."""
    flat = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text)
    words = " ".join(flat.split())
    return words if len(words) <= limit else words[: limit - 1].rstrip() + ELLIPSIS


def subject(d: Delivery) -> str:
    return header_safe(f"Snapshot of {d.title} from {d.sender}")


def plain_text(d: Delivery, message: str | None = None) -> str:
    """The full text version: headline, the data summary, the snapshot's
    share page, window, message, image link."""
    message = d.message if message is None else message
    lines = [headline(d)]
    if d.summary_line:  # the picture in words, for whoever cannot see it
        lines.append(d.summary_line)
    if d.chart_url:  # the public share page (no account needed to open it)
        lines.append(f"Snapshot page: {d.chart_url}")
    if d.window:
        lines.append(f"Showing the {d.window}")
    if message.strip():
        lines += ["", message.strip(), ""]
    if d.image_url:
        lines.append(f"Image: {d.image_url}")
    return "\n".join(lines)


def image_alt(d: Delivery) -> str:
    """What the image shows, for an <img alt>: the data summary, else the chart's name."""
    return d.summary_line or d.title


def chart_link_html(d: Delivery) -> str:
    if not d.chart_url:
        return f"<strong>{escape(d.title)}</strong>"
    return f'<a href="{escape(d.chart_url)}"><strong>{escape(d.title)}</strong></a>'


def message_html(message: str) -> str:
    """Escaped, with line breaks kept."""
    return "<br>".join(escape(line) for line in message.strip().splitlines())


def fit(limit: int, render: Callable[[str], str], text: str) -> str:
    """Render with the longest prefix of `text` (plus an ellipsis when cut)
    whose rendering stays within `limit` characters.

    The cut is made on the raw text and measured after rendering, so escaping
    can never be split in half. Raises ValueError when even an empty text is
    too long (the fixed parts alone exceed the limit)."""
    whole = render(text)
    if len(whole) <= limit:
        return whole
    if len(render("")) > limit:
        raise ValueError(f"the fixed parts alone exceed {limit} characters")
    lo, hi = 0, len(text)  # longest prefix length known to fit: lo
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(render(text[:mid].rstrip() + ELLIPSIS)) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return render(text[:lo].rstrip() + ELLIPSIS) if lo else render("")
