"""The retry budget is in time: against a peer that keeps failing, a
delivery goes on retrying until CHARTSNAP_NOTIFY_MAX_TOTAL_SECONDS is spent
(not a fixed number of attempts) and ends within that budget plus one
attempt timeout."""

from __future__ import annotations

import pytest

from notifier_svc.retry_policy import RetryPolicy
from tests.integration.notifier.conftest import TEST_TIMEOUTS
from tests.integration.notifier.harness import R, delivery_request, publish

pytestmark = pytest.mark.timeout(60)

BUDGET = 3.0
POLICY = RetryPolicy(max_total_seconds=BUDGET, base_backoff=0.1, max_backoff=1.0)   # no count cap
# Scheduling slack on a loaded 2-core machine (journal writes, result pickup).
MARGIN = BUDGET / 2


async def test_a_peer_answering_503_is_retried_for_the_whole_budget(start_notifier, js, results, hipchat):
    await start_notifier(retry=POLICY)
    hipchat.fail_next(10_000, 503)
    req = delivery_request("hipchat", hipchat.settings())
    published = await publish(js, req)
    [arrival] = await results.wait(req.delivery_id, timeout=BUDGET + TEST_TIMEOUTS.total + 20)
    result, first, last = arrival.result, hipchat.requests[0].at, hipchat.requests[-1].at

    assert result.state == R.FAILED
    assert result.attempts == len(hipchat.requests) > 5, "more attempts than the old fixed count of 5"
    assert result.error.endswith(f"gave up after {result.attempts} attempts within {BUDGET:g} s")
    assert arrival.at - published >= BUDGET, "it did not give up before the budget was spent"
    assert last - first <= BUDGET + MARGIN, "no attempt started past the budget"
    assert arrival.at - first <= BUDGET + TEST_TIMEOUTS.total + MARGIN


async def test_slow_attempts_end_within_budget_plus_one_attempt(start_notifier, js, results, flowdock):
    """Every attempt hangs until the read timeout: the last one starts within
    the budget and the delivery ends at most one attempt timeout later."""
    await start_notifier(retry=POLICY)
    flowdock.hang_next(10_000, seconds=TEST_TIMEOUTS.total * 3)
    req = delivery_request("flowdock", flowdock.settings())
    published = await publish(js, req)
    [arrival] = await results.wait(req.delivery_id, timeout=BUDGET + TEST_TIMEOUTS.total + 20)
    first, last = flowdock.requests[0].at, flowdock.requests[-1].at

    assert arrival.result.state == R.FAILED and arrival.result.attempts >= 2
    assert arrival.result.error.startswith(f"flowdock: no answer within {TEST_TIMEOUTS.read:g} s")
    assert arrival.at - published >= BUDGET
    assert last - first <= BUDGET + MARGIN
    assert arrival.at - first <= BUDGET + TEST_TIMEOUTS.total + MARGIN
