"""The interactive API docs at /docs, through the live gateway: over HTTP (the
page, its local assets, their types and cache headers, no traversal, no
credentials and no rate limit), and in a real headless Chromium through
selenium (the operations render, "Try it out" works with Basic auth, and the
browser asked no host but the gateway)."""

from __future__ import annotations

import base64
import http.client
import json
import re
import shutil
import tempfile
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.api_client import Api

pytestmark = [pytest.mark.stack, pytest.mark.timeout(180)]

URL_ATTRIBUTE = re.compile(r'(?:src|href)="([^"]*)"')
ASSET_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".png": "image/png"}
PAGE_LOAD_TIMEOUT_S = 30   # the page and ~1.2 MB of assets from a local gateway, on a loaded machine
RENDER_TIMEOUT_S = 30      # Swagger UI fetches /openapi.json and draws 24 operations
TRY_IT_OUT_TIMEOUT_S = 30  # one authenticated GET through the gateway, drawn in the page


def page_urls(html: str) -> list[str]:
    return URL_ATTRIBUTE.findall(html)


def raw_get(gateway_url: str, target: str) -> tuple[int, dict, bytes]:
    """GET with the request-target exactly as given: no client normalises
    dot segments or percent-escapes away before the gateway sees them."""
    parts = urlsplit(gateway_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest("GET", target, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


# -- over HTTP --------------------------------------------------------------------

def test_the_page_is_html_from_this_gateway_with_a_strict_policy(stack) -> None:  # noqa: ANN001
    page = requests.get(f"{stack.gateway_url}/docs", timeout=30)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Cache-Control"] == "no-cache"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self';" in policy and "connect-src 'self'" in policy
    assert "http" not in policy and "*" not in policy
    assert not [h for h in page.headers if h.lower().startswith("x-librato-ratelimit")]
    urls = page_urls(page.text)
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    assert "<script>" not in page.text


def test_every_asset_is_local_and_served_with_its_type_and_a_long_cache(stack) -> None:  # noqa: ANN001
    page = requests.get(f"{stack.gateway_url}/docs", timeout=30)
    assets = [u for u in page_urls(page.text) if u.startswith("/docs/assets/")]
    assert len(assets) == 6, assets
    scripts = []
    for url in assets:
        got = requests.get(f"{stack.gateway_url}{url}", timeout=30)
        assert got.status_code == 200, url
        suffix = url[url.rindex("."):]
        assert got.headers["Content-Type"] == ASSET_TYPES[suffix], url
        assert got.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert got.headers["X-Content-Type-Options"] == "nosniff"
        assert len(got.content) > 100
        if suffix == ".js":
            scripts.append(got.text)
    start_script = next(s for s in scripts if "SwaggerUIBundle({" in s and len(s) < 2000)
    assert 'url: "/openapi.json"' in start_script and "validatorUrl: null" in start_script
    document = requests.get(f"{stack.gateway_url}/openapi.json", timeout=30).json()
    assert document["components"]["securitySchemes"]["basicAuth"] == {"type": "http", "scheme": "basic"}


@pytest.mark.parametrize("target", [
    "/docs/assets/../../../etc/passwd",
    "/docs/assets/..%2F..%2F..%2Fetc%2Fpasswd",
    "/docs/assets/%2e%2e/%2e%2e/gateway/app.py",
    "/docs/assets/%2E%2E%2F%2E%2E%2Fgateway%2Fapp.py",
    "/docs/assets/..%252F..%252Fgateway%252Fapp.py",
    "/docs/assets/..\\..\\gateway\\app.py",
    "/docs/assets/%00",
    "/docs/assets/swagger-ui-bundle.js",          # Swagger UI's own name, without our digest
    "/docs/assets/swagger-ui.js.map",             # in the package, not served
    "/docs/assets/index.html",
    "/docs/assets/swagger-initializer.js",        # the package's own, petstore-pointing initializer
    "/docs/assets/",
    "/docs/assets",
    "/docs/",
    "/docs/assets/" + "a" * 5000,
])
def test_no_other_file_is_reachable(stack, target: str) -> None:  # noqa: ANN001
    status, headers, body = raw_get(stack.gateway_url, target)
    assert status in (400, 404), (target, status, body[:200])
    assert "errors" in json.loads(body), body[:200]  # the contract's error shape, not a file
    assert b"root:" not in body and b"import" not in body


def test_a_digest_that_does_not_match_is_not_found(stack) -> None:  # noqa: ANN001
    page = requests.get(f"{stack.gateway_url}/docs", timeout=30).text
    bundle = next(u for u in page_urls(page) if "swagger-ui-bundle." in u)
    stem, digest, suffix = bundle.rsplit(".", 2)
    wrong = f"{stem}.{'0' * len(digest)}.{suffix}"
    assert requests.get(f"{stack.gateway_url}{wrong}", timeout=30).status_code == 404


def test_no_credentials_needed_none_checked_and_no_rate_limit(stack, api: Api) -> None:  # noqa: ANN001
    url = f"{stack.gateway_url}/docs"
    assert requests.get(url, auth=("nobody@example.com", "wrong"), timeout=30).status_code == 200
    answered = requests.get(url, auth=(api.email, api.token), timeout=30)
    assert answered.status_code == 200
    assert "X-Librato-RateLimit-Remaining" not in answered.headers  # the account's budget is untouched
    assert requests.head(url, timeout=30).status_code == 200
    refused = requests.post(url, timeout=30)
    assert refused.status_code == 405 and "errors" in refused.json()


# -- in a real browser ------------------------------------------------------------

@pytest.fixture
def browser():  # noqa: ANN201
    """Headless Chromium as the render service starts it, with its console and
    network events kept (goog:loggingPrefs)."""
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.chrome.webdriver import WebDriver

    from render_svc.chromium_driver import (
        DEFAULT_CHROMEDRIVER_PATH,
        DEFAULT_CHROMIUM_PATH,
        ChromiumProcess,
        chromium_options,
    )

    profile = tempfile.mkdtemp(prefix="chartsnap-docs-test-")
    options = chromium_options(profile, DEFAULT_CHROMIUM_PATH, (1280, 1000))
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = Service(executable_path=DEFAULT_CHROMEDRIVER_PATH)
    try:
        driver = WebDriver(service=service, options=options)
    except BaseException:
        shutil.rmtree(profile, ignore_errors=True)
        raise
    process = ChromiumProcess(driver=driver, user_data_dir=profile,
                              chromedriver_pid=getattr(service.process, "pid", None))
    driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT_S)
    try:
        yield driver
    finally:
        process.quit()


def requested_urls(driver) -> list[str]:  # noqa: ANN001
    """Every URL the browser asked for since the last call (the DevTools
    Network events of the performance log), blocked ones included; but not
    those of Chromium's own chrome:// pages (its new-tab page loads at start)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent" \
                and not message["params"].get("documentURL", "").startswith("chrome://"):
            urls.append(message["params"]["request"]["url"])
    return urls


def test_the_docs_render_every_operation_and_ask_no_other_host(stack, browser) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    requested_urls(browser)  # the new-tab page's own chrome:// requests are not the docs'
    browser.get(f"{stack.gateway_url}/docs")
    WebDriverWait(browser, RENDER_TIMEOUT_S).until(
        seen.presence_of_element_located((By.CSS_SELECTOR, ".opblock-summary-path[data-path='/v1/snapshots']")))
    paths = {e.get_attribute("data-path") for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert {"/v1/snapshots", "/v1/jobs/{id}", "/v1/spaces/{id}/charts/{chart_id}", "/docs"} <= paths
    assert browser.find_element(By.CSS_SELECTOR, "button.authorize").is_displayed()  # Basic auth offered

    urls = requested_urls(browser)
    origin = stack.gateway_url
    assert f"{origin}/openapi.json" in urls and any(u.startswith(f"{origin}/docs/assets/") for u in urls), urls
    strangers = [u for u in urls if not (u == origin or u.startswith(f"{origin}/") or u.startswith(("data:", "blob:")))]
    assert not strangers, f"the docs asked other hosts: {strangers}"
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources and all(r.startswith(f"{origin}/") or r.startswith(("data:", "blob:")) for r in resources)
    problems = [e["message"] for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert not problems, problems  # no CSP violation, no failed load, no script error


def test_try_it_out_with_basic_auth_against_the_same_gateway(stack, browser, api: Api) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    space_id, chart_id = api.make_chart("Docs try-out", "line", [{"metric": "docs.metric"}])
    wait = WebDriverWait(browser, RENDER_TIMEOUT_S)
    requested_urls(browser)
    browser.get(f"{stack.gateway_url}/docs")
    wait.until(seen.element_to_be_clickable((By.CSS_SELECTOR, "button.authorize"))).click()
    dialog = wait.until(seen.visibility_of_element_located((By.CSS_SELECTOR, ".modal-ux")))
    dialog.find_element(By.CSS_SELECTOR, "input[name=username]").send_keys(api.email)
    dialog.find_element(By.CSS_SELECTOR, "input[name=password]").send_keys(api.token)
    dialog.find_element(By.CSS_SELECTOR, "button.modal-btn.auth[type=submit]").click()
    wait.until(seen.element_to_be_clickable((By.CSS_SELECTOR, ".modal-ux button.btn-done"))).click()

    path = wait.until(seen.element_to_be_clickable(
        (By.CSS_SELECTOR, ".opblock-get .opblock-summary-path[data-path='/v1/spaces/{id}/charts']")))
    block = path.find_element(By.XPATH, "./ancestor::div[contains(concat(' ', @class, ' '), ' opblock ')][1]")
    path.click()
    wait.until(lambda _: block.find_element(By.CSS_SELECTOR, ".try-out__btn")).click()
    block.find_element(By.CSS_SELECTOR, "tr[data-param-name='id'] input").send_keys(str(space_id))
    block.find_element(By.CSS_SELECTOR, "button.execute").click()
    status = WebDriverWait(browser, TRY_IT_OUT_TIMEOUT_S).until(
        lambda _: block.find_element(By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_status"))
    assert status.text.strip() == "200", status.text
    body = block.find_element(By.CSS_SELECTOR, ".live-responses-table .response-col_description pre").text
    assert [c["id"] for c in json.loads(body)] == [chart_id]
    curl = block.find_element(By.CSS_SELECTOR, ".curl-command").text
    credentials = base64.b64encode(f"{api.email}:{api.token}".encode()).decode()
    assert f"'{stack.gateway_url}/v1/spaces/{space_id}/charts'" in curl, curl
    assert f"Authorization: Basic {credentials}" in curl, curl
    strangers = [u for u in requested_urls(browser) if not u.startswith((f"{stack.gateway_url}/", "data:", "blob:"))]
    assert not strangers, strangers
