"""Each destination type, end to end: a DeliveryRequest on NATS, the notifier
in-process, the vendor peer receiving exactly one message with the facts."""

from __future__ import annotations

import pytest

from tests.integration.notifier.harness import R, delivery_request, publish

pytestmark = pytest.mark.timeout(30)


async def test_mail_carries_text_html_and_the_stored_png_inline(notifier, js, results, smtp_peer, stored_png):
    key, png = stored_png
    req = delivery_request("mail", {"addresses": "ops@example.com, Grace Hopper <grace@example.com>"},
                           image_key=key)
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts, result.error) == (R.DELIVERED, 1, "")
    assert (result.snapshot_id, result.service_id) == (req.snapshot_id, req.service_id)

    [mail] = smtp_peer.messages
    assert sorted(mail.rcpt_tos) == ["grace@example.com", "ops@example.com"]
    assert mail.mail_from == "snapshots@chartsnap.local"
    msg = mail.message
    assert "API latency" in msg["Subject"]
    assert msg.get_content_type() == "multipart/alternative"
    text, related = msg.get_payload()
    assert text.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html, image = related.get_payload()
    body = text.get_content()
    for fact in ("Ada Lovelace", "API latency", req.chart_url, req.message, req.image_url):
        assert fact in body
    html_body = html.get_content()
    assert html.get_content_type() == "text/html"
    for fact in ("Ada Lovelace", "API latency", f'href="{req.chart_url}"', req.message, req.image_url):
        assert fact in html_body
    assert image.get_content_type() == "image/png"
    assert image.get_content() == png, "the inline image is the stored object"
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html_body


async def test_slack_gets_one_attachment(notifier, js, results, slack):
    req = delivery_request("slack", slack.settings())
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.DELIVERED, 1)
    [received] = slack.messages
    [attachment] = received.body["attachments"]
    assert attachment["author_name"] == "Ada Lovelace"
    assert attachment["title"] == "API latency"
    assert attachment["title_link"] == req.chart_url
    assert attachment["image_url"] == req.image_url
    assert attachment["text"] == req.message
    assert "API latency" in attachment["fallback"]


async def test_hipchat_gets_an_html_notification_with_the_image(notifier, js, results, hipchat):
    req = delivery_request("hipchat", {**hipchat.settings(), "from": "Chart Bot", "notify": "1"})
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.DELIVERED, 1)
    [received] = hipchat.messages
    [request] = hipchat.requests_to("notification")
    assert request.headers["Authorization"] == f"Bearer {hipchat.token}"
    assert received.room == hipchat.room_id
    body = received.body
    assert body["message_format"] == "html"
    assert body["notify"] is True
    assert body["from"] == "Chart Bot"
    assert body["color"] == "gray"
    assert f'<img src="{req.image_url}"' in body["message"]
    assert f'<a href="{req.chart_url}">' in body["message"]
    assert "Ada Lovelace" in body["message"] and req.message in body["message"]


async def test_hipchat_notify_off(notifier, js, results, hipchat):
    req = delivery_request("hipchat", {**hipchat.settings(), "notify": "0"})
    await publish(js, req)
    assert (await results.result(req.delivery_id)).state == R.DELIVERED
    assert hipchat.messages[0].body["notify"] is False


async def test_flowdock_gets_one_chat_message(notifier, js, results, flowdock):
    req = delivery_request("flowdock", {**flowdock.settings(), "user_name": "grafbot"})
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.DELIVERED, 1)
    [received] = flowdock.messages
    assert received.credential == flowdock.token
    assert received.body["external_user_name"] == "grafbot"
    content = received.body["content"]
    for fact in ("Ada Lovelace", "API latency", req.chart_url, req.message, req.image_url):
        assert fact in content


async def test_flowdock_user_name_defaults_to_chartsnap(notifier, js, results, flowdock):
    settings = {k: v for k, v in flowdock.settings().items() if k != "user_name"}
    req = delivery_request("flowdock", settings)
    await publish(js, req)
    assert (await results.result(req.delivery_id)).state == R.DELIVERED
    assert flowdock.messages[0].body["external_user_name"] == "chartsnap"


async def test_campfire_finds_the_room_by_name_and_speaks_text_then_image(notifier, js, results, campfire):
    req = delivery_request("campfire", {**campfire.settings(), "room": "Lobby"})
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.DELIVERED, 1)
    assert [r.endpoint for r in campfire.requests] == ["rooms", "speak", "speak"]
    text, image = campfire.messages
    assert text.room == image.room == "630292"
    assert text.body["message"]["type"] == "TextMessage"
    for fact in ("Ada Lovelace", "API latency", req.chart_url, req.message):
        assert fact in text.body["message"]["body"]
    assert image.body["message"]["body"] == req.image_url
    assert text.credential == campfire.token
