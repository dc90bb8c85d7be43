"""The /docs page and its assets as gateway.api_docs builds them: every URL
in the page is one of its own assets or the OpenAPI document, every asset name
carries the digest of its bytes, nothing names another host, and only the
listed files are ever served."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from swagger_ui_bundle import swagger_ui_path

from gateway.api_docs import ASSET_FILES, ASSET_PREFIX, CSP, START_SCRIPT, ApiDocs

DOCS = ApiDocs.load()
PAGE = DOCS.page.decode()
URLS = re.findall(r'(?:src|href)="([^"]*)"', PAGE)


def test_every_url_in_the_page_is_an_asset_or_the_document() -> None:
    assert URLS, PAGE
    for url in URLS:
        assert url == "/openapi.json" or url.removeprefix(ASSET_PREFIX) in DOCS.assets, url
    assert {u.removeprefix(ASSET_PREFIX) for u in URLS if u.startswith(ASSET_PREFIX)} == set(DOCS.assets)


def test_asset_names_carry_the_digest_of_their_bytes() -> None:
    for name, asset in DOCS.assets.items():
        stem, digest, suffix = name.rsplit(".", 2)
        assert digest == hashlib.sha256(asset.body).hexdigest()[:16], name
        assert asset.content_type == {"css": "text/css", "js": "text/javascript", "png": "image/png"}[suffix]
    bundle = Path(swagger_ui_path) / "swagger-ui-bundle.js"
    [served] = [a for n, a in DOCS.assets.items() if n.startswith("swagger-ui-bundle.")]
    assert served.body == bundle.read_bytes()


def test_nothing_names_another_host() -> None:
    for text in (PAGE, START_SCRIPT, CSP):
        assert "http:" not in text and "https:" not in text and "//" not in text.replace("// ", ""), text
    assert "validatorUrl: null" in START_SCRIPT  # Swagger UI's default validator is another host
    assert "<script>" not in PAGE  # no inline script: the CSP allows 'self' only
    assert "'unsafe-inline'" not in CSP and "'unsafe-eval'" not in CSP


def test_only_the_listed_files_are_served() -> None:
    served_files = {name.rsplit(".", 2)[0] + "." + name.rsplit(".", 1)[1] for name in DOCS.assets}
    assert served_files == {*ASSET_FILES, "chartsnap-docs.js"}
    for name in ("swagger-ui-bundle.js", "../swagger-ui-bundle.js", "swagger-ui.js.map", "index.html",
                 "swagger-initializer.js", "", ".", ".."):
        assert name not in DOCS.assets
