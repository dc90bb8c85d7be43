"""A HipChat API v2 server, room notifications only.

`POST /v2/room/{room_id_or_name}/notification`, authenticated by
`Authorization: Bearer <token>` (or `?auth_token=`). Body JSON: message
(1–10,000 characters, required), message_format html|text, notify bool,
from, color. 204 on success; errors are JSON
{"error": {"code", "message", "type"}} as HipChat sends them."""

from __future__ import annotations

import json
import secrets
from http import HTTPStatus

from aiohttp import web

from tests.peers.http_peer import HttpPeer, ReceivedMessage

MAX_MESSAGE = 10_000
COLORS = ("yellow", "green", "red", "purple", "gray", "random")


class HipChatPeer(HttpPeer):
    name = "hipchat"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, token: str | None = None,
                 rooms: dict[str, str] | None = None) -> None:
        super().__init__(host, port)
        self.token = token or secrets.token_hex(20)
        self.rooms = rooms or {"2451": "Ops"}   # id → name

    @property
    def room_id(self) -> str:
        return next(iter(self.rooms))

    def settings(self) -> dict[str, str]:
        return {"auth_token": self.token, "room_id": self.room_id, "from": "chartsnap", "notify": "1",
                "server_url": self.server_url}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v2/room/{room}/notification", self.notification, name="notification")

    def error_response(self, status: int, words: str) -> web.Response:
        kind = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        return web.json_response({"error": {"code": status, "message": words, "type": kind}}, status=status)

    def default_words(self, status: int) -> str:
        if status == 429:
            return "You have exceeded the rate limit. Please wait and try again."
        return {503: "The service is temporarily unavailable."}.get(status, "An internal error occurred.")

    async def notification(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.startswith("Bearer ") else request.query.get("auth_token", "")
        if not token:
            return self.error_response(401, "Authenticated requests only. See "
                                            "https://www.hipchat.com/docs/apiv2/auth for more information.")
        if not secrets.compare_digest(token, self.token):
            return self.error_response(401, "Invalid OAuth session")
        room = request.match_info["room"]
        room_id = room if room in self.rooms else next((i for i, n in self.rooms.items() if n == room), None)
        if room_id is None:
            return self.error_response(404, "Room not found")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return self.error_response(400, "The request body cannot be parsed as valid JSON")
        if not isinstance(body, dict):
            return self.error_response(400, "The request body must be a JSON object")
        message = body.get("message")
        if not isinstance(message, str):
            return self.error_response(400, "Required field 'message' is missing")
        if not 1 <= len(message) <= MAX_MESSAGE:
            return self.error_response(400, f"Message length must be between 1 and {MAX_MESSAGE} characters")
        if body.get("message_format", "html") not in ("html", "text"):
            return self.error_response(400, "Value for field 'message_format' must be 'html' or 'text'")
        if body.get("color", "yellow") not in COLORS:
            return self.error_response(400, f"Value '{body.get('color')}' for field 'color' is not valid")
        if not isinstance(body.get("notify", False), bool):
            return self.error_response(400, "Value for field 'notify' must be a boolean")
        sender = body.get("from", "")
        if not isinstance(sender, str) or len(sender) > 64:
            return self.error_response(400, "Value for field 'from' must be a string of at most 64 characters")
        self.accept(ReceivedMessage("notification", request.path, body, credential=token, room=room_id))
        return web.Response(status=204)
