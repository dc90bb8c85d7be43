"""Shared real-Chromium fixtures for the render integration tests.

Module-scoped so Chromium starts only a few times per test module.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from bench.stock_export import start_stock_driver
from render_svc.chromium_driver import ChromiumProcess
from render_svc.browser_session import BrowserSession

# bokeh's driver helpers read this to add --no-sandbox; our own flags already do.
os.environ.setdefault("BOKEH_IN_DOCKER", "1")


@pytest.fixture(scope="module")
def warm_session() -> Iterator[BrowserSession]:
    session = BrowserSession()
    yield session
    session.close()


@pytest.fixture(scope="module")
def stock_browser() -> Iterator[ChromiumProcess]:
    browser = start_stock_driver()
    yield browser
    browser.quit()
