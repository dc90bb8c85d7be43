"""Interactive API docs at GET /docs: Swagger UI over the gateway's own
/openapi.json, every asset served by the gateway itself (no CDN).

Swagger UI's files come from the pinned PyPI package swagger-ui-bundle
(requirements.lock; Apache-2.0, its licence in the package's metadata). Only
the files named in ASSET_FILES are served, from memory, under names that carry
a digest of their bytes (`/docs/assets/swagger-ui-bundle.<digest>.js`): an
asset name is a key of a dict, never a path, so no request can reach another
file; and a new release gets new URLs, so the assets may be cached for a year
while the page itself is revalidated each time.

The page's Content-Security-Policy allows nothing but this origin: scripts,
styles, the document and "Try it out" calls all come from the gateway (the
start-up script is one of the assets, not inline). Swagger UI's online
validator badge would call another host: it is turned off. Neither the page
nor its assets take credentials or count against the rate limits (those are
for /v1/); "Try it out" sends the Basic credentials entered under "Authorize"
to the same gateway."""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from swagger_ui_bundle import swagger_ui_path

PAGE_PATH = "/docs"
ASSET_PREFIX = "/docs/assets/"
OPENAPI_PATH = "/openapi.json"

# Swagger UI's files we serve (no standalone preset: the base layout needs
# only the bundle), and their content types.
ASSET_FILES = ("swagger-ui.css", "index.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png")
CONTENT_TYPES = {".css": "text/css", ".js": "text/javascript", ".png": "image/png"}
TEXT_SUFFIXES = (".css", ".js")

START_SCRIPT_NAME = "chartsnap-docs.js"
START_SCRIPT = f"""\
"use strict";
// Swagger UI over the gateway's own OpenAPI document. validatorUrl: null keeps
// the online validator (another host) out of the page.
window.addEventListener("load", function () {{
  window.ui = SwaggerUIBundle({{
    url: "{OPENAPI_PATH}",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null,
    displayRequestDuration: true
  }});
}});
"""

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
IMMUTABLE = "public, max-age=31536000, immutable"
COMMON_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


@dataclass(frozen=True)
class Asset:
    url_name: str       # what follows ASSET_PREFIX: the file's name with a digest of its bytes
    body: bytes
    content_type: str
    charset: str | None

    @classmethod
    def of(cls, name: str, body: bytes) -> "Asset":
        suffix = Path(name).suffix
        digest = hashlib.sha256(body).hexdigest()[:16]
        return cls(f"{Path(name).stem}.{digest}{suffix}", body, CONTENT_TYPES[suffix],
                   "utf-8" if suffix in TEXT_SUFFIXES else None)

    @property
    def url(self) -> str:
        return ASSET_PREFIX + self.url_name


class ApiDocs:
    """The page and its assets, read once when the gateway starts."""

    def __init__(self, assets: dict[str, Asset]) -> None:
        self.assets = {asset.url_name: asset for asset in assets.values()}
        self.page = _page(assets).encode()

    @classmethod
    def load(cls, directory: Path = Path(swagger_ui_path)) -> "ApiDocs":
        assets = {name: Asset.of(name, (directory / name).read_bytes()) for name in ASSET_FILES}
        assets[START_SCRIPT_NAME] = Asset.of(START_SCRIPT_NAME, START_SCRIPT.encode())
        return cls(assets)

    async def serve_page(self, request: web.Request) -> web.Response:
        return web.Response(body=self.page, content_type="text/html", charset="utf-8", headers={
            **COMMON_HEADERS, "Cache-Control": "no-cache", "Content-Security-Policy": CSP})

    async def serve_asset(self, request: web.Request) -> web.Response:
        asset = self.assets.get(request.match_info["name"])
        if asset is None:
            raise web.HTTPNotFound()  # answered in the error shape by the errors middleware
        return web.Response(body=asset.body, content_type=asset.content_type, charset=asset.charset,
                            headers={**COMMON_HEADERS, "Cache-Control": IMMUTABLE})

    def routes(self) -> list[web.RouteDef]:
        return [web.get(PAGE_PATH, self.serve_page), web.get(ASSET_PREFIX + "{name}", self.serve_asset)]


def _page(assets: dict[str, Asset]) -> str:
    def url(name: str) -> str:
        return html.escape(assets[name].url)

    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>chartsnap API</title>
<link rel="stylesheet" href="{url("swagger-ui.css")}">
<link rel="stylesheet" href="{url("index.css")}">
<link rel="icon" type="image/png" sizes="32x32" href="{url("favicon-32x32.png")}">
<link rel="icon" type="image/png" sizes="16x16" href="{url("favicon-16x16.png")}">
</head>
<body>
<noscript>These docs need JavaScript; the OpenAPI document itself is at <a href="{OPENAPI_PATH}">{OPENAPI_PATH}</a>.</noscript>
<div id="swagger-ui"></div>
<script src="{url("swagger-ui-bundle.js")}"></script>
<script src="{url(START_SCRIPT_NAME)}"></script>
</body>
</html>
"""
