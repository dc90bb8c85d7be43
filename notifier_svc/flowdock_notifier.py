"""Flowdock: a chat message through the push API.

`POST {server_url}/v1/messages/chat/{api_token}` with {"content",
"external_user_name"}; success is 200 `{}`, errors are JSON {"message": ...}."""

from __future__ import annotations

from urllib.parse import quote

from notifier_svc import snapshot_text
from notifier_svc.delivery import Delivery
from notifier_svc.notifier import Attempt, PermanentDeliveryError
from notifier_svc.vendor_http import VendorNotifier, VendorReply

DEFAULT_SERVER_URL = "https://api.flowdock.com"
MAX_CONTENT = 8096
DEFAULT_USER_NAME = "chartsnap"


def flowdock_payload(d: Delivery) -> dict:
    return {
        "content": snapshot_text.fit(MAX_CONTENT, lambda text: snapshot_text.plain_text(d, text), d.message),
        "external_user_name": d.setting("user_name", DEFAULT_USER_NAME),
        "tags": ["chartsnap"],
    }


def flowdock_words(reply: VendorReply) -> str:
    """Flowdock's documented error: {"message": ..., "errors"?: {field: [...]}};
    any other body gives no words."""
    body = reply.json()
    if isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"]:
        words = str(body["message"])
        errors = body.get("errors")
        if isinstance(errors, dict) and errors:
            words += " (" + "; ".join(f"{k} {', '.join(map(str, v)) if isinstance(v, list) else v}"
                                      for k, v in errors.items()) + ")"
        return words
    return ""


class FlowdockNotifier(VendorNotifier):
    type = "flowdock"
    secret_settings = ("api_token",)

    async def send(self, delivery: Delivery, attempt: Attempt) -> str:
        token = delivery.setting("api_token")
        if not token:
            raise PermanentDeliveryError("flowdock: the service has no api_token")
        base = delivery.setting("server_url", DEFAULT_SERVER_URL).rstrip("/").removesuffix("/v1")
        url = f"{base}/v1/messages/chat/{quote(token, safe='')}"
        await self.http.exchange("flowdock", "POST", url, flowdock_words, json_body=flowdock_payload(delivery),
                                 deadline=attempt.deadline)
        return ""
