"""A DeliveryRequest with a data summary and a time zone, through the
notifier to each vendor's peer: the summary where each vendor shows text
(Slack's fallback, the mail's text part and image alt, HipChat, Flowdock,
Campfire), times in the snapshot's zone."""

from __future__ import annotations

import pytest

from tests.integration.notifier.harness import R, delivery_request, publish

pytestmark = pytest.mark.timeout(30)

SUMMARY = "api.latency peaked at 912 ms at 16:48 EST, ended at 120 ms; 2 streams"
ZONE = "America/New_York"
WINDOW = "1 hour ending 2023-11-14 17:13 EST (America/New_York)"  # end_time 1_700_000_000 in New York


def with_summary(type_: str, settings: dict[str, str]):  # noqa: ANN201 - a DeliveryRequest
    req = delivery_request(type_, settings)
    req.summary, req.timezone = SUMMARY, ZONE
    return req


async def test_mail_text_part_and_image_alt(notifier, js, results, smtp_peer, stored_png):  # noqa: ANN001
    key, _png = stored_png
    req = delivery_request("mail", {"addresses": "ops@example.com"}, image_key=key)
    req.summary, req.timezone = SUMMARY, ZONE
    await publish(js, req)
    assert (await results.result(req.delivery_id)).state == R.DELIVERED
    [mail] = [m for m in smtp_peer.messages if "ops@example.com" in m.rcpt_tos]
    text, related = mail.message.get_payload()
    assert text.get_content().splitlines()[1] == SUMMARY
    assert f"Showing the {WINDOW}" in text.get_content()
    html = related.get_payload()[0].get_content()
    assert f'alt="{SUMMARY}"' in html and WINDOW in html


async def test_slack_fallback(notifier, js, results, slack):  # noqa: ANN001
    req = with_summary("slack", slack.settings())
    await publish(js, req)
    assert (await results.result(req.delivery_id)).state == R.DELIVERED
    [attachment] = slack.messages[-1].body["attachments"]
    assert attachment["fallback"] == f"Ada Lovelace shared a snapshot of API latency: {SUMMARY} ({req.chart_url})"
    assert attachment["footer"] == f"chartsnap · {WINDOW}"


async def test_hipchat_flowdock_and_campfire(notifier, js, results, hipchat, flowdock, campfire):  # noqa: ANN001
    for req in (with_summary("hipchat", hipchat.settings()), with_summary("flowdock", flowdock.settings()),
                with_summary("campfire", {**campfire.settings(), "room": "Lobby"})):
        await publish(js, req)
        assert (await results.result(req.delivery_id)).state == R.DELIVERED, req.type
    message = hipchat.messages[-1].body["message"]
    assert SUMMARY in message and f'alt="{SUMMARY}"' in message and WINDOW in message
    content = flowdock.messages[-1].body["content"]
    assert content.splitlines()[1] == SUMMARY and WINDOW in content
    text, _image = campfire.messages[-2:]
    assert SUMMARY in text.body["message"]["body"] and WINDOW in text.body["message"]["body"]
