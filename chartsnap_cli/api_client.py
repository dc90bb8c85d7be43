"""The gateway's REST API over HTTP (the standard library's urllib): one call,
one JSON answer, or one of three errors a command turns into an exit code.

Credentials go only to the gateway: the Authorization header is never carried
across a redirect, and images are downloaded without it (their links are
public by design). Only http(s) links are followed."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from chartsnap_cli.settings import ClientSettings

REQUEST_TIMEOUT_S = 30.0  # per HTTP request: above the gateway's 10 s deadline on each gRPC call
MAX_ANSWER_BYTES = 16 * 1024 * 1024   # an API answer is a few kilobytes; this only bounds a hostile one
MAX_IMAGE_BYTES = 256 * 1024 * 1024   # a 4000 x 4000 PNG is well below
DEFAULT_RETRY_AFTER_S = 5.0  # when a 429/503 names no Retry-After (the gateway's own default)


class ApiError(Exception):
    """Why a call did not give an answer. `message` is safe to print."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unreachable(ApiError):
    """No HTTP answer: connection refused, name unknown, no answer in time."""


class BadAnswer(ApiError):
    """An answer that is not the API's: not JSON, or far too large."""


class HttpError(ApiError):
    """The API answered an error status; `message` holds the API's own words."""

    def __init__(self, status: int, message: str, body: Any = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """Worth asking again after `retry_after`: rate limited or unavailable."""
        return self.status in (429, 503)


@dataclass
class ApiClient:
    settings: ClientSettings
    timeout: float = REQUEST_TIMEOUT_S
    _opener: urllib.request.OpenerDirector = field(default_factory=urllib.request.build_opener, repr=False)

    def url(self, path: str) -> str:
        """The gateway's URL for `path`. An absolute href from the API (built on
        the server's CHARTSNAP_PUBLIC_URL, which may name another host or
        scheme) is followed on the gateway we were given: the credentials go
        only there."""
        if path.startswith(("http://", "https://")):
            parts = urllib.parse.urlsplit(path)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
        return f"{self.settings.url}{path}"

    def get(self, path: str, query: dict[str, Any] | None = None) -> Any:
        return self.call("GET", path, query=query)

    def post(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        return self.call("POST", path, body=body, headers=headers)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, query: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> Any:
        """The answer's JSON (None for an empty answer); raises Unreachable or HttpError."""
        url = self.url(path)
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None}, doseq=True)
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        # Unredirected: a redirect to another host does not take the credentials along.
        request.add_unredirected_header("Authorization", basic_authorization(self.settings.email, self.settings.token))
        raw = self._fetch(request, MAX_ANSWER_BYTES, what=f"the gateway at {self.settings.url}")
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise BadAnswer(f"the gateway at {self.settings.url} answered something that is not JSON") from None

    def download(self, url: str) -> bytes:
        """A public image, fetched without credentials."""
        if urllib.parse.urlparse(url).scheme not in ("http", "https"):
            raise BadAnswer(f"the image link is not an http(s) URL: {url!r}")
        return self._fetch(urllib.request.Request(url, method="GET"), MAX_IMAGE_BYTES, what="the image store")

    def _fetch(self, request: urllib.request.Request, most: int, what: str) -> bytes:
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return _read_at_most(response, most, what)
        except urllib.error.HTTPError as exc:
            with exc:
                raise http_error(exc.code, exc.reason, _read_at_most(exc, MAX_ANSWER_BYTES, what),
                                 exc.headers.get("Retry-After")) from None
        except (urllib.error.URLError, OSError) as exc:
            raise Unreachable(f"cannot reach {what}: {_reason(exc, self.timeout)}") from None
        except http.client.HTTPException as exc:
            raise Unreachable(f"cannot reach {what}: it does not answer HTTP ({type(exc).__name__})") from None


def basic_authorization(email: str, token: str) -> str:
    return "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode("ascii")


def http_error(status: int, reason: str, raw: bytes, retry_after: str | None = None) -> HttpError:
    """The error as the API words it: {"errors": {"params"|"request"|"system": …}}."""
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    words = error_words(body) if isinstance(body, dict) else ""
    return HttpError(status, words or f"HTTP {status} {reason}".strip(), body, _seconds(retry_after, status))


def error_words(body: dict) -> str:
    """One line from the contract's error shape: every field's messages, every
    request or system message."""
    found = body.get("errors")
    if not isinstance(found, dict):
        return ""
    parts: list[str] = []
    params = found.get("params")
    if isinstance(params, dict):
        parts += [f"{name}: {', '.join(map(str, messages if isinstance(messages, list) else [messages]))}"
                  for name, messages in params.items()]
    for key in ("request", "system"):
        messages = found.get(key)
        if isinstance(messages, list):
            parts += [str(m) for m in messages]
    return "; ".join(parts)


def _seconds(retry_after: str | None, status: int) -> float | None:
    if status not in (429, 503):
        return None
    try:
        return max(0.0, float(retry_after)) if retry_after else DEFAULT_RETRY_AFTER_S
    except ValueError:
        return DEFAULT_RETRY_AFTER_S


def _read_at_most(response: Any, most: int, what: str) -> bytes:
    content = response.read(most + 1)
    if len(content) > most:
        raise BadAnswer(f"{what} answered more than {most} bytes")
    return content


def _reason(exc: BaseException, timeout: float) -> str:
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return f"no answer within {timeout:g} s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return "unknown host"
    return getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
