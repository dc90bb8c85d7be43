"""Per-account rate limits and the stricter limit on failed authentications
per client address, as one middleware in front of the routes.

- A request with credentials takes a token from its account's bucket before
  it runs; the token is given back when the credentials turn out to be wrong
  (401) or the request never reached a check of them (5xx), so a wrong token
  sent with someone's e-mail never drains that account's budget.
- Every response that counted carries Librato's `X-Librato-RateLimit-Limit`,
  `-Remaining` and `-Reset` (epoch seconds at which the bucket is full again).
- Each 401 takes a token from the client address's failure bucket; an address
  with none left gets 429 before any RPC, whatever it sends.

The client address is the TCP peer (no proxy header is trusted). Buckets live
in this gateway process: several gateways each allow the limit."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from aiohttp import web

from chartsnap.basic_auth import parse_basic
from gateway.responses import request_error
from gateway.token_buckets import TokenBuckets, Verdict

RATE_LIMITED_PREFIX = "/v1/"
MAX_KEYS = 10_000  # busy accounts or addresses remembered at once, per limit


@dataclass
class RateLimits:
    per_account: TokenBuckets | None     # None: CHARTSNAP_RATE_LIMIT=0
    auth_failures: TokenBuckets | None   # None: CHARTSNAP_AUTH_FAILURE_LIMIT=0

    @classmethod
    def per_minute(cls, account_limit: int, auth_failure_limit: int) -> "RateLimits":
        return cls(TokenBuckets(account_limit, MAX_KEYS) if account_limit else None,
                   TokenBuckets(auth_failure_limit, MAX_KEYS) if auth_failure_limit else None)


RATE_LIMITS = web.AppKey("rate_limits", RateLimits)


def rate_headers(verdict: Verdict) -> dict[str, str]:
    return {
        "X-Librato-RateLimit-Limit": str(verdict.limit),
        "X-Librato-RateLimit-Remaining": str(verdict.remaining),
        "X-Librato-RateLimit-Reset": str(math.ceil(time.time() + verdict.reset_after)),
    }


@web.middleware
async def rate_limit_middleware(request: web.Request, handler) -> web.StreamResponse:  # noqa: ANN001
    limits = request.app[RATE_LIMITS]
    if not request.path.startswith(RATE_LIMITED_PREFIX):
        return await handler(request)
    address = request.remote or "unknown"
    if limits.auth_failures is not None:
        failures = limits.auth_failures.peek(address)
        if not failures.allowed:
            return request_error(429, "Too many failed authentications from this address, retry later",
                                 failures.retry_after)
    credentials = parse_basic(request.headers.get("Authorization"))
    account = credentials[0].strip().lower() if credentials else None
    buckets = limits.per_account if account is not None else None
    taken: Verdict | None = None
    if buckets is not None:
        taken = buckets.take(account)
        if not taken.allowed:
            return request_error(429, "Rate limit exceeded, retry later", taken.retry_after, rate_headers(taken))
    try:
        response = await handler(request)
    except BaseException:
        if buckets is not None:
            buckets.give_back(account)
        raise
    if response.status == 401:
        if buckets is not None:
            buckets.give_back(account)
        if limits.auth_failures is not None:
            limits.auth_failures.take(address)
    elif response.status >= 500:
        if buckets is not None:
            buckets.give_back(account)  # the credentials were never checked
    elif taken is not None:
        response.headers.update(rate_headers(taken))
    return response
