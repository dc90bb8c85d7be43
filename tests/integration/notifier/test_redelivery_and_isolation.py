"""At most one message per destination whatever the queue does, and one
destination's trouble never holding up another's."""

from __future__ import annotations

import asyncio
import time

import pytest

from notifier_svc.delivery_journal import SENDING, WAITING, DeliveryRecord
from notifier_svc.delivery_ledger import DeliveryLedger, open_bucket
from tests.integration.notifier.conftest import TEST_TIMEOUTS
from tests.integration.notifier.harness import R, delivery_request, publish

pytestmark = pytest.mark.timeout(30)


async def test_redelivered_after_delivery_sends_nothing_and_reports_the_same_result(notifier, js, results, slack):
    req = delivery_request("slack", slack.settings())
    await publish(js, req)
    first = await results.result(req.delivery_id)
    assert first.state == R.DELIVERED

    await publish(js, req)  # the same request again, as a redelivery would bring it
    arrivals = await results.wait(req.delivery_id, count=2)
    assert arrivals[1].result == first, "the same result is re-published"
    assert len(slack.messages) == 1 and len(slack.requests) == 1, "nothing was sent the second time"


async def test_redelivered_after_a_permanent_failure_is_not_retried(notifier, js, results, hipchat):
    req = delivery_request("hipchat", {**hipchat.settings(), "auth_token": "wrong"})
    await publish(js, req)
    first = await results.result(req.delivery_id)
    await publish(js, req)
    arrivals = await results.wait(req.delivery_id, count=2)
    assert first.state == R.FAILED and arrivals[1].result == first
    assert len(hipchat.requests) == 1


async def test_attempt_in_flight_when_a_worker_died_is_not_repeated(notifier, js, results, flowdock):
    req = delivery_request("flowdock", flowdock.settings())
    ledger = DeliveryLedger(await open_bucket(js))
    long_ago = time.time() - 600
    await ledger.write(req.delivery_id, DeliveryRecord(SENDING, 1, long_ago, long_ago), 0)

    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.FAILED, 1)
    assert result.error == "interrupted during attempt 1; not retried to avoid a duplicate"
    assert flowdock.requests == []


async def test_a_recent_attempt_elsewhere_is_waited_for_not_judged(notifier, js, results, flowdock):
    # Another worker wrote SENDING a moment ago and may still be sending: the
    # message goes back to the queue until that attempt's deadline has passed.
    req = delivery_request("flowdock", flowdock.settings())
    ledger = DeliveryLedger(await open_bucket(js))
    recent = time.time() - (TEST_TIMEOUTS.total + 5.0) + 1.0   # deadline passes in about 1 s
    await ledger.write(req.delivery_id, DeliveryRecord(SENDING, 1, recent, recent), 0)
    published = await publish(js, req)
    [arrival] = await results.wait(req.delivery_id)
    assert arrival.at - published >= 0.8
    assert arrival.result.error.startswith("interrupted during attempt 1")
    assert flowdock.requests == []


async def test_waiting_between_attempts_when_redelivered_goes_on_with_the_count(notifier, js, results, campfire):
    req = delivery_request("campfire", campfire.settings())
    ledger = DeliveryLedger(await open_bucket(js))
    now = time.time()
    await ledger.write(req.delivery_id, DeliveryRecord(WAITING, 2, now - 5, now - 1, not_before=now,
                                                       error="campfire answered 503", steps_done=("text",)), 0)
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.DELIVERED, 3)
    assert [m.body["message"]["body"] for m in campfire.messages] == [req.image_url], \
        "the text had already been said before the redelivery"


async def test_stopping_while_waiting_hands_the_delivery_to_the_next_worker(start_notifier, js, results, slack):
    slack.fail_next(1, 429, retry_after=1)
    first = await start_notifier()
    req = delivery_request("slack", slack.settings())
    await publish(js, req)
    while not slack.requests:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)          # the 429 is in; the delivery now waits 1 s
    await first.stop(grace=2.0)
    assert slack.messages == []
    await start_notifier()
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.DELIVERED, 2)
    assert len(slack.messages) == 1


async def test_one_slow_destination_does_not_delay_the_others(notifier, js, results, smtp_peer, stored_png,
                                                               slack, hipchat, flowdock, campfire):
    campfire.hang_next(1, seconds=5)                       # read timeout (1 s), then a retry that works
    hipchat.fail_next(1, 503)                              # one quick retry
    requests = {
        "mail": delivery_request("mail", {"addresses": "ops@example.com"}, image_key=stored_png[0]),
        "slack": delivery_request("slack", slack.settings()),
        "hipchat": delivery_request("hipchat", hipchat.settings()),
        "flowdock": delivery_request("flowdock", {**flowdock.settings(), "api_token": "revoked"}),
        "campfire": delivery_request("campfire", campfire.settings()),
    }
    published = {}
    for name in ("campfire", "mail", "slack", "hipchat", "flowdock"):   # the slow one first
        published[name] = await publish(js, requests[name])
    arrivals = {name: (await results.wait(req.delivery_id))[0] for name, req in requests.items()}

    outcome = {name: (a.result.state, a.result.attempts) for name, a in arrivals.items()}
    assert outcome == {"mail": (R.DELIVERED, 1), "slack": (R.DELIVERED, 1), "hipchat": (R.DELIVERED, 2),
                       "flowdock": (R.FAILED, 1), "campfire": (R.DELIVERED, 2)}
    assert "flowdock answered 404" in arrivals["flowdock"].result.error

    slow = arrivals["campfire"].at - published["campfire"]
    assert slow >= TEST_TIMEOUTS.read
    for name in ("mail", "slack", "hipchat", "flowdock"):
        took = arrivals[name].at - published[name]
        assert took < TEST_TIMEOUTS.read / 2, f"{name} took {took:.2f} s: held up by the slow destination"
        assert arrivals[name].at < arrivals["campfire"].at
    assert (len(smtp_peer.messages), len(slack.messages), len(hipchat.messages), len(flowdock.messages),
            len(campfire.messages)) == (1, 1, 1, 0, 2)
