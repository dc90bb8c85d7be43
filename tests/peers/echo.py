"""A hostile or internal HTTP server: answers every request on every path
with a chosen status and, in a chosen vendor's error format, everything the
request carried (request line, every header, the body). Used as a canary for
the outbound policy (it counts what reached it) and to check that secrets a
peer echoes back never reach an error text or a log."""

from __future__ import annotations

import json

from aiohttp import web

from tests.peers.http_peer import HttpPeer

# How each vendor wraps its error words; "raw" is an unknown service.
ECHO_FORMATS = ("raw", "slack", "hipchat", "flowdock", "campfire")


class EchoPeer(HttpPeer):
    name = "echo"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, status: int = 500,
                 echo_format: str = "raw") -> None:
        super().__init__(host, port)
        self.status = status
        self.echo_format = echo_format

    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self.echo, name="echo")

    def settings(self) -> dict[str, str]:
        return {"server_url": self.server_url}

    def error_response(self, status: int, words: str) -> web.Response:
        return web.Response(status=status, text=words)

    async def echo(self, request: web.Request) -> web.Response:
        body = (await request.read()).decode("utf-8", "replace")
        headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
        echoed = f"{request.method} {request.path_qs}\n{headers}\n\n{body}"
        kind = self.echo_format
        if kind == "hipchat":
            return web.json_response({"error": {"code": self.status, "message": echoed, "type": "Echo"}},
                                     status=self.status)
        if kind == "flowdock":
            return web.json_response({"message": echoed, "errors": {"request": [echoed]}}, status=self.status)
        if kind == "campfire":
            return web.json_response({"errors": [echoed]}, status=self.status)
        if kind == "slack":   # a code-like first line, then the echo: still not one of Slack's codes
            return web.Response(status=self.status, text="invalid_token\n" + echoed)
        return web.Response(status=self.status, text=json.dumps({"echo": echoed}) + "\n" + echoed)
