"""A snapshot's public share page through the gateway: no credentials, found by
its token only (never by the numeric id), unfurl tags naming the real PNG and
its size, and the link every delivered message carries. Then the page in a
real headless Chromium: it loads, the image is visible at its size, the meta
tags name the image.

With CHARTSNAP_WRITE_SCREENSHOTS=1 the browser test also writes
docs/images/share-page.png and docs/images/sample-snapshot.png (the README's
pictures); without it, it writes nothing."""

from __future__ import annotations

import io
import math
import os
import re
import secrets
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests
from PIL import Image

from chartsnap.image_keys import SHARE_PATH
from tests.e2e.api_client import Api, fetch_png, has_color

pytestmark = [pytest.mark.stack, pytest.mark.timeout(180)]

LINE_COLOR = "#1f77b4"
HOSTILE_NAME = "API <script>alert('name')</script> \"latency\" & co"
HOSTILE_MESSAGE = "p99 up after the 14:05 deploy <img src=x onerror=alert(1)> </blockquote><script>x()</script>"
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
WRITE_SCREENSHOTS = os.environ.get("CHARTSNAP_WRITE_SCREENSHOTS") == "1"


class Tags(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def meta(self, key: str) -> str | None:
        found = [a["content"] for t, a in self.tags if t == "meta" and (a.get("property") or a.get("name")) == key]
        assert len(found) <= 1, (key, found)
        return found[0] if found else None


def take_snapshot(api: Api, name: str = "API latency", message: str = "p99 after the deploy",
                  services: list[str] | None = None) -> tuple[dict, dict]:
    """A complete snapshot of a line chart with a visible line: (snapshot, job)."""
    now = int(time.time())
    metric = f"latency.p99.{secrets.token_hex(4)}"
    batch = [{"name": metric, "value": 120 + 60 * math.sin(t / 500) + (t % 7), "time": t}
             for t in range(now - 3600, now, 30)]
    assert api.post("/v1/measurements", json={"measurements": batch}).status_code == 202
    _, chart_id = api.make_chart(name, "line", [{"metric": metric, "color": LINE_COLOR, "name": "p99"}])
    created = api.post("/v1/snapshots", json={"subject": {"chart": {"id": chart_id, "type": "line"}},
                                              "message": message, "services": services or []})
    assert created.status_code == 202, created.text
    snap = created.json()
    job = api.wait_for_job(snap["job_href"])
    assert job["state"] == "complete", job
    return api.get(snap["href"]).json(), job


@pytest.fixture(scope="module")
def shared(api: Api) -> tuple[dict, dict]:
    return take_snapshot(api, HOSTILE_NAME, HOSTILE_MESSAGE)


def test_the_share_page_needs_no_credentials_and_unfurls_with_the_png(api: Api, shared) -> None:  # noqa: ANN001
    snap, job = shared
    share_href, image_href = snap["share_href"], job["output"]["image_href"]
    assert share_href.startswith(f"{api.base}{SHARE_PATH}") and image_href == snap["image_href"]
    assert re.fullmatch(r"[a-z0-9]{16}-%d" % snap["id"], share_href.rsplit("/", 1)[1])

    page = requests.get(share_href, timeout=30)  # no auth
    assert page.status_code == 200, page.text[:300]
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"].startswith("public")
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'none'" in csp

    tags = Tags(page.text)
    png = fetch_png(tags.meta("og:image"))
    assert tags.meta("og:image") == image_href == tags.meta("twitter:image")
    assert (int(tags.meta("og:image:width")), int(tags.meta("og:image:height"))) == png.size == (600, 416)
    assert tags.meta("og:url") == share_href and tags.meta("og:title") == HOSTILE_NAME
    assert tags.meta("twitter:card") == "summary_large_image"
    assert tags.meta("og:description")
    [img] = [a for t, a in tags.tags if t == "img"]
    assert (img["src"], img["width"], img["height"]) == (image_href, "600", "416")

    # What the user typed is shown as text, never as markup.
    assert [t for t, _ in tags.tags if t == "script"] == []
    text = " ".join(tags.text)
    assert HOSTILE_NAME in text and HOSTILE_MESSAGE in text
    assert "Test Person" in text and api.email not in page.text  # who took it, by name: never the login e-mail
    assert "UTC" in text

    head = requests.head(share_href, timeout=30)
    assert head.status_code == 200 and head.headers["Content-Type"].startswith("text/html")


def test_only_the_whole_token_finds_the_page(api: Api, shared) -> None:  # noqa: ANN001
    snap, _ = shared
    token = snap["share_href"].rsplit("/", 1)[1]
    random_part = token.split("-")[0]
    guesses = [
        str(snap["id"]),                                    # the numeric id
        f"{secrets.token_hex(8)}-{snap['id']}",             # a guessed secret with the right id
        f"{random_part[:-1]}{'a' if random_part[-1] != 'a' else 'b'}-{snap['id']}",  # one character off
        f"{random_part}-{snap['id'] + 1}",                  # the right secret, another id
        token.upper(), f"{token}.png", f"{random_part}", "%2e%2e%2fv1%2fsnapshots", "x" * 3000,
    ]
    for guess in guesses:
        page = requests.get(f"{api.base}{SHARE_PATH}{guess}", timeout=30)
        assert page.status_code == 404, (guess, page.status_code)
        assert page.headers["Content-Type"] == "text/html; charset=utf-8", guess
        assert "Snapshot not found" in page.text and snap["image_href"] not in page.text
        assert page.headers["Cache-Control"] == "no-store"
    # Credentials change nothing: the page is the token's, not the account's.
    assert requests.get(f"{api.base}{SHARE_PATH}{snap['id']}", auth=(api.email, api.token),
                        timeout=30).status_code == 404
    assert requests.get(f"{api.base}{SHARE_PATH}{token}/", timeout=30).status_code == 404


def test_a_delivered_message_links_to_the_share_page(api: Api, peers) -> None:  # noqa: ANN001
    mail_to = f"share-{secrets.token_hex(4)}@example.com"
    services = []
    for kind, settings in (("mail", {"addresses": mail_to}), ("slack", peers.slack.settings())):
        created = api.post("/v1/services", json={"title": f"{kind} share room", "type": kind, "settings": settings})
        assert created.status_code == 201, created.text
        services.append(created.json()["id"])
    snap, job = take_snapshot(api, "Checkout errors", "look at this", services)
    assert [o["state"] for o in job["output"]["services"]] == ["delivered", "delivered"], job
    share_href = snap["share_href"]

    [mail] = [m for m in peers.smtp.messages if mail_to in m.rcpt_tos]
    assert share_href in mail.message.get_body(("plain",)).get_content()
    assert f'href="{share_href}"' in mail.message.get_body(("html",)).get_content()
    assert "/v1/spaces/" not in mail.message.get_body(("plain",)).get_content()

    [slack] = [m for m in peers.slack.messages if share_href in str(m.body)]
    [attachment] = [a for a in slack.body["attachments"] if a.get("title_link")]
    assert attachment["title_link"] == share_href
    assert requests.get(share_href, timeout=30).status_code == 200  # the link works for whoever got it


def test_the_page_in_a_real_browser_shows_the_image_at_its_size(api: Api, stack, shared) -> None:  # noqa: ANN001
    from render_svc.chromium_driver import start_chromium

    snap, job = shared
    browser = start_chromium(window_size=BROWSER_WINDOW)
    try:
        driver = browser.driver
        driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT)
        check_in_browser(driver, snap["share_href"], job["output"]["image_href"], HOSTILE_NAME)
        if WRITE_SCREENSHOTS:
            # The README's pictures, of a snapshot in plain words (the test's
            # own is full of markup on purpose).
            email, token = add_named_account(stack, "ada@example.com", "Ada Lovelace")
            nice, nice_job = take_snapshot(Api(api.base, email, token), "API latency (p99)",
                                           "p99 climbed after the deploy; rolled back, back to normal since.")
            check_in_browser(driver, nice["share_href"], nice_job["output"]["image_href"], "API latency (p99)")
            DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
            (DOCS_IMAGES / "sample-snapshot.png").write_bytes(
                requests.get(nice_job["output"]["image_href"], timeout=30).content)
            # The whole page, footer included.
            page_height, viewport = driver.execute_script(
                "return [document.documentElement.scrollHeight, window.innerHeight]")
            window = driver.get_window_size()
            driver.set_window_size(window["width"], window["height"] - viewport + page_height)
            driver.save_screenshot(str(DOCS_IMAGES / "share-page.png"))
    finally:
        browser.quit()


BROWSER_WINDOW = (1000, 900)
PAGE_LOAD_TIMEOUT = 30   # seconds: the page and its image, from a local gateway and store
IMAGE_DECODE_TIMEOUT = 10


def check_in_browser(driver, share_href: str, image_href: str, chart_name: str) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(share_href)
    image = driver.find_element(By.TAG_NAME, "img")
    # `get` returns once the page has loaded; the image may still be decoding.
    WebDriverWait(driver, IMAGE_DECODE_TIMEOUT).until(
        lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", image))
    natural = driver.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", image)
    assert natural == [600, 416]
    assert image.is_displayed()
    box = driver.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.width, r.height]", image)
    assert box == [600, 416], "shown at its own size in a 1000 px window"
    og_image = driver.execute_script("return document.querySelector('meta[property=\"og:image\"]').content")
    assert og_image == image_href
    assert driver.execute_script("return document.scripts.length") == 0
    assert driver.title.startswith(chart_name)  # the name as text, not as markup
    assert driver.find_element(By.TAG_NAME, "h1").text == chart_name
    # What the browser drew: the chart's line is on the screen.
    shot = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    assert has_color(shot, LINE_COLOR, min_pixels=200), "no chart line in the page's screenshot"


def add_named_account(stack, email: str, name: str) -> tuple[str, str]:  # noqa: ANN001
    """An account with a real-looking name, made with the real CLI (the token is its last line)."""
    out = subprocess.run([sys.executable, "-m", "snapshot_svc.admin_cli", "user", "add", email, "--name", name],
                         env={**os.environ, **stack.env}, capture_output=True, text=True, check=True, timeout=60)
    return email, out.stdout.strip().splitlines()[-1]
