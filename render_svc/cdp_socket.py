"""Chrome DevTools Protocol straight to the host page's target, over its websocket.

Through selenium every CDP command is an HTTP request to chromedriver, which
forwards it to Chrome and the answer back: two extra hops, JSON re-encoded
twice (the ~20-30 KB json_item and the base64 PNG among it) and chromedriver's
CPU per render. selenium still starts, supervises and quits the browser
(render_svc.chromium_driver); a warm browser only sends its render commands
(Runtime.evaluate, Page.captureScreenshot, Emulation.setDeviceMetricsOverride)
over this socket. Each command is bounded by a deadline: a browser that does
not answer in time surfaces as :class:`CdpError` (an OSError, like a dead
chromedriver's), so the render's retry replaces it.
"""

from __future__ import annotations

import itertools
import json
import time
import urllib.request
from typing import Any

import websocket


class CdpError(OSError):
    """The page's DevTools socket failed, closed or did not answer in time."""


class CdpCommandError(Exception):
    """Chrome answered a command with an error (the socket itself is fine)."""


def page_websocket_url(debugger_address: str, page_url: str, timeout_s: float) -> str:
    """The DevTools websocket of the page target showing ``page_url``."""
    with urllib.request.urlopen(f"http://{debugger_address}/json/list", timeout=timeout_s) as answer:
        targets = json.load(answer)
    for target in targets:
        if target.get("type") == "page" and target.get("url") == page_url and target.get("webSocketDebuggerUrl"):
            return str(target["webSocketDebuggerUrl"])
    raise CdpError(f"no page target shows {page_url} (targets: {[t.get('url') for t in targets]})")


class CdpSocket:
    """One DevTools session on one page. Not thread-safe: one caller at a time."""

    def __init__(self, url: str, timeout_s: float) -> None:
        try:
            # Without an Origin header Chrome needs no --remote-allow-origins. No UTF-8
            # validation by websocket-client: it is a pure-Python loop over every byte
            # (measured ~100 ms for one 120 KB screenshot answer on a loaded core), and the
            # text frame is decoded as UTF-8 anyway (invalid bytes still raise there).
            self._socket = websocket.create_connection(url, timeout=timeout_s, suppress_origin=True,
                                                       enable_multithread=False, skip_utf8_validation=True)
        except (websocket.WebSocketException, OSError) as exc:
            raise CdpError(f"could not connect to the page's DevTools socket: {exc}") from exc
        self._ids = itertools.count(1)

    def call(self, method: str, params: dict[str, Any], deadline: float) -> dict[str, Any]:
        """The result of one command, or CdpError by the monotonic ``deadline``."""
        command_id = next(self._ids)
        try:
            self._socket.settimeout(_seconds_left(deadline, method))
            self._socket.send(json.dumps({"id": command_id, "method": method, "params": params}))
            while True:
                self._socket.settimeout(_seconds_left(deadline, method))
                message = json.loads(self._socket.recv())
                if message.get("id") == command_id:
                    break
                # Events (no domain is enabled, so rarely any) and late answers are skipped.
        except (websocket.WebSocketException, OSError, ValueError) as exc:
            if isinstance(exc, CdpError):
                raise
            raise CdpError(f"{method} over the DevTools socket failed: {type(exc).__name__}: {exc}") from exc
        if "error" in message:
            raise CdpCommandError(f"{method}: {message['error']}")
        return message.get("result") or {}

    def close(self) -> None:
        try:
            self._socket.close(timeout=0.2)
        except Exception:  # noqa: BLE001 - closing a dead socket may fail in many ways
            pass


def _seconds_left(deadline: float, method: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise CdpError(f"{method}: no answer within the time left")
    return left
