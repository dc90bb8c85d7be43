"""A Campfire classic API server (rooms and speaking).

HTTP Basic auth with the API token as user and any password (clients send
"X"); a bad or missing one is 401 "HTTP Basic: Access denied.".
`GET /rooms.json` → {"rooms": [...]}; `POST /room/{id}/join.json` → 200;
`POST /room/{id}/speak.json` with {"message": {"type"?, "body"}} → 201 with
the message; an unknown room id is 404, a message without body 422."""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import secrets
from datetime import datetime, timezone

from aiohttp import web

from tests.peers.http_peer import HttpPeer, ReceivedMessage

MESSAGE_TYPES = ("TextMessage", "PasteMessage", "SoundMessage", "TweetMessage")


class CampfirePeer(HttpPeer):
    name = "campfire"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, token: str | None = None,
                 rooms: dict[int, str] | None = None, subdomain: str = "chartsnap") -> None:
        super().__init__(host, port)
        self.token = token or secrets.token_hex(20)
        self.rooms = rooms or {630291: "Ops", 630292: "Lobby"}   # id → name
        self.subdomain = subdomain
        self.user_id = 1190281
        self._ids = itertools.count(1_000_001)

    @property
    def room_name(self) -> str:
        return next(iter(self.rooms.values()))

    def settings(self) -> dict[str, str]:
        return {"subdomain": self.subdomain, "token": self.token, "room": self.room_name,
                "server_url": self.server_url}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/rooms.json", self.list_rooms, name="rooms")
        app.router.add_post("/room/{id}/join.json", self.join, name="join")
        app.router.add_post("/room/{id}/speak.json", self.speak, name="speak")

    def default_words(self, status: int) -> str:
        return {429: "Too Many Requests", 503: "Service Unavailable"}.get(status, "Internal Server Error")

    def _authenticated(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            user, _, _password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user if secrets.compare_digest(user, self.token) else None

    def _denied(self) -> web.Response:
        return web.Response(status=401, text="HTTP Basic: Access denied.\n", content_type="text/plain",
                            headers={"WWW-Authenticate": 'Basic realm="Application"'})

    @staticmethod
    def _now() -> str:
        return datetime.now(timezone.utc).strftime("%Y/%m/%d %H:%M:%S +0000")

    async def list_rooms(self, request: web.Request) -> web.Response:
        if self._authenticated(request) is None:
            return self._denied()
        rooms = [{"id": i, "name": n, "topic": None, "membership_limit": 60,
                  "created_at": "2011/01/01 00:00:00 +0000", "updated_at": "2011/01/01 00:00:00 +0000"}
                 for i, n in self.rooms.items()]
        return web.json_response({"rooms": rooms})

    def _room(self, request: web.Request) -> int | None:
        raw = request.match_info["id"]
        return int(raw) if raw.isdigit() and int(raw) in self.rooms else None

    async def join(self, request: web.Request) -> web.Response:
        if self._authenticated(request) is None:
            return self._denied()
        if self._room(request) is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(status=200)

    async def speak(self, request: web.Request) -> web.Response:
        token = self._authenticated(request)
        if token is None:
            return self._denied()
        room_id = self._room(request)
        if room_id is None:
            return web.Response(status=404, text="Not Found")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return web.Response(status=400, text="Bad Request")
        message = body.get("message") if isinstance(body, dict) else None
        text = message.get("body") if isinstance(message, dict) else None
        kind = message.get("type", "TextMessage") if isinstance(message, dict) else None
        if not isinstance(text, str) or not text.strip() or kind not in MESSAGE_TYPES:
            return web.json_response({"errors": ["Body can't be blank"] if kind in MESSAGE_TYPES
                                      else ["Type is not included in the list"]}, status=422)
        said = {"id": next(self._ids), "room_id": room_id, "user_id": self.user_id, "body": text,
                "type": kind, "created_at": self._now(), "starred": False}
        self.accept(ReceivedMessage("speak", request.path, body, credential=token, room=str(room_id)))
        return web.json_response({"message": said}, status=201)
