"""Reference render path: bokeh's own ``export_png`` machinery.

Slow (it writes an HTML file with inline BokehJS and reloads the page per
image) but it is bokeh's documented way to get a PNG, so tests and the
benchmark compare the warm renderer against it.
"""

from __future__ import annotations

import io

from bokeh.io.export import get_screenshot_as_png
from bokeh.models import LayoutDOM
from selenium.webdriver.remote.webdriver import WebDriver

from render_svc.chromium_driver import ChromiumProcess, start_chromium


def start_stock_driver() -> ChromiumProcess:
    """A Chromium launched exactly like the warm renderer's (same flags)."""
    return start_chromium()


def stock_export_png(figure: LayoutDOM, driver: WebDriver | None = None, timeout_s: int = 10) -> bytes:
    """PNG bytes of ``figure`` via bokeh's ``get_screenshot_as_png``.

    With ``driver`` None a private browser is started and quit afterwards;
    pass a driver to measure/reuse the steady-state cost.
    """
    owned: ChromiumProcess | None = None
    if driver is None:
        owned = start_stock_driver()
        driver = owned.driver
    try:
        # export_png() only adds Image.save(filename); we keep the bytes in memory.
        image = get_screenshot_as_png(figure, driver=driver, timeout=timeout_s)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()
    finally:
        if owned is not None:
            owned.quit()
