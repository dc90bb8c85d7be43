"""Campfire: the classic API with HTTP Basic auth `token:X`.

Find the room by name (`GET /rooms.json`), then speak twice in it
(`POST /room/{id}/speak.json`): the text, then the image URL on its own so
Campfire shows the picture. Each message that landed is remembered in the
attempt's steps, so a retry never says it again."""

from __future__ import annotations

import aiohttp

from notifier_svc import snapshot_text
from notifier_svc.delivery import Delivery
from notifier_svc.notifier import Attempt, PermanentDeliveryError
from notifier_svc.vendor_http import UNSENDABLE_SETTING, VendorNotifier, VendorReply

MAX_BODY = 4000  # one text line stays readable; the message is cut before the link is
# What Campfire (a Rails app) answers a refused login with.
ACCESS_DENIED = "HTTP Basic: Access denied."
BASIC_PASSWORD = "X"   # Campfire ignores the password; its documentation says to send X


def campfire_words(reply: VendorReply) -> str:
    """Campfire's own error words: its 401 text, or a 422's {"errors": [...]};
    any other body gives none."""
    if reply.text.strip() == ACCESS_DENIED:
        return ACCESS_DENIED
    body = reply.json()
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and all(isinstance(e, str) for e in errors):
        return "; ".join(errors)
    return ""


def campfire_text(d: Delivery) -> str:
    def render(message: str) -> str:
        line = f"{snapshot_text.headline(d)}"
        if d.chart_url:
            line += f" ({d.chart_url})"
        if d.window:
            line += f", {d.window}"
        if d.summary_line:  # a TextMessage is plain text: the summary is said with it
            line += f". {d.summary_line}"
        if message.strip():
            line += " — " + " ".join(message.split())
        return line

    return snapshot_text.fit(MAX_BODY, render, d.message)


def campfire_messages(d: Delivery) -> list[tuple[str, dict]]:
    """(step name, speak body) in the order they are said."""
    steps = [("text", {"message": {"type": "TextMessage", "body": campfire_text(d)}})]
    if d.image_url:
        steps.append(("image", {"message": {"type": "TextMessage", "body": d.image_url}}))
    return steps


class CampfireNotifier(VendorNotifier):
    type = "campfire"
    secret_settings = ("token",)

    def credential_pairs(self, delivery: Delivery) -> tuple[tuple[str, str], ...]:
        return ((delivery.setting("token"), BASIC_PASSWORD),)

    async def send(self, delivery: Delivery, attempt: Attempt) -> str:
        token, room_name = delivery.setting("token"), delivery.setting("room")
        subdomain = delivery.setting("subdomain")
        if not token or not room_name:
            raise PermanentDeliveryError("campfire: the service needs token and room")
        base = delivery.setting("server_url").rstrip("/")
        if not base:
            if not subdomain:
                raise PermanentDeliveryError("campfire: the service needs a subdomain or server_url")
            base = f"https://{subdomain}.campfirenow.com"
        try:
            auth = {"Authorization": aiohttp.encode_basic_auth(token, BASIC_PASSWORD)}
        except ValueError:   # a ":" in the token cannot be sent as a Basic user
            raise PermanentDeliveryError(f"campfire: {UNSENDABLE_SETTING}") from None

        reply = await self.http.exchange("campfire", "GET", f"{base}/rooms.json", campfire_words, headers=auth,
                                         deadline=attempt.deadline)
        body = reply.json()
        rooms = body.get("rooms") if isinstance(body, dict) else None
        if not isinstance(rooms, list):
            raise PermanentDeliveryError("campfire: /rooms.json did not list rooms")
        room_id = next((r.get("id") for r in rooms if isinstance(r, dict) and r.get("name") == room_name), None)
        if room_id is None:
            raise PermanentDeliveryError(f"campfire: no room named {room_name!r}")

        for step, message in campfire_messages(delivery):
            if step in attempt.steps_done:
                continue
            await self.http.exchange("campfire", "POST", f"{base}/room/{room_id}/speak.json", campfire_words,
                                     json_body=message, headers=auth, deadline=attempt.deadline)
            attempt.steps_done.add(step)
        return ""
