"""Fast render path: a long-lived headless Chromium that keeps BokehJS loaded.

bokeh's ``export_png`` writes a ~1 MB HTML file (inline BokehJS), reloads the
page, resizes the window and screenshots the whole viewport for every image.
Here the page with BokehJS is loaded once per browser; each render only ships
the ``json_item`` of the figure, embeds it into a fixed div, waits for BokehJS
to report the document idle and captures just that div with CDP.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bokeh
from bokeh.document import Document
from bokeh.embed import json_item
from bokeh.models import LayoutDOM
from selenium.common.exceptions import WebDriverException
from urllib3.exceptions import HTTPError as Urllib3HTTPError

from render_svc.chromium_driver import (
    DEFAULT_CHROMEDRIVER_PATH,
    DEFAULT_CHROMIUM_PATH,
    ChromiumProcess,
    rss_bytes,
    start_chromium,
)

logger = logging.getLogger(__name__)

TARGET_ELEMENT_ID = "target"
DEFAULT_MAX_RENDERS = 500
# Summed RSS of the whole tree over-counts shared pages: a fresh browser already
# reads ~1 GiB this way (its PSS is ~400 MiB), so the bound sits well above that.
DEFAULT_MAX_RSS_BYTES = 2 * 1024**3
DEFAULT_RENDER_TIMEOUT_S = 10.0
# Reading /proc for every process of the tree costs ~2 ms; once in a while is enough
# to catch slow growth.
DEFAULT_MEMORY_CHECK_EVERY = 20
# Share of the render budget the first attempt may use before the browser is
# declared hung and replaced.
FIRST_ATTEMPT_SHARE = 0.4

# Errors that mean "this browser is broken or stuck": replace it and retry.
# urllib3/OS errors show up when chromedriver died or did not answer in time.
_BROWSER_FAILURES: tuple[type[BaseException], ...] = (WebDriverException, Urllib3HTTPError, OSError)


@dataclass(frozen=True)
class RenderTimings:
    """Where the time of one render went (seconds), for metrics and the benchmark."""

    embed_s: float = 0.0    # shipping the json_item to the page until BokehJS reports it painted
    capture_s: float = 0.0  # CDP screenshot of the element, decoded to PNG bytes
    attempts: int = 1       # 2 when the browser was replaced and the render retried


@dataclass(frozen=True)
class RenderedImage:
    png: bytes
    timings: RenderTimings


class RenderError(Exception):
    """A chart could not be rendered to PNG."""


class BrowserStartError(RenderError):
    """Chromium/chromedriver could not be started."""


class RenderTimeoutError(RenderError):
    """The per-render time budget ran out (browser hung or too slow)."""


class BrowserCrashedError(RenderError):
    """The browser failed on the first attempt and again on the retry."""


class ChartScriptError(RenderError):
    """BokehJS rejected the document (bad JSON or a model error); retrying will not help."""


# Runs inside the page. Removes the previous job's views and documents (they
# hold DOM nodes, canvases and signal connections, so leaving them would leak),
# embeds the new item and resolves once the document reports idle, i.e. every
# view has finished painting. This mirrors bokeh.io.export's _WAIT_SCRIPT but
# without polling from Python. The target stays hidden while BokehJS builds and
# paints (layout and canvas drawing do not depend on visibility; measured
# pixel-identical), so the compositor does not produce frames of a half-drawn
# chart (measured ~2-3 ms less CPU per render); it is shown again just before
# the capture.
_EMBED_SCRIPT = """
const [itemJson, width, height, done] = arguments;
const fail = (e) => done({error: String((e && e.stack) || e)});
try {
  window.chartsnapDropViewportListeners();
  for (const view of [...Bokeh.index.roots]) view.remove();
  for (const doc of Bokeh.documents) doc.clear();
  Bokeh.documents.length = 0;
  const target = document.getElementById("%(target)s");
  target.replaceChildren();
  target.style.visibility = "hidden";
  target.style.width = width + "px";
  target.style.height = height + "px";
  const item = JSON.parse(itemJson);
  Bokeh.embed.embed_item(item, "%(target)s").then((views) => {
    if (views.get_by_id(item.root_id) == null) {
      fail("no view was built for root " + item.root_id);
      return;
    }
    const doc = Bokeh.documents[Bokeh.documents.length - 1];
    const finish = () => {
      target.style.visibility = "visible";
      const r = target.getBoundingClientRect();
      done({x: r.left, y: r.top, width: r.width, height: r.height});
    };
    if (doc.is_idle) finish(); else doc.idle.connect(finish);
  }, fail);
} catch (e) {
  fail(e);
}
""" % {"target": TARGET_ELEMENT_ID}


# BokehJS 3.x's PlotView adds a `visualViewport` "resize" listener that its
# remove() never takes away, so every plot view ever drawn, with its DOM and
# canvases, stays reachable: measured ~7 MB more in the renderer and ~3 MB more
# in the GPU process per render, i.e. the 2 GiB recycle bound was hit after
# ~150 renders. The page draws one document at a time, so it remembers those
# listeners (installed before BokehJS loads) and drops them with the old views.
_VIEWPORT_LISTENER_TRACKER = """
(() => {
  const viewport = window.visualViewport;
  const added = [];
  if (viewport != null) {
    const add = viewport.addEventListener.bind(viewport);
    viewport.addEventListener = (type, listener, options) => {
      added.push([type, listener, options]);
      add(type, listener, options);
    };
  }
  window.chartsnapDropViewportListeners = () => {
    for (const [type, listener, options] of added.splice(0)) viewport.removeEventListener(type, listener, options);
  };
})();
"""


def bokeh_js_path() -> Path:
    """bokeh.min.js shipped with the installed bokeh package (no CDN)."""
    path = Path(bokeh.__file__).parent / "server" / "static" / "js" / "bokeh.min.js"
    if not path.is_file():
        raise BrowserStartError(f"BokehJS not found at {path}")
    return path


def host_page_html(width: int, height: int) -> str:
    return f"""<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<style>
  html, body {{ margin: 0; padding: 0; border: 0; background: #ffffff; overflow: hidden; }}
  #{TARGET_ELEMENT_ID} {{ position: absolute; left: 0; top: 0; width: {width}px; height: {height}px;
    overflow: hidden; background: #ffffff; }}
  /* No caret blinking, transitions or animations: nothing should change between
     "idle" and the capture. */
  *, *::before, *::after {{ animation: none !important; transition: none !important; caret-color: transparent; }}
</style>
<script>{_VIEWPORT_LISTENER_TRACKER}</script>
<script src="{bokeh_js_path().as_uri()}"></script>
<script>Bokeh.set_log_level("warn");</script>
</head>
<body><div id="{TARGET_ELEMENT_ID}"></div></body>
</html>
"""


def serialize(figure: LayoutDOM) -> str:
    """The figure as a BokehJS ``json_item`` string.

    Pure Python and independent of any browser, so a caller can serialise the
    next job on another thread while the current one is being rendered.

    A figure that belongs to no document gets the same item as ``json_item``
    (only the fresh document's own config ids differ) without bokeh's document
    validation, which only logs warnings about how the figure was built and
    costs ~5 of ~17 ms; a figure already in a document takes the stock path.
    """
    if figure.document is not None:
        return json.dumps(json_item(figure), separators=(",", ":"))
    document = Document()
    document.title = ""
    document.add_root(figure)
    item = {"target_id": None, "root_id": figure.id, "doc": document.to_json(deferred=False),
            "version": bokeh.__version__}
    return json.dumps(item, separators=(",", ":"))


class BrowserSession:
    """One warm Chromium tab rendering bokeh items to PNG. Not thread-safe:
    use one session per thread (see :class:`RendererPool`)."""

    def __init__(
        self,
        *,
        max_renders: int = DEFAULT_MAX_RENDERS,
        max_rss_bytes: int = DEFAULT_MAX_RSS_BYTES,
        memory_check_every: int = DEFAULT_MEMORY_CHECK_EVERY,
        render_timeout_s: float = DEFAULT_RENDER_TIMEOUT_S,
        chromium_path: str = DEFAULT_CHROMIUM_PATH,
        chromedriver_path: str = DEFAULT_CHROMEDRIVER_PATH,
        viewport: tuple[int, int] = (600, 416),
        start: bool = True,
    ) -> None:
        if max_renders < 1:
            raise ValueError("max_renders must be >= 1")
        self.max_renders = max_renders
        self.max_rss_bytes = max_rss_bytes
        self.memory_check_every = max(1, memory_check_every)
        self.render_timeout_s = render_timeout_s
        self._chromium_path = chromium_path
        self._chromedriver_path = chromedriver_path
        self._default_viewport = viewport
        self._host_dir = tempfile.mkdtemp(prefix="chartsnap-host-")
        self._host_page = Path(self._host_dir) / "host.html"
        self._host_page.write_text(host_page_html(*viewport), encoding="utf-8")
        self._browser: ChromiumProcess | None = None
        self._viewport: tuple[int, int] = (0, 0)
        self._closed = False
        # Counters (read by tests, metrics and logs).
        self.renders_since_start = 0
        self.total_renders = 0
        self.browser_starts = 0
        self.browser_replacements = 0  # crashed or hung, killed
        self.browser_recycles = 0      # quit on purpose (render count or memory bound)
        # Timings of the latest successful render (attempts include a failed first try).
        self.last_timings = RenderTimings()
        if start:
            self._start_browser(time.monotonic() + max(render_timeout_s, 30.0))

    # -- public API -------------------------------------------------------

    serialize = staticmethod(serialize)

    def render(self, figure: LayoutDOM) -> bytes:
        width, height = _figure_size(figure)
        return self.render_serialized(serialize(figure), width, height)

    def render_serialized(self, item_json: str, width: int, height: int) -> bytes:
        """Render a ``json_item`` string; returns PNG bytes of exactly width x height.

        Within ``render_timeout_s``: the first attempt may use a share of the
        budget; if the browser crashed or hung it is killed, a fresh one is
        started and the render is tried once more with what is left.
        """
        if self._closed:
            raise RenderError("browser session is closed")
        started = time.monotonic()
        deadline = started + self.render_timeout_s
        self._recycle_if_due()
        last_error: BaseException | None = None
        for attempt in (1, 2):
            # A healthy render takes well under a second; a hang is detected after
            # FIRST_ATTEMPT_SHARE of the budget so that a restart (~1 s) and a
            # retry still fit in the rest.
            attempt_deadline = (started + self.render_timeout_s * FIRST_ATTEMPT_SHARE
                                if attempt == 1 else deadline)
            try:
                if self._browser is None:
                    self._start_browser(deadline)
                png, embed_s, capture_s = self._render_once(item_json, width, height, attempt_deadline)
            except ChartScriptError:
                raise
            except (RenderTimeoutError, *_BROWSER_FAILURES) as exc:
                last_error = exc
            else:
                self.renders_since_start += 1
                self.total_renders += 1
                self.last_timings = RenderTimings(embed_s, capture_s, attempt)
                return png
            # First line only: selenium appends a long native stack trace.
            logger.warning("render attempt %d failed (%s: %s); replacing the browser", attempt,
                           type(last_error).__name__, (str(last_error).splitlines() or [""])[0])
            self._discard_browser()
            self.browser_replacements += 1
            if time.monotonic() >= deadline:
                break
        if time.monotonic() >= deadline or isinstance(last_error, RenderTimeoutError):
            raise RenderTimeoutError(
                f"render did not finish within {self.render_timeout_s:.1f}s: {last_error}"
            ) from last_error
        raise BrowserCrashedError(f"browser failed twice rendering one chart: {last_error}") from last_error

    def browser_pids(self) -> list[int]:
        """PIDs of the current Chromium processes (empty when no browser runs)."""
        return self._browser.browser_pids() if self._browser else []

    def rss_bytes(self) -> int:
        # Read once: a metrics scrape calls this from another thread while the
        # render thread may be replacing the browser.
        browser = self._browser
        return rss_bytes(browser.process_tree_pids()) if browser else 0

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._discard_browser(polite=True)
        shutil.rmtree(self._host_dir, ignore_errors=True)

    def __enter__(self) -> BrowserSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals --------------------------------------------------------

    def _render_once(self, item_json: str, width: int, height: int,
                     deadline: float) -> tuple[bytes, float, float]:
        """PNG bytes plus the seconds spent embedding and capturing."""
        browser = self._browser
        assert browser is not None
        driver = browser.driver
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RenderTimeoutError("no time left in the render budget")
        # The HTTP read timeout towards chromedriver bounds every command, so a
        # hung browser surfaces as an exception instead of blocking forever. It is
        # client-side state, so changing it per render costs no round trip (unlike
        # set_script_timeout, which is set once per browser as a backstop).
        driver.command_executor.client_config.timeout = remaining

        if width > self._viewport[0] or height > self._viewport[1]:
            self._set_viewport(max(width, self._viewport[0]), max(height, self._viewport[1]))

        embed_started = time.perf_counter()
        result: Any = driver.execute_async_script(_EMBED_SCRIPT, item_json, width, height)
        capture_started = time.perf_counter()
        if not isinstance(result, dict):
            raise WebDriverException(f"unexpected result from the embed script: {result!r}")
        if "error" in result:
            raise ChartScriptError(f"BokehJS failed to render the chart: {result['error']}")

        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png",
            "clip": {"x": result["x"], "y": result["y"], "width": width, "height": height, "scale": 1},
            "captureBeyondViewport": False,
            "optimizeForSpeed": True,
        })
        png = base64.b64decode(shot["data"])
        return png, capture_started - embed_started, time.perf_counter() - capture_started

    def _set_viewport(self, width: int, height: int) -> None:
        # Device metrics give an exact CSS viewport (window sizes include
        # browser chrome in some modes); we only grow it, so alternating sizes
        # do not cause relayouts on every render.
        assert self._browser is not None
        self._browser.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False,
        })
        self._viewport = (width, height)

    def _start_browser(self, deadline: float) -> None:
        try:
            browser = start_chromium(self._chromium_path, self._chromedriver_path,
                                     window_size=self._default_viewport)
        except Exception as exc:  # noqa: BLE001 - selenium raises many types here
            raise BrowserStartError(f"could not start Chromium: {exc}") from exc
        self._browser = browser
        self._viewport = (0, 0)
        try:
            remaining = max(1.0, deadline - time.monotonic())
            browser.driver.command_executor.client_config.timeout = remaining
            browser.driver.set_page_load_timeout(remaining)
            browser.driver.set_script_timeout(self.render_timeout_s)
            browser.driver.get(self._host_page.as_uri())
            if not browser.driver.execute_script("return typeof Bokeh !== 'undefined' && !!Bokeh.embed"):
                raise BrowserStartError("BokehJS did not load in the host page")
            self._set_viewport(*self._default_viewport)
            # The first embed in a fresh page pays for JIT compilation and font
            # loading (~200-300 ms); do it now rather than in a user's request.
            for warm_up_json, width, height in _warm_up_items():
                self._render_once(warm_up_json, width, height, deadline)
        except BrowserStartError:
            self._discard_browser()
            raise
        except Exception as exc:  # noqa: BLE001
            self._discard_browser()
            raise BrowserStartError(f"could not load the host page: {exc}") from exc
        self.renders_since_start = 0
        self.browser_starts += 1

    def _recycle_if_due(self) -> None:
        if self._browser is None:
            return
        reason = ""
        if self.renders_since_start >= self.max_renders:
            reason = f"{self.renders_since_start} renders"
        elif self.renders_since_start and self.renders_since_start % self.memory_check_every == 0:
            rss = self.rss_bytes()
            if rss > self.max_rss_bytes:
                reason = f"RSS {rss / 2**20:.0f} MiB > {self.max_rss_bytes / 2**20:.0f} MiB"
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


@functools.cache
def _warm_up_items() -> tuple[tuple[str, int, int], ...]:
    # Imported lazily: the renderer itself does not depend on chart types.
    from render_svc.chart_figure import build_figure
    from render_svc.sample_charts import line_chart, stacked_chart

    specs = (line_chart(points=60), stacked_chart(points=60))
    return tuple((serialize(build_figure(spec)), spec.width, spec.height) for spec in specs)


def _figure_size(figure: LayoutDOM) -> tuple[int, int]:
    width, height = getattr(figure, "width", None), getattr(figure, "height", None)
    if not width or not height:
        raise ValueError("the figure needs a fixed width and height to be rendered")
    return int(width), int(height)


class RendererPool:
    """K browser sessions shared by threads (e.g. asyncio's run_in_executor).

    A call borrows an idle session, renders, and returns it; with all sessions
    busy, callers block in the queue. Each session is used by one thread at a
    time, which is what selenium requires.
    """

    def __init__(self, size: int | None = None, **session_kwargs: Any) -> None:
        self.size = size or os.cpu_count() or 1
        self._idle: queue.SimpleQueue[BrowserSession] = queue.SimpleQueue()
        self._sessions: list[BrowserSession] = []
        self._lock = threading.Lock()
        self._closed = False
        # Start browsers in parallel: each takes ~0.5-1 s, mostly waiting.
        with ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="chromium-start") as executor:
            futures = [executor.submit(BrowserSession, **session_kwargs) for _ in range(self.size)]
        errors: list[BaseException] = []
        for future in futures:
            try:
                self._sessions.append(future.result())
            except Exception as exc:  # noqa: BLE001 - re-raised below after cleanup
                errors.append(exc)
        if errors:
            self._closed = True
            for session in self._sessions:
                session.close()
            raise errors[0]
        for session in self._sessions:
            self._idle.put(session)

    @property
    def sessions(self) -> tuple[BrowserSession, ...]:
        return tuple(self._sessions)

    def render(self, figure_or_json: LayoutDOM | str, width: int | None = None,
               height: int | None = None) -> bytes:
        """PNG bytes for a figure, or for a serialised ``json_item`` plus its size."""
        return self.render_timed(figure_or_json, width, height).png

    def render_timed(self, figure_or_json: LayoutDOM | str, width: int | None = None,
                     height: int | None = None) -> RenderedImage:
        """Like :meth:`render`, plus how long embedding and capturing took."""
        if isinstance(figure_or_json, str):
            if width is None or height is None:
                raise ValueError("width and height are required when rendering serialised JSON")
            item_json = figure_or_json
        else:
            fig_width, fig_height = _figure_size(figure_or_json)
            width, height = width or fig_width, height or fig_height
            item_json = serialize(figure_or_json)
        if self._closed:
            raise RenderError("renderer pool is closed")
        session = self._idle.get()
        try:
            if self._closed:
                raise RenderError("renderer pool is closed")
            png = session.render_serialized(item_json, width, height)
            # Read before the session goes back to the pool and another render overwrites it.
            return RenderedImage(png, session.last_timings)
        finally:
            self._idle.put(session)

    def close(self, wait_s: float | None = None) -> None:
        """Quit every browser. Renders in flight get up to ``wait_s`` (default:
        one render budget) to finish, since a selenium driver must not be
        closed from another thread mid-command."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if wait_s is None:
            wait_s = max((s.render_timeout_s for s in self._sessions), default=0.0)
        deadline = time.monotonic() + wait_s
        closed: list[BrowserSession] = []
        while len(closed) < len(self._sessions):
            try:
                session = self._idle.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            session.close()
            closed.append(session)
        for session in self._sessions:
            if session not in closed:
                logger.warning("closing a browser session that is still rendering")
                session.close()
        # Hand the (closed) sessions back so callers blocked in render() wake up
        # and get a RenderError instead of waiting forever.
        for session in closed:
            self._idle.put(session)

    def __enter__(self) -> RendererPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

