"""GET /s/{token}: a snapshot's public share page, with no credentials.

The token is checked against its exact form (chartsnap.image_keys) before any
RPC, so a numeric id, a path trick or a long string costs nothing but a 404;
a well-formed token costs one GetSharedSnapshot call (one indexed read), with
the gateway's deadline like every call.

Abuse: a token has over 80 random bits, so guessing one is hopeless, but every
well-formed guess still reaches the database. Each share page answered 404
therefore takes a token from the client address's failed-authentication bucket
(gateway/rate_limits.py): guessing a share link is guessing a secret, and one
budget per address covers both; an address with none left gets a 429 page
before any RPC. Pages that are found are not limited here (they are cheap,
cacheable and what the link is for); the per-account limits of /v1 do not
apply, since the page has no account.

Answers of this route are HTML (404, 429, 503 too), never the API's JSON:
whoever follows a link is a person or an unfurler, not an API client."""

from __future__ import annotations

import logging

import grpc
from aiohttp import web

from chartsnap.image_keys import SHARE_PATH, is_share_token
from chartsnap.v1 import snapshots_pb2
from chartsnap.v1.snapshots_pb2_grpc import SnapshotServiceStub
from gateway import share_page_html
from gateway.rate_limits import RATE_LIMITS
from gateway.share_page_html import Page

log = logging.getLogger(__name__)

# Sent with every page: the page is HTML only, never framed, never sends its
# URL (the secret) on as a Referer, never indexed.
FIXED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}


def page_response(page: Page) -> web.Response:
    headers = {**FIXED_HEADERS, "Cache-Control": page.cache_control,
               "Content-Security-Policy": page.content_security_policy}
    if page.retry_after is not None:
        headers["Retry-After"] = str(page.retry_after)
    return web.Response(status=page.status, text=page.html, content_type="text/html", charset="utf-8",
                        headers=headers)


class SharePages:
    def __init__(self, snapshots: SnapshotServiceStub, public_url: str, rpc_timeout: float) -> None:
        self.snapshots = snapshots
        self.public_url = public_url.rstrip("/")
        self.rpc_timeout = rpc_timeout

    def page_url(self, token: str) -> str:
        return f"{self.public_url}{SHARE_PATH}{token}"

    async def handle(self, request: web.Request) -> web.Response:
        guesses = request.app[RATE_LIMITS].auth_failures
        address = request.remote or "unknown"
        if guesses is not None and not (verdict := guesses.peek(address)).allowed:
            return page_response(share_page_html.too_many_guesses_page(verdict.retry_after))
        token = request.match_info["token"]
        if not is_share_token(token):
            # No guess at a secret (a link cut short in a chat, a path trick):
            # a 404 that spends nothing of the address's budget.
            return page_response(share_page_html.not_found_page())
        try:
            shared = await self.snapshots.GetSharedSnapshot(
                snapshots_pb2.GetSharedSnapshotRequest(token=token), timeout=self.rpc_timeout)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return self._not_found(guesses, address)
            log.warning("share page: upstream %s %s", exc.code(), exc.details())
            return page_response(share_page_html.unavailable_page())
        return page_response(share_page_html.shared_page(shared, self.page_url(token)))

    @staticmethod
    def _not_found(guesses, address: str) -> web.Response:  # noqa: ANN001
        if guesses is not None:
            guesses.take(address)
        return page_response(share_page_html.not_found_page())


def share_routes(snapshots: SnapshotServiceStub, public_url: str, rpc_timeout: float) -> list[web.RouteDef]:
    """The share page's route, for gateway.app to add (GET, and HEAD with it)."""
    pages = SharePages(snapshots, public_url, rpc_timeout)
    return [web.get(SHARE_PATH + "{token}", pages.handle)]
