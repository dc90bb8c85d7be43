"""A Slack incoming-webhook endpoint.

`POST /services/{team}/{bot}/{secret}` with a JSON body (or a form field
`payload` holding it). 200 "ok"; otherwise a status with a plain-text
reason, as Slack does: 400 invalid_payload / no_text / invalid_attachments,
403 invalid_token, 404 no_service, 429 rate_limited (with Retry-After)."""

from __future__ import annotations

import json
import secrets
from urllib.parse import parse_qs

from aiohttp import web

from tests.peers.http_peer import HttpPeer, ReceivedMessage


class SlackPeer(HttpPeer):
    name = "slack"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, team: str = "T0CHARTS", bot: str = "B0SNAPS",
                 secret: str | None = None) -> None:
        super().__init__(host, port)
        self.team, self.bot = team, bot
        self.secret = secret or secrets.token_urlsafe(18)

    @property
    def webhook_url(self) -> str:
        return f"{self.server_url}/services/{self.team}/{self.bot}/{self.secret}"

    def settings(self) -> dict[str, str]:
        return {"url": self.webhook_url}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/services/{team}/{bot}/{secret}", self.webhook, name="webhook")

    def error_response(self, status: int, words: str) -> web.Response:
        return web.Response(status=status, text=words, content_type="text/plain")

    async def webhook(self, request: web.Request) -> web.Response:
        m = request.match_info
        if (m["team"], m["bot"]) != (self.team, self.bot):
            return self.error_response(404, "no_service")
        if not secrets.compare_digest(m["secret"], self.secret):
            return self.error_response(403, "invalid_token")
        raw = await request.read()
        if request.content_type == "application/x-www-form-urlencoded":
            raw = (parse_qs(raw.decode("utf-8", "replace")).get("payload") or [""])[0].encode()
        try:
            payload = json.loads(raw)
        except ValueError:
            return self.error_response(400, "invalid_payload")
        if not isinstance(payload, dict):
            return self.error_response(400, "invalid_payload")
        attachments = payload.get("attachments")
        if attachments is not None and (not isinstance(attachments, list)
                                        or not all(isinstance(a, dict) for a in attachments)):
            return self.error_response(400, "invalid_attachments")
        if not (payload.get("text") or attachments or payload.get("blocks")):
            return self.error_response(400, "no_text")
        self.accept(ReceivedMessage("webhook", request.path, payload, credential=m["secret"]))
        return web.Response(text="ok", content_type="text/plain")
