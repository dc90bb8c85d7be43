"""The public share page of a snapshot, as HTML: the image (its alt text the
snapshot's one-line data summary), the chart's name, the window in UTC, who
took it and when, the message; OpenGraph and Twitter card tags so chat tools
and mail clients unfurl the link with the picture.

Plain HTML and one inline style sheet, no script: the page must read the same
in a mail client's preview, a text browser and a chat unfurler. A snapshot not
drawn yet refreshes itself with <meta http-equiv="refresh">. Every value a user
gave (chart name, message, names) is escaped, in text and attributes alike.

The Content-Security-Policy allows exactly this page: no script, no frames,
no forms, images only from the image store's origin, and the one style sheet
below by its hash (so even an injected <style> would not apply)."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from urllib.parse import urlsplit

from chartsnap.v1 import snapshots_pb2

SITE_NAME = "chartsnap"
REFRESH_SECONDS = 5          # how often a page of a snapshot still being drawn reloads itself
MAX_DESCRIPTION = 200        # og:description: unfurlers show about two lines
MAX_ALT = 300                # the image's alt text (the data summary is one line, far shorter)
RETRY_AFTER_SECONDS = 5      # a 503 page: the snapshot service did not answer
ANONYMOUS_TAKER = "a chartsnap user"  # who took it, when the account has no name

STYLE = """
body { margin: 0; background: #f4f5f7; color: #1f2328;
       font: 16px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 16px 8px; }
h1 { font-size: 24px; line-height: 1.3; margin: 0 0 4px; overflow-wrap: anywhere; }
.window { color: #57606a; margin: 0 0 16px; }
figure { margin: 0 0 16px; padding: 12px; background: #fff; border: 1px solid #d0d7de;
         border-radius: 6px; display: inline-block; max-width: calc(100% - 26px); }
figure img { display: block; max-width: 100%; height: auto; }
.state { padding: 16px; background: #fff; border: 1px solid #d0d7de; border-radius: 6px; margin: 0 0 16px; }
.state.failed { border-color: #cf222e; color: #a40e26; }
blockquote { margin: 0 0 16px; padding: 8px 16px; background: #fff; border-left: 4px solid #0969da;
             white-space: pre-wrap; overflow-wrap: anywhere; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0 0 16px; }
dt { color: #57606a; }
dd { margin: 0; overflow-wrap: anywhere; }
footer { max-width: 1100px; margin: 0 auto; padding: 8px 16px 24px; color: #57606a; font-size: 14px; }
a { color: #0969da; }
""".strip()
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()

CHART_TYPE_WORDS = {"line": "Line chart", "stacked": "Stacked chart", "bignumber": "Big number"}
# An origin the CSP may name: scheme, host, port; nothing that could end the directive.
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+")


@dataclass(frozen=True)
class Page:
    """A page and how it may be cached: the adapter (share_page) sends it."""

    status: int
    html: str
    cache_control: str
    content_security_policy: str
    retry_after: int | None = None


def utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


def _clock(moment: datetime, with_seconds: bool) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def window_text(end_time: int, duration: int) -> str:
    """E.g. "2026-12-02 13:00 – 14:00 UTC (1 hour)"; seconds shown only when
    either end has them, the date twice only when the window spans days."""
    start, end = utc(end_time - duration), utc(end_time)
    with_seconds = start.second != 0 or end.second != 0
    end_text = end.strftime("%H:%M:%S" if with_seconds else "%H:%M") if start.date() == end.date() \
        else _clock(end, with_seconds)
    return f"{_clock(start, with_seconds)} – {end_text} UTC ({duration_words(duration)})"


def duration_words(seconds: int) -> str:
    """3600 → "1 hour", 5400 → "1 hour 30 minutes", 604800 → "7 days"."""
    parts = []
    for size, unit in ((86_400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts[:2]) or "0 seconds"


def taken_by(shared: snapshots_pb2.SharedSnapshot) -> str:
    # The account's name only: its e-mail is half of its API login, and the
    # page is public to whoever the link is forwarded to.
    return shared.taken_by_name.strip() or ANONYMOUS_TAKER


def description(shared: snapshots_pb2.SharedSnapshot) -> str:
    """What an unfurl shows under the title: the message, else who shared
    which window."""
    who = taken_by(shared)
    text = " ".join(shared.message.split()) or f"Shared by {who}"
    text = f"{text} · {window_text(shared.end_time.seconds, shared.duration)}"
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1].rstrip() + "…"


def image_alt(shared: snapshots_pb2.SharedSnapshot, window: str) -> str:
    """The image in words: the snapshot's one-line data summary (computed
    from the data it was drawn from), else the chart's name and window."""
    summary = " ".join(shared.summary.split())
    if not summary:
        return f"{shared.chart_name}, {window}"
    return summary if len(summary) <= MAX_ALT else summary[: MAX_ALT - 1].rstrip() + "…"


def image_origin(image_url: str) -> str | None:
    parts = urlsplit(image_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return origin if _ORIGIN.fullmatch(origin) else None


NONE = "'none'"


def content_security_policy(image_url: str = "") -> str:
    origin = image_origin(image_url) if image_url else None
    return "; ".join([
        "default-src 'none'", f"img-src {origin or NONE}", f"style-src '{STYLE_HASH}'",
        "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
    ])


def _meta(attribute: str, name: str, content: str | int) -> str:
    return f'<meta {attribute}="{name}" content="{escape(str(content))}">'


def _document(title: str, head: list[str], body: list[str]) -> str:
    return "\n".join([
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # The URL is the secret: no search engine should list it.
        '<meta name="robots" content="noindex, nofollow">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{escape(title)}</title>",
        *head,
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        *body,
        f'<footer>Shared with {SITE_NAME}</footer>',
        "</body>",
        "</html>",
        "",
    ])


def shared_page(shared: snapshots_pb2.SharedSnapshot, page_url: str) -> Page:
    """The page of a snapshot in any state: drawn, still being drawn, failed."""
    State = snapshots_pb2.SharedSnapshot
    rendered = shared.state == State.RENDERED and bool(shared.image_url)
    failed = shared.state == State.FAILED
    chart = shared.chart_name
    title = f"{chart} · {SITE_NAME}"
    window = window_text(shared.end_time.seconds, shared.duration)
    alt = image_alt(shared, window)
    head = [
        _meta("property", "og:type", "website"),
        _meta("property", "og:site_name", SITE_NAME),
        _meta("property", "og:title", chart),
        _meta("property", "og:description", description(shared)),
        _meta("property", "og:url", page_url),
        _meta("name", "twitter:title", chart),
        _meta("name", "twitter:description", description(shared)),
    ]
    if rendered:
        head += [
            _meta("property", "og:image", shared.image_url),
            _meta("property", "og:image:type", "image/png"),
            _meta("property", "og:image:width", shared.width),
            _meta("property", "og:image:height", shared.height),
            _meta("property", "og:image:alt", alt),
            _meta("name", "twitter:card", "summary_large_image"),
            _meta("name", "twitter:image", shared.image_url),
            _meta("name", "twitter:image:alt", alt),
        ]
    else:
        # No image to promise yet: an unfurler would cache a broken one.
        head.append(_meta("name", "twitter:card", "summary"))
        if not failed:
            head.append(f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">')

    body = ["<main>", f"<h1>{escape(chart)}</h1>", f'<p class="window">{escape(window)}</p>']
    if rendered:
        body.append(f'<figure><img src="{escape(shared.image_url)}" width="{shared.width}" '
                    f'height="{shared.height}" alt="{escape(alt)}"></figure>')
    elif failed:
        body.append('<p class="state failed">This snapshot could not be drawn.</p>')
    else:
        body.append(f'<p class="state pending">This snapshot is still being drawn. '
                    f"This page reloads itself every {REFRESH_SECONDS} seconds.</p>")
    if shared.message.strip():
        body.append(f"<blockquote>{escape(shared.message.strip())}</blockquote>")
    taken_at = utc(shared.created_at.seconds)
    body += [
        "<dl>",
        f"<dt>Taken by</dt><dd>{escape(taken_by(shared))}</dd>",
        f'<dt>Taken at</dt><dd><time datetime="{taken_at.strftime("%Y-%m-%dT%H:%M:%SZ")}">'
        f'{taken_at.strftime("%Y-%m-%d %H:%M:%S")} UTC</time></dd>',
        f"<dt>Window</dt><dd>{escape(window)}</dd>",
        f"<dt>Chart</dt><dd>{escape(CHART_TYPE_WORDS.get(shared.chart_type, 'Chart'))} "
        f"(id {shared.chart_id})</dd>",
    ]
    if rendered:
        body.append(f'<dt>Image</dt><dd><a href="{escape(shared.image_url)}" rel="noreferrer">'
                    f"PNG, {shared.width} × {shared.height}</a></dd>")
    body += ["</dl>", "</main>"]
    if rendered:
        # Drawn once, never again: caches may keep it (the account's name may
        # change meanwhile, which an hour's staleness does not hurt).
        cache = "public, max-age=3600"
    elif failed:
        cache = "public, max-age=300"
    else:
        cache = "no-store"  # it is about to change
    return Page(200, _document(title, head, body), cache, content_security_policy(shared.image_url if rendered else ""))


def _notice_page(status: int, heading: str, words: str, retry_after: int | None = None) -> Page:
    body = ["<main>", f"<h1>{escape(heading)}</h1>", f'<p class="state">{escape(words)}</p>', "</main>"]
    return Page(status, _document(f"{heading} · {SITE_NAME}", [], body), "no-store", content_security_policy(),
                retry_after)


def not_found_page() -> Page:
    return _notice_page(404, "Snapshot not found",
                        "No snapshot is shared at this address. Check that the link was copied whole.")


def too_many_guesses_page(retry_after: int) -> Page:
    return _notice_page(429, "Too many requests",
                        "Too many unknown share links were asked for from this address. Try again later.",
                        retry_after)


def unavailable_page() -> Page:
    return _notice_page(503, "Temporarily unavailable",
                        "The snapshot could not be looked up just now. Try again in a few seconds.",
                        RETRY_AFTER_SECONDS)
