"""HipChat: an API v2 room notification with the image inline.

`POST {server_url}/v2/room/{room_id}/notification` with a Bearer token;
success is 204, errors are JSON {"error": {"code", "message", "type"}}."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from notifier_svc import snapshot_text
from notifier_svc.delivery import Delivery
from notifier_svc.notifier import Attempt, PermanentDeliveryError
from notifier_svc.vendor_http import VendorNotifier, VendorReply

DEFAULT_SERVER_URL = "https://api.hipchat.com"
MAX_MESSAGE = 10_000
# A hipchat service has no color setting (the destination's settings are
# auth_token, room_id, from, notify and server_url): every card is gray.
COLOR = "gray"


def hipchat_html(d: Delivery, message: str) -> str:
    parts = [f"<strong>{escape(d.sender)}</strong> shared a snapshot of {snapshot_text.chart_link_html(d)}"]
    if d.summary_line:  # HipChat has no plain-text fallback field: the summary is a line of its own
        parts.append(escape(d.summary_line))
    if d.window:
        parts.append(f"<em>{escape(d.window)}</em>")
    if message.strip():
        parts.append(snapshot_text.message_html(message))
    if d.image_url:
        src = escape(d.image_url)
        parts.append(f'<a href="{src}"><img src="{src}" alt="{escape(snapshot_text.image_alt(d))}"></a>')
    return "<br>".join(parts)


def hipchat_payload(d: Delivery) -> dict:
    # Over the cap, the message text is cut; the link and the image stay.
    message = snapshot_text.fit(MAX_MESSAGE, lambda text: hipchat_html(d, text), d.message)
    return {
        "message": message,
        "message_format": "html",
        "notify": d.setting("notify", "0") == "1",
        "from": d.setting("from", "chartsnap"),
        "color": COLOR,
    }


def hipchat_words(reply: VendorReply) -> str:
    """HipChat's documented error: {"error": {"message": ...}}; any other body
    gives no words (it is not HipChat speaking)."""
    body = reply.json()
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        message = body["error"].get("message")
        return message if isinstance(message, str) else ""
    return ""


class HipChatNotifier(VendorNotifier):
    type = "hipchat"
    secret_settings = ("auth_token",)

    async def send(self, delivery: Delivery, attempt: Attempt) -> str:
        token, room = delivery.setting("auth_token"), delivery.setting("room_id")
        if not token or not room:
            raise PermanentDeliveryError("hipchat: the service needs auth_token and room_id")
        base = delivery.setting("server_url", DEFAULT_SERVER_URL).rstrip("/")
        base = base.removesuffix("/v2")  # self-hosted servers are often configured with the API prefix
        url = f"{base}/v2/room/{quote(room, safe='')}/notification"
        await self.http.exchange("hipchat", "POST", url, hipchat_words, json_body=hipchat_payload(delivery),
                                 headers={"Authorization": f"Bearer {token}"}, deadline=attempt.deadline)
        return ""
