"""Slack: one POST of an attachment to the service's incoming-webhook URL.

Slack answers 200 "ok", or a status with a plain-text reason such as
"invalid_payload", "no_service" or "channel_not_found"."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from notifier_svc import snapshot_text
from notifier_svc.delivery import Delivery
from notifier_svc.notifier import Attempt, PermanentDeliveryError
from notifier_svc.vendor_http import VendorNotifier, VendorReply

SLACK_BLUE = "#2a7ae2"
# Slack's documented webhook errors are bare snake_case codes
# ("invalid_token", "channel_not_found", "no_service", "rate_limited").
SLACK_ERROR_CODE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


def slack_words(reply: VendorReply) -> str:
    """The error code when the body is one; nothing for any other body."""
    text = reply.text.strip()
    return text if SLACK_ERROR_CODE.match(text) else ""


def slack_escape(text: str) -> str:
    """Slack reads &, < and > as markup in message text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_fallback(d: Delivery) -> str:
    """The headline, the data summary when there is one, the link."""
    words, link = snapshot_text.headline(d), d.chart_url or d.image_url
    if d.summary_line:
        words += f": {d.summary_line}"
        return f"{words} ({link})" if link else words
    return f"{words}: {link}"  # as before the summary existed


def slack_payload(d: Delivery) -> dict:
    attachment = {
        # What clients that cannot show the attachment (notifications, IRC
        # bridges, screen readers) show instead: the picture in words.
        "fallback": slack_escape(slack_fallback(d)),
        "color": SLACK_BLUE,
        "author_name": slack_escape(d.sender),
        "title": slack_escape(d.title),
        "image_url": d.image_url,
        "text": slack_escape(d.message.strip()),
        "footer": slack_escape(f"chartsnap · {d.window}" if d.window else "chartsnap"),
    }
    if d.chart_url:
        attachment["title_link"] = d.chart_url
    if d.end_time:
        attachment["ts"] = int(d.end_time)
    return {
        "text": slack_escape(snapshot_text.headline(d)),
        "attachments": [attachment],
    }


def webhook_target(settings_url: str, server_url: str = "") -> str:
    """Where to POST. `server_url`, when set, replaces the webhook's scheme
    and host (keeping its path), for proxies and local test peers."""
    if not server_url:
        return settings_url
    hook, base = urlsplit(settings_url), urlsplit(server_url.rstrip("/"))
    return urlunsplit((base.scheme, base.netloc, base.path + hook.path, hook.query, ""))


class SlackNotifier(VendorNotifier):
    type = "slack"
    secret_settings = ("url",)

    async def send(self, delivery: Delivery, attempt: Attempt) -> str:
        url = webhook_target(delivery.setting("url"), delivery.setting("server_url"))
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(delivery.setting("url")).path.strip("/"):
            raise PermanentDeliveryError("slack: the service has no valid webhook url")
        await self.http.exchange("slack", "POST", url, slack_words, json_body=slack_payload(delivery),
                                 deadline=attempt.deadline)
        return ""
