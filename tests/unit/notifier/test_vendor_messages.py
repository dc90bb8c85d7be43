"""What each destination type builds from a Delivery: content, escaping and
size caps. No network here."""

from __future__ import annotations

import email
import email.policy

import pytest

from notifier_svc.campfire_notifier import campfire_messages
from notifier_svc.delivery import Delivery
from notifier_svc.flowdock_notifier import MAX_CONTENT, flowdock_payload
from notifier_svc.hipchat_notifier import MAX_MESSAGE, hipchat_payload
from notifier_svc.mail_notifier import mail_message, parse_addresses
from notifier_svc.notifier import PermanentDeliveryError
from notifier_svc.slack_notifier import slack_payload

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def delivery(type_: str = "slack", **kw: object) -> Delivery:
    base = dict(delivery_id="12:svc", snapshot_id=12, service_id="svc", type=type_, chart_name="Errors <5xx>",
                chart_url="https://charts.example.com/s/1?c=2&d=3", sender_name="Ada Lovelace",
                sender_email="ada@example.com", message="Spike & dip at 10:00", width=600, height=416,
                image_url="https://img.example.com/chart/abc.png", image_key="chart/abc.png",
                duration=3600, end_time=1_455_931_126.0)
    return Delivery(**{**base, **kw})


# -- slack ------------------------------------------------------------------

def test_slack_attachment_fields():
    payload = slack_payload(delivery())
    [a] = payload["attachments"]
    assert a["author_name"] == "Ada Lovelace"
    assert a["title"] == "Errors &lt;5xx&gt;"
    assert a["title_link"] == "https://charts.example.com/s/1?c=2&d=3", "links are not escaped"
    assert a["image_url"] == "https://img.example.com/chart/abc.png"
    assert a["text"] == "Spike &amp; dip at 10:00"
    assert "Ada Lovelace shared a snapshot of Errors &lt;5xx&gt;" in a["fallback"]
    assert a["ts"] == 1_455_931_126
    assert payload["text"]


def test_slack_without_message_has_empty_text():
    assert slack_payload(delivery(message=""))["attachments"][0]["text"] == ""


# -- hipchat ----------------------------------------------------------------

def test_hipchat_payload():
    body = hipchat_payload(delivery("hipchat", settings={"from": "Graphs", "notify": "1"}))
    assert body["message_format"] == "html"
    assert body["notify"] is True and body["from"] == "Graphs" and body["color"] == "gray"
    msg = body["message"]
    assert '<a href="https://charts.example.com/s/1?c=2&amp;d=3"><strong>Errors &lt;5xx&gt;</strong></a>' in msg
    assert '<img src="https://img.example.com/chart/abc.png"' in msg
    assert "Spike &amp; dip" in msg


def test_hipchat_defaults():
    body = hipchat_payload(delivery("hipchat", settings={"notify": "0", "color": "chartreuse"}))
    assert body["notify"] is False and body["color"] == "gray" and body["from"] == "chartsnap"


def test_hipchat_cuts_the_text_and_keeps_link_and_image():
    body = hipchat_payload(delivery("hipchat", message="<b>&</b> " * 3000))
    msg = body["message"]
    assert len(msg) <= MAX_MESSAGE
    assert msg.endswith('<img src="https://img.example.com/chart/abc.png" alt="Errors &lt;5xx&gt;"></a>')
    assert '<a href="https://charts.example.com/s/1?c=2&amp;d=3">' in msg
    assert "…" in msg


# -- flowdock ---------------------------------------------------------------

def test_flowdock_payload():
    body = flowdock_payload(delivery("flowdock", settings={"user_name": "graphs"}))
    assert body["external_user_name"] == "graphs"
    for fact in ("Ada Lovelace", "Errors <5xx>", "https://charts.example.com/s/1?c=2&d=3", "Spike & dip",
                 "https://img.example.com/chart/abc.png"):
        assert fact in body["content"]


def test_flowdock_defaults_and_cap():
    body = flowdock_payload(delivery("flowdock", message="word " * 4000))
    assert body["external_user_name"] == "chartsnap"
    assert len(body["content"]) <= MAX_CONTENT
    assert body["content"].endswith("Image: https://img.example.com/chart/abc.png")


# -- campfire ---------------------------------------------------------------

def test_campfire_says_text_then_image():
    (step1, text), (step2, image) = campfire_messages(delivery("campfire"))
    assert (step1, step2) == ("text", "image")
    assert text["message"]["type"] == "TextMessage"
    body = text["message"]["body"]
    assert "\n" not in body, "one line stays a TextMessage"
    for fact in ("Ada Lovelace", "Errors <5xx>", "https://charts.example.com/s/1?c=2&d=3", "Spike & dip"):
        assert fact in body
    assert image == {"message": {"type": "TextMessage", "body": "https://img.example.com/chart/abc.png"}}


# -- mail -------------------------------------------------------------------

def test_mail_structure_and_inline_image():
    msg = mail_message(delivery("mail"), PNG, "chartsnap <snapshots@chartsnap.local>",
                       ["a@example.com", "b@example.com"])
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "Snapshot of Errors <5xx> from Ada Lovelace"
    assert parsed["To"] == "a@example.com, b@example.com"
    assert parsed["Reply-To"] == "Ada Lovelace <ada@example.com>"
    assert parsed.get_content_type() == "multipart/alternative"
    text, related = parsed.get_payload()
    assert text.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html, image = related.get_payload()
    assert image.get_content_type() == "image/png" and image.get_content() == PNG
    assert image.get_content_disposition() == "inline"
    cid = image["Content-ID"].strip("<>")
    html_body = html.get_content()
    assert f'src="cid:{cid}"' in html_body
    assert 'href="https://img.example.com/chart/abc.png"' in html_body
    assert "Errors &lt;5xx&gt;" in html_body and "Spike &amp; dip" in html_body
    assert "https://img.example.com/chart/abc.png" in text.get_content()


def test_mail_message_id_is_stable_per_delivery():
    a = mail_message(delivery("mail"), PNG, "x <x@example.com>", ["a@example.com"])
    b = mail_message(delivery("mail"), PNG, "x <x@example.com>", ["a@example.com"])
    c = mail_message(delivery("mail", delivery_id="13:svc"), PNG, "x <x@example.com>", ["a@example.com"])
    assert a["Message-ID"] == b["Message-ID"] != c["Message-ID"]


def test_addresses_are_split_trimmed_and_deduplicated():
    assert parse_addresses(" a@example.com,b@example.com , Ada <a@example.com>,, ") == ["a@example.com", "b@example.com"]


@pytest.mark.parametrize("value", ["", " , ", "not-an-address", "a@example.com, bob@", "x@localhost"])
def test_bad_addresses_are_permanent(value):
    with pytest.raises(PermanentDeliveryError):
        parse_addresses(value)


@pytest.mark.parametrize("name", ["a\r\nBcc: evil@x", "a\nBcc: evil@x", "a\rBcc: evil@x", "a\x00\x1b\u2028Bcc: evil@x",
                                  "a\u0085Bcc: evil@x"])
def test_a_chart_name_cannot_add_a_mail_header(name):
    import email
    import email.policy

    d = Delivery(delivery_id="1:a", snapshot_id=1, service_id="a", type="mail", chart_name=name,
                 sender_name="Eve\r\nX-Evil: 1", sender_email="eve@example.com")
    raw = mail_message(d, b"png", "chartsnap <s@c.local>", ["ops@example.com"]).as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert parsed["Subject"] == "Snapshot of a Bcc: evil@x from Eve X-Evil: 1"


def test_a_long_subject_is_bounded():
    from notifier_svc.snapshot_text import MAX_HEADER_TEXT, subject

    d = Delivery(delivery_id="1:a", snapshot_id=1, service_id="a", type="mail", chart_name="x" * 5000)
    assert len(subject(d)) == MAX_HEADER_TEXT and subject(d).endswith("…")
