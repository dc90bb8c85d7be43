"""A Flowdock push API server, chat messages only.

`POST /v1/messages/chat/{flow_api_token}` with JSON {"content" (1–8096
characters), "external_user_name" (1–15 characters, no whitespace), "tags"?}.
200 `{}` on success; errors are JSON {"message": ..., "errors"?: {...}}."""

from __future__ import annotations

import json
import secrets

from aiohttp import web

from tests.peers.http_peer import HttpPeer, ReceivedMessage

MAX_CONTENT = 8096
MAX_USER_NAME = 15


class FlowdockPeer(HttpPeer):
    name = "flowdock"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, token: str | None = None) -> None:
        super().__init__(host, port)
        self.token = token or secrets.token_hex(16)

    def settings(self) -> dict[str, str]:
        return {"api_token": self.token, "user_name": "chartsnap", "server_url": self.server_url}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/messages/chat/{token}", self.chat, name="chat")

    def error_response(self, status: int, words: str, errors: dict | None = None) -> web.Response:
        body: dict = {"message": words}
        if errors:
            body["errors"] = errors
        return web.json_response(body, status=status)

    def default_words(self, status: int) -> str:
        return {429: "Rate limit exceeded", 503: "Service Unavailable"}.get(status, "Internal Server Error")

    async def chat(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if not secrets.compare_digest(token, self.token):
            return self.error_response(404, "Flow not found")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return self.error_response(400, "Invalid JSON")
        if not isinstance(body, dict):
            return self.error_response(400, "Invalid JSON")
        errors: dict[str, list[str]] = {}
        content = body.get("content")
        if not isinstance(content, str) or not content.strip():
            errors["content"] = ["can't be blank"]
        elif len(content) > MAX_CONTENT:
            errors["content"] = [f"is too long (maximum is {MAX_CONTENT} characters)"]
        user = body.get("external_user_name")
        if not isinstance(user, str) or not user:
            errors["external_user_name"] = ["can't be blank"]
        elif len(user) > MAX_USER_NAME or any(c.isspace() for c in user):
            errors["external_user_name"] = [f"must be 1-{MAX_USER_NAME} characters without whitespace"]
        tags = body.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            errors["tags"] = ["must be an array of strings"]
        if errors:
            return self.error_response(400, "Validation error", errors)
        self.accept(ReceivedMessage("chat", request.path, body, credential=token))
        return web.json_response({})
