"""One warm browser restarted in place, for single-threaded callers (the
benchmark measures this; tests use it to look at one browser's page)."""

from __future__ import annotations

import logging

from bokeh.models import LayoutDOM

from render_svc.figure_json import FigureItem, figure_size, serialize
from render_svc.host_page import HostPage
from render_svc.render_errors import RenderError
from render_svc.warm_renderer import BrowserOptions, RenderTimings, WarmBrowser, render_with_one_retry

logger = logging.getLogger(__name__)


class BrowserSession:
    """One warm Chromium tab restarted in place. Starts and restarts happen in
    the caller's thread but outside the render budget: a browser that crashed
    or hung is killed and a fresh one started (bounded by the start timeout,
    not charged to the render) before the retry. Not thread-safe; the service
    uses render_svc.browser_pool.RendererPool, which never starts a browser
    inside a render."""

    def __init__(self, options: BrowserOptions = BrowserOptions()) -> None:
        self.options = options
        self._host = HostPage(options.viewport)
        self._browser: WarmBrowser | None = None
        self._closed = False
        # Counters (read by tests, metrics and logs).
        self.total_renders = 0
        self.browser_starts = 0
        self.browser_replacements = 0  # crashed or hung, killed
        self.browser_recycles = 0      # quit on purpose (render count or memory bound)
        # Timings of the latest successful render (attempts include a failed first try).
        self.last_timings = RenderTimings()
        self.last_start_s = 0.0        # how long the latest browser start took
        try:
            self._start_browser()
        except BaseException:
            self._host.remove()
            raise

    # -- public API -------------------------------------------------------

    @property
    def render_timeout_s(self) -> float:
        return self.options.render_timeout_s

    @property
    def renders_since_start(self) -> int:
        return self._browser.renders if self._browser else 0

    def render(self, figure: LayoutDOM) -> bytes:
        width, height = figure_size(figure)
        return self.render_serialized(serialize(figure), width, height)

    def render_serialized(self, item: FigureItem | str, width: int, height: int, scale: float = 1.0) -> bytes:
        """Render a ``json_item`` string or a FigureItem (patched onto the page's
        document when it can be); returns PNG bytes of exactly width x height
        CSS pixels (times ``scale`` device pixels each way), within the render
        timeout (see render_svc.warm_renderer.render_with_one_retry)."""
        if self._closed:
            raise RenderError("browser session is closed")
        self._recycle_if_due()
        rendered = render_with_one_retry(self, item, width, height, self.options.render_timeout_s, scale)
        self.last_timings = rendered.timings
        return rendered.png

    def browser_pids(self) -> list[int]:
        """PIDs of the current Chromium processes (empty when no browser runs)."""
        return self._browser.pids() if self._browser else []

    def rss_bytes(self) -> int:
        # Read once: a metrics scrape may call this while the browser is replaced.
        browser = self._browser
        return browser.rss_bytes() if browser else 0

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._discard_browser(polite=True)
        self._host.remove()

    def __enter__(self) -> BrowserSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- lending to render_with_one_retry ---------------------------------

    def borrow(self, last_error: BaseException | None) -> WarmBrowser:
        """The session's browser, started first when the previous one was discarded."""
        if self._browser is None:
            self._start_browser()
        assert self._browser is not None
        return self._browser

    def give_back(self, browser: WarmBrowser, *, broken: bool = False, rendered: bool = True) -> None:
        if broken:
            self._discard_browser()
            self.browser_replacements += 1
        elif rendered:
            self.total_renders += 1

    # -- internals --------------------------------------------------------

    def _start_browser(self) -> None:
        self._browser = self.options.start(self._host)
        self.last_start_s = self._browser.start_s
        self.browser_starts += 1

    def _recycle_if_due(self) -> None:
        if self._browser is None:
            return
        reason = self.options.recycle_reason(self._browser)
        if reason:
            logger.info("recycling browser after %s", reason)
            self._discard_browser(polite=True)
            self.browser_recycles += 1

    def _discard_browser(self, polite: bool = False) -> None:
        browser, self._browser = self._browser, None
        if browser is None:
            return
        if polite:
            browser.quit()
        else:
            # A crashed/hung browser may not answer quit(); don't wait for it.
            browser.kill()
