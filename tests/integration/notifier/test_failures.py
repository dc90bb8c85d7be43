"""Each failure class of the chat destinations and how many attempts it gets:
transient ones (5xx, 429/503 with Retry-After, hanging, refused connections)
are retried within the bounds; permanent ones (other 4xx, bad credentials, a
missing room) end after one attempt with the peer's own words."""

from __future__ import annotations

import logging

import pytest

from devstack.processes import free_port
from tests.integration.notifier.conftest import TEST_RETRY
from tests.integration.notifier.harness import R, delivery_request, publish

pytestmark = pytest.mark.timeout(30)


async def test_5xx_then_success(notifier, js, results, hipchat):
    hipchat.fail_next(2, 503)
    req = delivery_request("hipchat", hipchat.settings())
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts, result.error) == (R.DELIVERED, 3, "")
    assert [r.status for r in hipchat.requests] == [503, 503, 204]
    assert len(hipchat.messages) == 1


async def test_429_retry_after_is_honoured(notifier, js, results, slack):
    slack.fail_next(1, 429, retry_after=1)
    req = delivery_request("slack", slack.settings())
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.DELIVERED, 2)
    first, second = slack.requests
    assert first.status == 429 and second.status == 200
    assert second.at - first.at >= 0.95, "the second attempt waited for Retry-After"


async def test_retry_after_beyond_the_bounds_fails_instead_of_calling_back_early(notifier, js, results, flowdock):
    flowdock.fail_next(1, 503, retry_after=120)
    req = delivery_request("flowdock", flowdock.settings())
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.FAILED, 1)
    assert "flowdock answered 503: Service Unavailable" in result.error
    assert "retry after 120 s" in result.error
    assert len(flowdock.requests) == 1


async def test_hang_times_out_and_is_retried(notifier, js, results, flowdock):
    flowdock.hang_next(1, seconds=5)
    req = delivery_request("flowdock", flowdock.settings())
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.DELIVERED, 2)
    assert len(flowdock.requests) == 2 and len(flowdock.messages) == 1


async def test_5xx_every_time_fails_after_the_attempt_bound(notifier, js, results, hipchat):
    hipchat.fail_next(100, 500)
    req = delivery_request("hipchat", hipchat.settings())
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.FAILED, TEST_RETRY.max_attempts)
    assert result.error == (f"hipchat answered 500: An internal error occurred.; "
                            f"gave up after {TEST_RETRY.max_attempts} attempts")
    assert len(hipchat.requests) == TEST_RETRY.max_attempts


async def test_refused_connection_is_transient(notifier, js, results):
    req = delivery_request("flowdock", {"api_token": "t0ken-of-a-dead-server", "server_url": f"http://127.0.0.1:{free_port()}"})
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.FAILED, TEST_RETRY.max_attempts)
    assert result.error.startswith("flowdock: could not connect (Connection refused)")
    assert "t0ken-of-a-dead-server" not in result.error
    assert "127.0.0.1" not in result.error, "the address and port are not quoted back"


# (peer fixture, how to spoil its settings, the peer's words)
PERMANENT = [
    ("slack", lambda p: {"url": p.webhook_url.replace(p.secret, "wrong-secret-123")}, "slack answered 403: invalid_token"),
    ("slack", lambda p: {"url": p.webhook_url.replace(p.team, "TNOBODY")}, "slack answered 404: no_service"),
    ("hipchat", lambda p: {**p.settings(), "auth_token": "not-the-token"}, "hipchat answered 401: Invalid OAuth session"),
    ("hipchat", lambda p: {**p.settings(), "room_id": "999"}, "hipchat answered 404: Room not found"),
    ("flowdock", lambda p: {**p.settings(), "api_token": "unknown-flow"}, "flowdock answered 404: Flow not found"),
    ("flowdock", lambda p: {**p.settings(), "user_name": "has spaces"},
     "flowdock answered 400: Validation error (external_user_name"),
    ("campfire", lambda p: {**p.settings(), "token": "bad-token-42"}, "campfire answered 401: HTTP Basic: Access denied."),
]


@pytest.mark.parametrize(("kind", "spoil", "words"), PERMANENT, ids=[w.split(": ", 1)[1] for _, _, w in PERMANENT])
async def test_4xx_is_permanent_after_one_attempt_with_the_peers_words(
        notifier, js, results, caplog, slack, hipchat, flowdock, campfire, kind, spoil, words):
    peer = {"slack": slack, "hipchat": hipchat, "flowdock": flowdock, "campfire": campfire}[kind]
    settings = spoil(peer)
    req = delivery_request(kind, settings)
    with caplog.at_level(logging.DEBUG):
        await publish(js, req)
        result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.FAILED, 1)
    assert result.error.startswith(words)
    assert len(peer.requests) == 1 and peer.messages == []
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert words in logged
    for secret in ("url", "auth_token", "api_token", "token"):
        if secret in settings:
            assert settings[secret] not in result.error
            assert settings[secret] not in logged, f"the {secret} setting reached a log line"


async def test_campfire_unknown_room_is_permanent_and_named(notifier, js, results, campfire):
    req = delivery_request("campfire", {**campfire.settings(), "room": "Nowhere"})
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.FAILED, 1)
    assert result.error == "campfire: no room named 'Nowhere'"
    assert [r.endpoint for r in campfire.requests] == ["rooms"]


async def test_campfire_retry_does_not_repeat_the_text_already_said(notifier, js, results, campfire):
    # rooms ✓, speak text ✓, speak image → 503; the retry must only say the image.
    campfire.fail_next(1, 503, endpoint="speak", after=1)
    req = delivery_request("campfire", campfire.settings())
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.DELIVERED, 2)
    assert [(r.endpoint, r.status) for r in campfire.requests] == [
        ("rooms", 200), ("speak", 201), ("speak", 503), ("rooms", 200), ("speak", 201)]
    bodies = [m.body["message"]["body"] for m in campfire.messages]
    assert len(bodies) == 2 and bodies[1] == req.image_url, "the text was said once, then the image once"


@pytest.mark.parametrize("kind", ["hipchat", "campfire"])
async def test_a_token_with_cr_lf_is_refused_not_sent(notifier, js, results, hipchat, campfire, kind):
    peer = {"hipchat": hipchat, "campfire": campfire}[kind]
    name = {"hipchat": "auth_token", "campfire": "token"}[kind]
    req = delivery_request(kind, {**peer.settings(), name: "t0ken\r\nX-Injected: 1"})
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.FAILED, 1)
    assert result.error == f"{kind}: a setting holds characters a request cannot carry"
    assert all("X-Injected" not in r.headers for r in peer.requests)
