"""`python -m notifier_svc` as the stack starts it: settings from CHARTSNAP_*
variables, gRPC health SERVING, a delivery done, a clean exit on SIGTERM,
and no credential in its log."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.notifier.harness import R, delivery_request, publish

pytestmark = pytest.mark.timeout(60)


async def test_the_process_delivers_and_stops_cleanly(infra, outbound_allowed_for_peers, js, results, slack):
    infra.extra_env["CHARTSNAP_NOTIFY_BASE_BACKOFF"] = "0.05"
    await asyncio.to_thread(infra.start_notifier_svc)   # returns once health says SERVING
    proc = infra.processes["notifier_svc"]
    try:
        slack.fail_next(1, 500)
        req = delivery_request("slack", slack.settings())
        await publish(js, req)
        result = await results.result(req.delivery_id, timeout=20)
        assert (result.state, result.attempts) == (R.DELIVERED, 2)
        assert len(slack.messages) == 1
    finally:
        await asyncio.to_thread(infra.processes.pop("notifier_svc").stop)
    assert proc.popen.returncode == 0
    log = proc.log_path.read_text()
    assert "notifier service ready" in log
    assert "slack answered 500" in log
    assert slack.secret not in log and infra.creds.secret_key not in log
