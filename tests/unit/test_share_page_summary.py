"""The share page's image in words: the snapshot's one-line data summary is
the alt text of the image and of its unfurl tags (escaped: the summary
quotes metric names and labels users chose); without one, the chart's name
and window, as before."""

from __future__ import annotations

from gateway.share_page_html import MAX_ALT, shared_page
from tests.unit.test_share_page import PAGE_URL, Parsed, State, shared

SUMMARY = "queue.depth peaked at 4,210 at 14:32 UTC, ended at 380; 3 streams"
HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)> & \'q\''


def alts(html: str) -> tuple[list[str], list[str], list[str]]:
    parsed = Parsed(html)
    return ([a["alt"] for a in parsed.all("img")], parsed.meta("og:image:alt"), parsed.meta("twitter:image:alt"))


def test_the_summary_is_the_images_alt_text_everywhere() -> None:
    page = shared_page(shared(summary=SUMMARY), PAGE_URL)
    assert alts(page.html) == ([SUMMARY], [SUMMARY], [SUMMARY])


def test_without_a_summary_the_alt_text_is_the_chart_and_its_window() -> None:
    for summary in ("", "  \n "):
        expected = "API latency, 2025-12-02 13:00 – 14:00 UTC (1 hour)"
        assert alts(shared_page(shared(summary=summary), PAGE_URL).html) == ([expected], [expected], [expected])


def test_a_hostile_summary_is_escaped_and_read_back_whole() -> None:
    page = shared_page(shared(summary=HOSTILE), PAGE_URL)
    parsed = Parsed(page.html)
    assert parsed.all("script") == [] and "<script" not in page.html
    assert all("onerror" not in attrs for _, attrs in parsed.tags)
    assert alts(page.html) == ([HOSTILE], [HOSTILE], [HOSTILE])


def test_a_summary_on_several_lines_or_too_long_is_one_bounded_line() -> None:
    assert alts(shared_page(shared(summary="peaked at 5\nended at 3"), PAGE_URL).html)[0] == [
        "peaked at 5 ended at 3"]
    [alt], _, _ = alts(shared_page(shared(summary="x" * 5000), PAGE_URL).html)
    assert len(alt) == MAX_ALT and alt.endswith("…")


def test_a_snapshot_not_drawn_yet_shows_no_image_whatever_its_summary() -> None:
    page = shared_page(shared(state=State.PENDING, image_url="", summary=SUMMARY), PAGE_URL)
    assert alts(page.html) == ([], [], [])
