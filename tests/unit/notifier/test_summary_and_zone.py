"""The one-line data summary (DeliveryRequest.summary) and the snapshot's time
zone (DeliveryRequest.timezone) in what every destination receives: Slack's
fallback, the mail's text part and image alt, HipChat's and Campfire's text,
Flowdock's content; times in the zone when one is set, UTC otherwise. Without
either, every message reads as it did."""

from __future__ import annotations

import email
import email.policy
from html.parser import HTMLParser

import pytest

from chartsnap.v1 import delivery_pb2
from notifier_svc import snapshot_text
from notifier_svc.campfire_notifier import campfire_messages
from notifier_svc.delivery import MAX_SUMMARY, Delivery
from notifier_svc.delivery_messages import delivery_from_request
from notifier_svc.flowdock_notifier import flowdock_payload
from notifier_svc.hipchat_notifier import hipchat_payload
from notifier_svc.mail_notifier import mail_message
from notifier_svc.slack_notifier import slack_payload

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SUMMARY = "queue.depth peaked at 4,210 at 09:32 EST, ended at 380; 3 streams"
END = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC, 17:13 in New York
UTC_WINDOW = "1 hour ending 2023-11-14 22:13 UTC"
NEW_YORK_WINDOW = "1 hour ending 2023-11-14 17:13 EST (America/New_York)"


def delivery(type_: str = "slack", **kw: object) -> Delivery:
    base = dict(delivery_id="12:svc", snapshot_id=12, service_id="svc", type=type_, chart_name="Queue <depth>",
                chart_url="https://charts.example.com/s/1", sender_name="Ada Lovelace",
                sender_email="ada@example.com", message="After the deploy", width=600, height=416,
                image_url="https://img.example.com/chart/abc.png", image_key="chart/abc.png",
                duration=3600, end_time=END)
    return Delivery(**{**base, **kw})


class Images(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.alts: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "img":
            self.alts.append(dict(attrs)["alt"])


def test_the_request_carries_summary_and_zone_into_the_delivery() -> None:
    d = delivery_from_request(delivery_pb2.DeliveryRequest(delivery_id="1:a", summary=SUMMARY,
                                                           timezone="America/New_York"))
    assert (d.summary, d.timezone) == (SUMMARY, "America/New_York")
    assert (delivery_from_request(delivery_pb2.DeliveryRequest(delivery_id="1:a")).summary, d.summary_line) == (
        "", SUMMARY)


@pytest.mark.parametrize(("zone", "window"), [
    ("", UTC_WINDOW), ("UTC", UTC_WINDOW), ("America/New_York", NEW_YORK_WINDOW),
    ("Asia/Kolkata", "1 hour ending 2023-11-15 03:43 IST (Asia/Kolkata)"),
    ("America/Sao_Paulo", "1 hour ending 2023-11-14 19:13 UTC-03:00 (America/Sao_Paulo)"),
    # Not a zone this host knows, or nothing like one: times in UTC, never a failed delivery.
    ("Mars/Olympus_Mons", UTC_WINDOW), ("../../etc/passwd", UTC_WINDOW), ("localtime", UTC_WINDOW),
    ("x" * 500, UTC_WINDOW),
])
def test_times_are_shown_in_the_snapshots_zone(zone: str, window: str) -> None:
    assert delivery(timezone=zone).window == window


def test_summer_time_is_named_as_the_zone_names_it() -> None:
    assert delivery(timezone="America/New_York", end_time=1_690_000_000.0).window == (
        "1 hour ending 2023-07-22 00:26 EDT (America/New_York)")


def test_slack_fallback_is_the_summary_and_the_footer_reads_in_the_zone() -> None:
    [a] = slack_payload(delivery(summary=SUMMARY, timezone="America/New_York"))["attachments"]
    assert a["fallback"] == ("Ada Lovelace shared a snapshot of Queue &lt;depth&gt;: "
                             f"{SUMMARY} (https://charts.example.com/s/1)")
    assert a["footer"] == f"chartsnap · {NEW_YORK_WINDOW}"
    assert a["ts"] == int(END), "Slack shows ts in each reader's own zone"


def test_slack_without_a_summary_is_as_before() -> None:
    [a] = slack_payload(delivery())["attachments"]
    assert a["fallback"] == "Ada Lovelace shared a snapshot of Queue &lt;depth&gt;: https://charts.example.com/s/1"
    assert a["footer"] == f"chartsnap · {UTC_WINDOW}"


def test_slack_escapes_the_summary() -> None:
    [a] = slack_payload(delivery(summary="<!channel> a & b"))["attachments"]
    assert "&lt;!channel&gt; a &amp; b" in a["fallback"] and "<!channel>" not in a["fallback"]


def test_the_mail_text_part_holds_the_summary_and_the_image_alt_is_it() -> None:
    msg = mail_message(delivery("mail", summary=SUMMARY, timezone="America/New_York"), PNG,
                       "chartsnap <snapshots@chartsnap.local>", ["a@example.com"])
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    text, related = parsed.get_payload()
    lines = text.get_content().splitlines()
    assert lines[:2] == ["Ada Lovelace shared a snapshot of Queue <depth>", SUMMARY]
    assert f"Showing the {NEW_YORK_WINDOW}" in lines
    html = related.get_payload()[0].get_content()
    assert Images(html).alts == [SUMMARY]
    assert f"Showing the {NEW_YORK_WINDOW}" in html


def test_the_mail_without_a_summary_is_as_before() -> None:
    msg = mail_message(delivery("mail"), PNG, "chartsnap <snapshots@chartsnap.local>", ["a@example.com"])
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    text, related = parsed.get_payload()
    assert text.get_content().splitlines()[1] == "Snapshot page: https://charts.example.com/s/1"
    assert Images(related.get_payload()[0].get_content()).alts == ["Queue <depth>"]


def test_a_hostile_summary_is_escaped_in_html_and_stays_out_of_headers() -> None:
    hostile = '"><script>alert(1)</script>\r\nBcc: victim@example.com'
    msg = mail_message(delivery("mail", summary=hostile), PNG, "c <c@example.com>", ["a@example.com"])
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert parsed["Bcc"] is None
    html = parsed.get_payload()[1].get_payload()[0].get_content()
    assert "<script>" not in html
    assert Images(html).alts == ['"><script>alert(1)</script> Bcc: victim@example.com']
    body = hipchat_payload(delivery("hipchat", summary=hostile))["message"]
    assert "<script>" not in body and "&lt;script&gt;" in body


def test_hipchat_flowdock_and_campfire_say_the_summary_with_times_in_the_zone() -> None:
    hipchat = hipchat_payload(delivery("hipchat", summary=SUMMARY, timezone="America/New_York"))["message"]
    assert SUMMARY in hipchat and NEW_YORK_WINDOW in hipchat
    assert Images(hipchat).alts == [SUMMARY]
    content = flowdock_payload(delivery("flowdock", summary=SUMMARY, timezone="America/New_York"))["content"]
    assert content.splitlines()[1] == SUMMARY and f"Showing the {NEW_YORK_WINDOW}" in content
    [(_, text), _] = campfire_messages(delivery("campfire", summary=SUMMARY, timezone="America/New_York"))
    body = text["message"]["body"]
    assert SUMMARY in body and NEW_YORK_WINDOW in body and "\n" not in body


def test_without_a_summary_no_destination_says_one() -> None:
    for build in (lambda d: hipchat_payload(d)["message"], lambda d: flowdock_payload(d)["content"],
                  lambda d: campfire_messages(d)[0][1]["message"]["body"], snapshot_text.plain_text):
        words = build(delivery())
        assert UTC_WINDOW in words and "peaked" not in words


def test_a_summary_is_one_bounded_line() -> None:
    d = delivery(summary="peaked at 5\n\nended  at 3\u2028done")
    assert d.summary_line == "peaked at 5 ended at 3 done"
    long = delivery(summary="word " * 1000).summary_line
    assert len(long) <= MAX_SUMMARY and long.endswith("…")
    [(_, text), _] = campfire_messages(delivery("campfire", summary="a\nb"))
    assert "\n" not in text["message"]["body"]
