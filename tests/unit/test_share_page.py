"""The share page: the token rule (chartsnap.image_keys) and its HTML
(gateway.share_page_html) — escaping, the unfurl tags, each state."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from chartsnap import errors, image_keys
from chartsnap.v1 import snapshots_pb2
from gateway import share_page_html
from gateway.share_page_html import STYLE_HASH, shared_page, window_text
from snapshot_svc.snapshots import (SHARE_FAILED, SHARE_PENDING, SHARE_RENDERED, SnapshotInput, SnapshotStore,
                                    validate)

State = snapshots_pb2.SharedSnapshot
IMAGE_URL = "http://127.0.0.1:9000/chartsnap/chart/abcdefghij012345-42.png"
PAGE_URL = "http://gw.example/s/abcdefghij012345-42"


# -- the token ------------------------------------------------------------------
def test_a_new_key_round_trips_through_its_share_token() -> None:
    for snapshot_id in (1, 42, 10**17):
        key = image_keys.new_image_key(snapshot_id)
        token = image_keys.share_token(key)
        assert re.fullmatch(rf"[a-z0-9]{{16}}-{snapshot_id}", token)
        assert image_keys.is_share_token(token)
        assert image_keys.image_key_of(token) == key
        assert image_keys.share_url("https://charts.example/", key) == f"https://charts.example/s/{token}"


@pytest.mark.parametrize("token", [
    "42", "1", "0",                                      # a numeric id is never a token
    "abcdefghij012345", "abcdefghij012345-",             # no id
    "abcdefghij01234-42", "abcdefghij0123456-42",        # 15 and 17 random characters
    "ABCDEFGHIJ012345-42", "abcdefghij01234_-42",        # outside the alphabet
    "abcdefghij012345-042", "abcdefghij012345-0",        # not an id as keys spell it
    "abcdefghij012345-1234567890123456789",              # 19 digits
    "abcdefghij012345-42.png", "chart/abcdefghij012345-42", "abcdefghij012345-42/",
    "abcdefghij012345-42\n", " abcdefghij012345-42", "abcdefghij012345-4２",  # newline, space, fullwidth digit
    "../../chart/abcdefghij012345-42", "abcdefghij012345-42%00", "", "a" * 10_000,
])
def test_anything_else_is_not_a_token(token: str) -> None:
    assert not image_keys.is_share_token(token)
    with pytest.raises(ValueError):
        image_keys.image_key_of(token)


@pytest.mark.parametrize("key", ["pending/0123abcd", "chart/abc-1.png", "chart/abcdefghij012345-42.jpg",
                                 "xchart/abcdefghij012345-42.png", "chart/abcdefghij012345-42.png.png"])
def test_only_keys_made_by_new_image_key_have_a_share_token(key: str) -> None:
    with pytest.raises(ValueError):
        image_keys.share_token(key)


# -- the page -------------------------------------------------------------------
HOSTILE = "<script>alert('x')</script> \"quoted\" & 'single' </title><img src=x onerror=alert(1)>"


def shared(**fields) -> snapshots_pb2.SharedSnapshot:  # noqa: ANN003
    snap = snapshots_pb2.SharedSnapshot(
        token="abcdefghij012345-42", state=State.RENDERED, image_url=IMAGE_URL, width=600, height=416,
        chart_name="API latency", chart_id=7, chart_type="line", duration=3600,
        taken_by_name="Ada Lovelace", message="Deploy at 14:05\nrolled back")
    snap.end_time.FromSeconds(1_764_684_000)     # 2025-12-02 14:00:00 UTC
    snap.created_at.FromSeconds(1_764_684_012)
    for name, value in fields.items():
        setattr(snap, name, value)
    return snap


class Parsed(HTMLParser):
    """The tags of a page, as a browser's parser sees them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def meta(self, key: str) -> list[str]:
        return [a["content"] for t, a in self.tags if t == "meta" and (a.get("property") or a.get("name")) == key]

    def all(self, tag: str) -> list[dict]:
        return [a for t, a in self.tags if t == tag]


def test_a_rendered_snapshot_has_every_unfurl_tag_naming_the_png_and_its_size() -> None:
    page = shared_page(shared(), PAGE_URL)
    assert page.status == 200
    parsed = Parsed(page.html)
    assert parsed.meta("og:image") == [IMAGE_URL] and parsed.meta("twitter:image") == [IMAGE_URL]
    assert parsed.meta("og:image:width") == ["600"] and parsed.meta("og:image:height") == ["416"]
    assert parsed.meta("og:image:type") == ["image/png"]
    assert parsed.meta("og:title") == ["API latency"] and parsed.meta("og:url") == [PAGE_URL]
    assert parsed.meta("twitter:card") == ["summary_large_image"]
    [description] = parsed.meta("og:description")
    assert description.startswith("Deploy at 14:05 rolled back · 2025-12-02 13:00 – 14:00 UTC (1 hour)")
    [img] = parsed.all("img")
    assert (img["src"], img["width"], img["height"]) == (IMAGE_URL, "600", "416") and img["alt"]
    text = " ".join(parsed.text)
    for fact in ("API latency", "Taken by", "Ada Lovelace", "2025-12-02 14:00:12 UTC",
                 "2025-12-02 13:00 – 14:00 UTC (1 hour)", "Deploy at 14:05\nrolled back"):
        assert fact in text, fact
    assert parsed.all("script") == [] and "<script" not in page.html
    assert page.cache_control.startswith("public")


def test_everything_a_user_gave_is_escaped_in_text_and_attributes() -> None:
    page = shared_page(shared(chart_name=HOSTILE, message=HOSTILE, taken_by_name=HOSTILE), PAGE_URL)
    parsed = Parsed(page.html)
    assert parsed.all("script") == [] and "<script" not in page.html
    assert [a for a in parsed.all("img") if a.get("src") == "x"] == []  # no injected tag
    assert all("onerror" not in attrs for _, attrs in parsed.tags)
    assert parsed.meta("og:title") == [HOSTILE]  # the very text, back through the parser
    assert parsed.text.count(HOSTILE) >= 2  # the heading and the message
    assert "</title><img" not in page.html


def test_a_snapshot_not_drawn_yet_refreshes_itself_and_promises_no_image() -> None:
    page = shared_page(shared(state=State.PENDING, image_url=""), PAGE_URL)
    parsed = Parsed(page.html)
    refresh = [a["content"] for a in parsed.all("meta") if a.get("http-equiv") == "refresh"]
    assert refresh == [str(share_page_html.REFRESH_SECONDS)]
    assert parsed.all("img") == [] and parsed.meta("og:image") == [] and parsed.meta("twitter:image") == []
    assert "still being drawn" in page.html
    assert page.cache_control == "no-store"
    assert "img-src 'none'" in page.content_security_policy


def test_a_failed_snapshot_says_so_and_does_not_refresh() -> None:
    page = shared_page(shared(state=State.FAILED, image_url=""), PAGE_URL)
    parsed = Parsed(page.html)
    assert "could not be drawn" in page.html
    assert [a for a in parsed.all("meta") if a.get("http-equiv") == "refresh"] == []
    assert parsed.all("img") == []


def test_the_csp_allows_no_script_and_only_the_page_s_own_style_and_image_origin() -> None:
    page = shared_page(shared(), PAGE_URL)
    csp = dict(d.strip().split(" ", 1) for d in page.content_security_policy.split(";"))
    assert csp["default-src"] == "'none'" and "script-src" not in csp
    assert csp["img-src"] == "http://127.0.0.1:9000"
    assert csp["style-src"] == f"'{STYLE_HASH}'"
    assert csp["frame-ancestors"] == "'none'" and csp["base-uri"] == "'none'"
    [style] = re.findall(r"<style>(.*?)</style>", page.html, re.S)
    assert style == share_page_html.STYLE


def test_an_image_origin_that_could_break_the_policy_is_not_named() -> None:
    assert share_page_html.image_origin("http://img.example:9000/x.png") == "http://img.example:9000"
    assert share_page_html.image_origin("http://a; script-src *@b/x.png") is None
    assert share_page_html.image_origin("javascript:alert(1)") is None


@pytest.mark.parametrize(("end", "duration", "words"), [
    (1_764_684_000, 3600, "2025-12-02 13:00 – 14:00 UTC (1 hour)"),
    (1_764_684_000, 5400, "2025-12-02 12:30 – 14:00 UTC (1 hour 30 minutes)"),
    (1_764_684_000, 86_400 * 7, "2025-11-25 14:00 – 2025-12-02 14:00 UTC (7 days)"),
    (1_764_684_037, 60, "2025-12-02 13:59:37 – 14:00:37 UTC (1 minute)"),
])
def test_the_window_reads_in_utc(end: int, duration: int, words: str) -> None:
    assert window_text(end, duration) == words


def test_who_took_it_without_a_name_is_no_one_in_particular() -> None:
    page = shared_page(shared(taken_by_name=""), PAGE_URL)
    assert f"<dd>{share_page_html.ANONYMOUS_TAKER}</dd>" in page.html
    assert "Shared by" not in Parsed(page.html).meta("og:description")[0]  # the message leads


def test_the_description_is_cut_for_unfurls() -> None:
    page = shared_page(shared(message="m" * 5000), PAGE_URL)
    [description] = Parsed(page.html).meta("og:description")
    assert len(description) <= share_page_html.MAX_DESCRIPTION and description.endswith("…")


@pytest.mark.parametrize("page", [share_page_html.not_found_page(), share_page_html.unavailable_page(),
                                  share_page_html.too_many_guesses_page(30)])
def test_notice_pages_are_html_and_never_cached(page: share_page_html.Page) -> None:
    assert page.status in (404, 429, 503) and page.cache_control == "no-store"
    assert page.html.startswith("<!doctype html>") and "<script" not in page.html
    assert (page.retry_after is not None) == (page.status != 404)


# -- the store: SnapshotStore.shared, chart_name and request_id ------------------
NOW = 1_700_000_000.0


def _store_snapshot(db_engine, acct, **create):  # noqa: ANN001, ANN003, ANN201
    store = SnapshotStore(db_engine)
    valid = validate(SnapshotInput(chart_id=5, chart_type="line", message="hi <b>"), NOW)
    return store, store.create(acct, valid, NOW, **create)


def test_chart_name_and_request_id_are_stored_and_read_back(db_engine, acct) -> None:  # noqa: ANN001
    store, snap = _store_snapshot(db_engine, acct, chart_name="API latency", request_id="req-123")
    assert (snap["chart_name"], snap["request_id"]) == ("API latency", "req-123")
    got = store.get(acct, snap["id"])
    assert (got["chart_name"], got["request_id"]) == ("API latency", "req-123")
    assert got["share_token"] == snap["share_token"] == image_keys.share_token(snap["assigned_image_key"])


def test_a_share_token_finds_its_snapshot_in_each_state(db_engine, acct) -> None:  # noqa: ANN001
    store, snap = _store_snapshot(db_engine, acct, chart_name="API latency")
    key = snap["assigned_image_key"]
    shared = store.shared(key)
    assert (shared["state"], shared["image_key"], shared["share_token"]) == (SHARE_PENDING, None, snap["share_token"])
    assert (shared["chart_name"], shared["message"], shared["taken_by_name"]) == ("API latency", "hi <b>", "Owner")
    assert "owner@example.com" not in repr(shared), "the page is public: never the account's e-mail"
    store.render_succeeded(snap["id"], key, NOW + 1)
    assert (store.shared(key)["state"], store.shared(key)["image_key"]) == (SHARE_RENDERED, key)

    _, other = _store_snapshot(db_engine, acct)
    store.render_failed(other["id"], "boom", NOW + 1)
    failed = store.shared(other["assigned_image_key"])
    assert failed["state"] == SHARE_FAILED and failed["chart_name"] == "Chart 5"  # taken before names were kept


def test_an_unknown_key_or_a_near_miss_is_not_found(db_engine, acct) -> None:  # noqa: ANN001
    store, snap = _store_snapshot(db_engine, acct)
    key = snap["assigned_image_key"]
    near = key.replace(key[6], "0" if key[6] != "0" else "1", 1)
    for wrong in (near, key.upper(), image_keys.new_image_key(snap["id"])):
        with pytest.raises(errors.NotFound):
            store.shared(wrong)


def test_a_logged_path_never_holds_the_share_secret() -> None:
    token = image_keys.share_token(image_keys.new_image_key(42))
    assert image_keys.loggable_path(f"/s/{token}") == "/s/…-42"
    assert image_keys.loggable_path("/s/anything-else") == "/s/…"
    assert image_keys.loggable_path("/v1/snapshots/42") == "/v1/snapshots/42"
