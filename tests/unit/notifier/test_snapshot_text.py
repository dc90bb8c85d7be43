"""The shared words: headline, plain text, and cutting text to a limit."""

from __future__ import annotations

from html import escape

import pytest

from notifier_svc import snapshot_text
from notifier_svc.delivery import Delivery
from notifier_svc.snapshot_text import ELLIPSIS, fit


def delivery(**kw: object) -> Delivery:
    base = dict(delivery_id="1:s", snapshot_id=1, service_id="s", type="slack", chart_name="CPU",
                chart_url="http://c/1", sender_name="Ada", sender_email="ada@example.com", message="hello",
                image_url="http://i/1.png", duration=3600, end_time=1_455_931_126.0)
    return Delivery(**{**base, **kw})


def test_plain_text_has_every_fact():
    text = snapshot_text.plain_text(delivery())
    assert text.splitlines()[0] == "Ada shared a snapshot of CPU"
    for fact in ("http://c/1", "hello", "http://i/1.png", "1 hour ending 2016-02-20 01:18 UTC"):
        assert fact in text


def test_sender_falls_back_to_email_and_title_to_untitled():
    d = delivery(sender_name=" ", chart_name="")
    assert snapshot_text.headline(d) == "ada@example.com shared a snapshot of Untitled chart"


@pytest.mark.parametrize(("seconds", "words"), [(3600, "1 hour"), (7200, "2 hours"), (86400, "1 day"),
                                                (900, "15 minutes"), (5400, "90 minutes"), (45, "45 seconds")])
def test_window_words(seconds, words):
    assert delivery(duration=seconds).window.startswith(words + " ending")


def test_fit_returns_whole_text_when_it_fits():
    assert fit(100, lambda t: f"<p>{t}</p>", "short") == "<p>short</p>"


def test_fit_cuts_the_text_not_the_frame():
    render = lambda t: f"<p>{escape(t)}</p><img src=x>"  # noqa: E731
    out = fit(60, render, "a & b " * 50)
    assert len(out) <= 60
    assert out.endswith(f"{ELLIPSIS}</p><img src=x>")
    assert "&am" not in out.replace("&amp;", ""), "an escape is never cut in half"


def test_fit_refuses_when_the_frame_alone_is_too_long():
    with pytest.raises(ValueError):
        fit(5, lambda t: f"<p>{t}</p>", "x")
