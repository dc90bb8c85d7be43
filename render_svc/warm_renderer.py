"""Fast render path: a long-lived headless Chromium that keeps BokehJS loaded.

bokeh's ``export_png`` writes a ~1 MB HTML file (inline BokehJS), reloads the
page, resizes the window and screenshots the whole viewport for every image.
Here the page with BokehJS is loaded once per browser; each render only ships
the ``json_item`` of the figure, embeds it into a fixed div, waits for BokehJS
to report the document idle and captures just that div with CDP.

:class:`WarmBrowser` is one such browser. :class:`RendererPool` (what the
service uses) keeps K of them and never starts one inside a render: a browser
due for recycling keeps serving while a starter thread brings up its
successor, and a crashed one is replaced the same way while the render is
retried on another ready browser. A cold start is bounded by its own timeout,
never by a render's budget, so how fast a machine starts Chromium changes
throughput during a recycle, not correctness. :class:`BrowserSession` is one
browser restarted in place, for single-threaded use (the benchmark).
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bokeh
from bokeh.models import LayoutDOM
from selenium.common.exceptions import WebDriverException
from urllib3.exceptions import HTTPError as Urllib3HTTPError

from chartsnap.budgets import RENDER_TIMEOUT_S
from render_svc.figure_json import serialize
from render_svc.chromium_driver import (
    DEFAULT_CHROMEDRIVER_PATH,
    DEFAULT_CHROMIUM_PATH,
    StartWatchdog,
    rss_bytes,
    start_chromium,
)

logger = logging.getLogger(__name__)

TARGET_ELEMENT_ID = "target"
DEFAULT_MAX_RENDERS = 500
# Summed RSS of the whole tree over-counts shared pages: a fresh browser already
# reads ~1 GiB this way (its PSS is ~400 MiB), so the bound sits well above that.
DEFAULT_MAX_RSS_BYTES = 2 * 1024**3
DEFAULT_RENDER_TIMEOUT_S = RENDER_TIMEOUT_S
# A cold start plus warm-up takes ~1-2 s on an idle 2-core machine and several
# times that under load; this bound only catches a start that will never finish.
DEFAULT_START_TIMEOUT_S = 60.0
# Reading /proc for every process of the tree costs ~2 ms; once in a while is enough
# to catch slow growth.
DEFAULT_MEMORY_CHECK_EVERY = 20
# Share of the render budget the first attempt may use before its browser is
# declared hung and replaced; the rest is for a retry on another ready browser
# (no start is needed for it, only one more render).
FIRST_ATTEMPT_SHARE = 0.4
# Waits between failed starts of a pool's browser: doubling from the first, capped.
START_RETRY_FIRST_DELAY_S = 0.5
START_RETRY_MAX_DELAY_S = 30.0

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


class NoBrowserReadyError(RenderTimeoutError):
    """No browser of the pool became free within the render budget."""


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


class HostPage:
    """The page every browser loads once (BokehJS and an empty target div),
    written to its own temp dir; shared read-only by a pool's browsers."""

    def __init__(self, viewport: tuple[int, int]) -> None:
        self.viewport = viewport
        self._dir = tempfile.mkdtemp(prefix="chartsnap-host-")
        self.path = Path(self._dir) / "host.html"
        self.path.write_text(host_page_html(*viewport), encoding="utf-8")

    def remove(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


def _first_line(exc: BaseException) -> str:
    # Selenium appends a long native stack trace to its messages.
    return (str(exc).splitlines() or [""])[0]


class WarmBrowser:
    """One Chromium with the host page loaded and warmed up, ready to render.

    Starting is the constructor: it either returns a warm browser or raises
    :class:`BrowserStartError`, within ``start_timeout_s`` (a watchdog kills a
    start that outlasts it). Not thread-safe: one caller at a time."""

    def __init__(self, host: HostPage, *, chromium_path: str = DEFAULT_CHROMIUM_PATH,
                 chromedriver_path: str = DEFAULT_CHROMEDRIVER_PATH,
                 script_timeout_s: float = DEFAULT_RENDER_TIMEOUT_S,
                 start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
                 watchdog: StartWatchdog | None = None) -> None:
        started = time.monotonic()
        watchdog = watchdog or StartWatchdog(start_timeout_s)
        deadline = started + watchdog.timeout_s
        self.renders = 0         # successful renders since the start (warm-up excluded)
        self.due_reason = ""     # why it is due for recycling, once it is
        self._viewport: tuple[int, int] = (0, 0)
        try:
            self._process = start_chromium(chromium_path, chromedriver_path, window_size=host.viewport,
                                           watchdog=watchdog)
        except Exception as exc:  # noqa: BLE001 - selenium raises many types here
            watchdog.cancel()
            raise BrowserStartError(f"could not start Chromium{_expiry(watchdog)}: {_first_line(exc)}") from exc
        try:
            driver = self._process.driver
            remaining = max(1.0, deadline - time.monotonic())
            driver.command_executor.client_config.timeout = remaining
            driver.set_page_load_timeout(remaining)
            driver.set_script_timeout(script_timeout_s)
            driver.get(host.path.as_uri())
            if not driver.execute_script("return typeof Bokeh !== 'undefined' && !!Bokeh.embed"):
                raise BrowserStartError("BokehJS did not load in the host page")
            self._set_viewport(*host.viewport)
            # The first embed in a fresh page pays for JIT compilation and font
            # loading (~200-300 ms); do it now rather than in a user's request.
            for warm_up_json, width, height in _warm_up_items():
                self.render(warm_up_json, width, height, deadline)
        except Exception as exc:  # noqa: BLE001
            watchdog.cancel()
            self.kill()
            if isinstance(exc, BrowserStartError) and not watchdog.fired.is_set():
                raise
            raise BrowserStartError(f"could not load the host page{_expiry(watchdog)}: {_first_line(exc)}") from exc
        watchdog.cancel()
        if watchdog.fired.is_set():  # it fired between the last step and cancel()
            self.kill()
            raise BrowserStartError(f"Chromium did not start within {watchdog.timeout_s:.0f}s")
        self.renders = 0
        self.start_s = time.monotonic() - started

    @property
    def driver(self):  # noqa: ANN201 - selenium WebDriver
        return self._process.driver

    def render(self, item_json: str, width: int, height: int,
               deadline: float) -> tuple[bytes, float, float]:
        """PNG bytes plus the seconds spent embedding and capturing, by ``deadline``."""
        driver = self._process.driver
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
        self.renders += 1
        return png, capture_started - embed_started, time.perf_counter() - capture_started

    def pids(self) -> list[int]:
        """Chromium processes (chromedriver excluded)."""
        return self._process.browser_pids()

    def process_tree_pids(self) -> list[int]:
        """chromedriver and every process below it."""
        return self._process.process_tree_pids()

    def rss_bytes(self) -> int:
        return rss_bytes(self._process.process_tree_pids())

    def quit(self) -> None:
        self._process.quit()

    def kill(self) -> None:
        """For a crashed or hung browser, which may not answer quit()."""
        self._process.kill()

    def _set_viewport(self, width: int, height: int) -> None:
        # Device metrics give an exact CSS viewport (window sizes include
        # browser chrome in some modes); we only grow it, so alternating sizes
        # do not cause relayouts on every render.
        self._process.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False,
        })
        self._viewport = (width, height)


def _expiry(watchdog: StartWatchdog) -> str:
    return f" within {watchdog.timeout_s:.0f}s" if watchdog.fired.is_set() else ""


def recycle_reason(browser: WarmBrowser, max_renders: int, max_rss_bytes: int, memory_check_every: int) -> str:
    """Why ``browser`` should be recycled now ("" if it should not). Reads /proc
    (~2 ms) only every ``memory_check_every`` renders."""
    if browser.renders >= max_renders:
        return f"{browser.renders} renders"
    if browser.renders and browser.renders % memory_check_every == 0:
        rss = browser.rss_bytes()
        if rss > max_rss_bytes:
            return f"RSS {rss / 2**20:.0f} MiB > {max_rss_bytes / 2**20:.0f} MiB"
    return ""


class BrowserSession:
    """One warm Chromium tab restarted in place, for single-threaded callers
    (the benchmark measures this). Starts and restarts happen in the caller's
    thread but outside the render budget. Not thread-safe; the service uses
    :class:`RendererPool`, which never starts a browser inside a render."""

    def __init__(
        self,
        *,
        max_renders: int = DEFAULT_MAX_RENDERS,
        max_rss_bytes: int = DEFAULT_MAX_RSS_BYTES,
        memory_check_every: int = DEFAULT_MEMORY_CHECK_EVERY,
        render_timeout_s: float = DEFAULT_RENDER_TIMEOUT_S,
        start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
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
        self.start_timeout_s = start_timeout_s
        self._browser_options = {"chromium_path": chromium_path, "chromedriver_path": chromedriver_path,
                                 "script_timeout_s": render_timeout_s, "start_timeout_s": start_timeout_s}
        self._host = HostPage(viewport)
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
        if start:
            try:
                self._start_browser()
            except BaseException:
                self._host.remove()
                raise

    # -- public API -------------------------------------------------------

    serialize = staticmethod(serialize)

    @property
    def renders_since_start(self) -> int:
        return self._browser.renders if self._browser else 0

    def render(self, figure: LayoutDOM) -> bytes:
        width, height = _figure_size(figure)
        return self.render_serialized(serialize(figure), width, height)

    def render_serialized(self, item_json: str, width: int, height: int) -> bytes:
        """Render a ``json_item`` string; returns PNG bytes of exactly width x height.

        The render itself gets ``render_timeout_s``: the first attempt a share
        of it; if the browser crashed or hung it is killed, a fresh one is
        started (bounded by ``start_timeout_s``, not charged to the render) and
        the render is tried once more with the rest.
        """
        if self._closed:
            raise RenderError("browser session is closed")
        self._recycle_if_due()
        if self._browser is None:
            self._start_browser()
        budget_left = self.render_timeout_s
        last_error: BaseException | None = None
        for attempt in (1, 2):
            if self._browser is None:
                self._start_browser()
            attempt_started = time.monotonic()
            attempt_budget = budget_left * FIRST_ATTEMPT_SHARE if attempt == 1 else budget_left
            try:
                png, embed_s, capture_s = self._browser.render(item_json, width, height,
                                                               attempt_started + attempt_budget)
            except ChartScriptError:
                raise
            except (RenderTimeoutError, *_BROWSER_FAILURES) as exc:
                last_error = exc
            else:
                self.total_renders += 1
                self.last_timings = RenderTimings(embed_s, capture_s, attempt)
                return png
            budget_left -= time.monotonic() - attempt_started
            logger.warning("render attempt %d failed (%s: %s); replacing the browser", attempt,
                           type(last_error).__name__, _first_line(last_error))
            self._discard_browser()
            self.browser_replacements += 1
            if budget_left <= 0:
                break
        if budget_left <= 0 or isinstance(last_error, RenderTimeoutError):
            raise RenderTimeoutError(
                f"render did not finish within {self.render_timeout_s:.1f}s: {last_error}"
            ) from last_error
        raise BrowserCrashedError(f"browser failed twice rendering one chart: {last_error}") from last_error

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

    # -- internals --------------------------------------------------------

    def _start_browser(self) -> None:
        self._browser = WarmBrowser(self._host, **self._browser_options)
        self.last_start_s = self._browser.start_s
        self.browser_starts += 1

    def _recycle_if_due(self) -> None:
        if self._browser is None:
            return
        reason = recycle_reason(self._browser, self.max_renders, self.max_rss_bytes, self.memory_check_every)
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
    from render_svc.warm_up_charts import warm_up_specs

    return tuple((serialize(build_figure(spec)), spec.width, spec.height) for spec in warm_up_specs())


def _figure_size(figure: LayoutDOM) -> tuple[int, int]:
    width, height = getattr(figure, "width", None), getattr(figure, "height", None)
    if not width or not height:
        raise ValueError("the figure needs a fixed width and height to be rendered")
    return int(width), int(height)


class _Waiter:
    """A caller waiting for a browser; _offer hands one over by setting it."""

    __slots__ = ("browser",)

    def __init__(self) -> None:
        self.browser: WarmBrowser | None = None


class RendererPool:
    """K warm browsers shared by threads (e.g. asyncio's run_in_executor).

    A call borrows an idle browser, renders, and gives it back; with every
    browser busy, callers wait (within their render budget). A browser is
    used by one thread at a time, which is what selenium requires.

    Browsers are never started inside a render. One starter thread does every
    start, one at a time: after a crash (the render is retried at once on
    another browser, or on the replacement once it is ready, within the
    budget) and for recycling, where the browser that is due keeps serving
    until its successor is warm and only then retires, so the pool never has
    fewer than K browsers because of a recycle and never recycles them all at
    once. One start at a time because on a small machine a cold start is CPU
    bound (~1-2 s of a core): two at once would each take twice as long and
    slow the renders of the browsers still serving.

    A start that fails is retried after a doubling pause (from
    START_RETRY_FIRST_DELAY_S to START_RETRY_MAX_DELAY_S). :meth:`can_render`
    is False while no browser is serving and the latest start failed: then no
    render can succeed until a start does, so the service reports NOT_SERVING
    and takes no work.
    """

    def __init__(self, size: int | None = None, *,
                 max_renders: int = DEFAULT_MAX_RENDERS,
                 max_rss_bytes: int = DEFAULT_MAX_RSS_BYTES,
                 memory_check_every: int = DEFAULT_MEMORY_CHECK_EVERY,
                 render_timeout_s: float = DEFAULT_RENDER_TIMEOUT_S,
                 start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
                 chromium_path: str = DEFAULT_CHROMIUM_PATH,
                 chromedriver_path: str = DEFAULT_CHROMEDRIVER_PATH,
                 viewport: tuple[int, int] = (600, 416)) -> None:
        if max_renders < 1:
            raise ValueError("max_renders must be >= 1")
        self.size = size or os.cpu_count() or 1
        self.max_renders = max_renders
        self.max_rss_bytes = max_rss_bytes
        self.memory_check_every = max(1, memory_check_every)
        self.render_timeout_s = render_timeout_s
        self.start_timeout_s = start_timeout_s
        self._browser_options = {"chromium_path": chromium_path, "chromedriver_path": chromedriver_path,
                                 "script_timeout_s": render_timeout_s}
        self._host = HostPage(viewport)
        self._lock = threading.Lock()
        self._browser_free = threading.Condition(self._lock)   # callers wait here
        self._starter_wakeup = threading.Condition(self._lock)  # the starter waits here
        self._live: list[WarmBrowser] = []    # serving: idle or lent out
        self._idle: deque[WarmBrowser] = deque()
        self._retiring: list[WarmBrowser] = []  # replaced, being quit by the retirer thread
        # Quitting takes ~0.1-0.3 s; its own thread keeps it out of renders and starts.
        self._retirer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium-retire")
        self._starts_in_progress: set[StartWatchdog] = set()
        self._lent = 0
        self._waiters: deque[_Waiter] = deque()  # callers waiting for a browser, oldest first
        self._closed = False
        # Counters (read by tests, metrics and logs; written under the lock).
        self.total_renders = 0
        self.browser_starts = 0          # successful starts, the first K included
        self.start_failures = 0
        self.consecutive_start_failures = 0
        self.browser_replacements = 0    # crashed or hung during a render, killed
        self.browser_recycles = 0        # retired on purpose (render count or memory bound)
        self.last_start_s = 0.0
        self.slowest_start_s = 0.0
        # The first K start in parallel: nothing is serving yet, so there is
        # nothing for them to slow down. Those that fail are left to the starter.
        with ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="chromium-start") as executor:
            for _ in range(self.size):
                executor.submit(self._start_one)
        self._starter = threading.Thread(target=self._run_starter, name="chromium-starter", daemon=True)
        self._starter.start()

    # -- public API -------------------------------------------------------

    @property
    def browsers(self) -> tuple[WarmBrowser, ...]:
        """The browsers serving now (idle or rendering)."""
        with self._lock:
            return tuple(self._live)

    @property
    def ready_count(self) -> int:
        return len(self._live)

    @property
    def call_bound_s(self) -> float:
        """The longest a render call can take before it returns or raises (see render_timed)."""
        return 3 * self.render_timeout_s

    def can_render(self) -> bool:
        """False while no browser is serving and the latest start failed.
        A few attribute reads, no lock: called by health probes and before
        every fetch of work."""
        return bool(self._live) or self.consecutive_start_failures == 0

    def render(self, figure_or_json: LayoutDOM | str, width: int | None = None,
               height: int | None = None) -> bytes:
        """PNG bytes for a figure, or for a serialised ``json_item`` plus its size."""
        return self.render_timed(figure_or_json, width, height).png

    def render_timed(self, figure_or_json: LayoutDOM | str, width: int | None = None,
                     height: int | None = None) -> RenderedImage:
        """Like :meth:`render`, plus how long embedding and capturing took.

        The render gets ``render_timeout_s`` of browser time: a first attempt
        of at most FIRST_ATTEMPT_SHARE of it and, if that browser crashed or
        hung, one retry on another browser with the rest. Waiting for a free
        browser is not browser time (it measures load, not a hang) and is
        bounded on its own, by ``render_timeout_s`` per wait; so a call returns
        or raises within :attr:`call_bound_s`, 3 x ``render_timeout_s`` (plus killing a broken browser)."""
        if isinstance(figure_or_json, str):
            if width is None or height is None:
                raise ValueError("width and height are required when rendering serialised JSON")
            item_json = figure_or_json
        else:
            fig_width, fig_height = _figure_size(figure_or_json)
            width, height = width or fig_width, height or fig_height
            item_json = serialize(figure_or_json)
        budget_left = self.render_timeout_s
        last_error: BaseException | None = None
        for attempt in (1, 2):
            browser = self._borrow(time.monotonic() + self.render_timeout_s, last_error)
            attempt_started = time.monotonic()
            attempt_budget = budget_left * FIRST_ATTEMPT_SHARE if attempt == 1 else budget_left
            try:
                png, embed_s, capture_s = browser.render(item_json, width, height, attempt_started + attempt_budget)
            except ChartScriptError:
                self._give_back(browser, rendered=False)
                raise
            except (RenderTimeoutError, *_BROWSER_FAILURES) as exc:
                budget_left -= time.monotonic() - attempt_started
                last_error = exc
                logger.warning("render attempt %d failed (%s: %s); replacing that browser in the background",
                               attempt, type(exc).__name__, _first_line(exc))
                self._give_back(browser, broken=True)
                if budget_left <= 0:
                    break
                continue
            except BaseException:
                self._give_back(browser, broken=True)  # state unknown: never lend it again
                raise
            self._give_back(browser)
            return RenderedImage(png, RenderTimings(embed_s, capture_s, attempt))
        if budget_left <= 0 or isinstance(last_error, RenderTimeoutError):
            raise RenderTimeoutError(
                f"render did not finish within {self.render_timeout_s:.1f}s: {last_error}") from last_error
        raise BrowserCrashedError(f"two browsers failed rendering one chart: {last_error}") from last_error

    def browser_pids(self) -> list[int]:
        """Chromium processes of the browsers serving now."""
        return [pid for browser in self.browsers for pid in browser.pids()]

    def rss_bytes(self) -> int:
        """Summed RSS of the serving and retiring browsers' process trees."""
        with self._lock:
            browsers = [*self._live, *self._retiring]
        return sum(browser.rss_bytes() for browser in browsers)

    def close(self, wait_s: float | None = None) -> None:
        """Quit every browser. Renders in flight get up to ``wait_s`` (default:
        one render budget) to finish, since a selenium driver must not be
        closed from another thread mid-command; a start in progress is killed."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._browser_free.notify_all()
            self._starter_wakeup.notify_all()
            starts = list(self._starts_in_progress)
        for watchdog in starts:
            watchdog.expire()
        if wait_s is None:
            wait_s = self.render_timeout_s
        with self._lock:
            if not self._browser_free.wait_for(lambda: self._lent == 0, timeout=wait_s):
                logger.warning("closing %d browser(s) that are still rendering", self._lent)
        # The starter returns once its start (killed above) has failed.
        self._starter.join(timeout=wait_s)
        self._retirer.shutdown(wait=True)
        with self._lock:
            browsers = list(self._live)
            self._live.clear()
            self._idle.clear()
        for browser in browsers:
            browser.quit()
        self._host.remove()

    def __enter__(self) -> RendererPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- lending ----------------------------------------------------------

    def _borrow(self, deadline: float, last_error: BaseException | None) -> WarmBrowser:
        """An idle browser, or the next one given back, first come first
        served: a caller that gives a browser back and borrows again at once
        must not overtake one that was already waiting (under load it could
        do so every time)."""
        with self._lock:
            if self._closed:
                raise RenderError("renderer pool is closed")
            if self._idle and not self._waiters:
                self._lent += 1
                return self._idle.popleft()
            waiter = _Waiter()
            self._waiters.append(waiter)
            while waiter.browser is None:
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    self._waiters.remove(waiter)
                    if self._closed:
                        raise RenderError("renderer pool is closed")
                    after = f" after {_first_line(last_error)}" if last_error else ""
                    raise NoBrowserReadyError(
                        f"no browser was free within {self.render_timeout_s:.1f}s{after} "
                        f"({len(self._live)} of {self.size} serving, "
                        f"{self.consecutive_start_failures} failed starts in a row)")
                self._browser_free.wait(remaining)
            return waiter.browser  # _offer counted it as lent

    def _offer(self, browser: WarmBrowser) -> None:
        """A serving browser is free (under the lock): to the longest waiter, else idle."""
        if self._waiters and not self._closed:
            self._waiters.popleft().browser = browser
            self._lent += 1
            self._browser_free.notify_all()
        else:
            self._idle.append(browser)

    def _give_back(self, browser: WarmBrowser, broken: bool = False, rendered: bool = True) -> None:
        became_due = False
        if broken:
            browser.kill()  # SIGKILL is quick; a hung browser must not keep a core busy
        elif not browser.due_reason:
            reason = recycle_reason(browser, self.max_renders, self.max_rss_bytes, self.memory_check_every)
            if reason:
                browser.due_reason, became_due = reason, True
        quit_here = False
        with self._lock:
            self._lent -= 1
            if rendered and not broken:
                self.total_renders += 1
            if broken:
                if browser in self._live:
                    self._live.remove(browser)
                    self.browser_replacements += 1
                self._starter_wakeup.notify()
            elif browser not in self._live:  # its successor took over while it rendered
                if self._closed:
                    quit_here = True  # the retirer is shutting down; close() waits for this one
                    self._lent += 1
                else:
                    self._retire(browser)
            else:
                self._offer(browser)
                if became_due:
                    self._starter_wakeup.notify()
            if self._closed:
                self._browser_free.notify_all()
        if quit_here:
            browser.quit()
            with self._lock:
                self._lent -= 1
                self._browser_free.notify_all()
        if became_due:
            logger.info("browser due for recycling after %s; starting its successor in the background",
                        browser.due_reason)

    # -- the starter thread ------------------------------------------------

    def _start_needed(self) -> bool:
        return not self._closed and (len(self._live) < self.size or any(b.due_reason for b in self._live))

    def _run_starter(self) -> None:
        while True:
            with self._lock:
                self._starter_wakeup.wait_for(lambda: self._closed or self._start_needed())
                if self._closed:
                    return  # close() quits whatever is left
                failures = self.consecutive_start_failures
            if failures:
                delay = min(START_RETRY_MAX_DELAY_S, START_RETRY_FIRST_DELAY_S * 2 ** (failures - 1))
                with self._lock:
                    if self._starter_wakeup.wait_for(lambda: self._closed, timeout=delay):
                        return
            self._start_one()

    def _start_one(self) -> None:
        watchdog = StartWatchdog(self.start_timeout_s)
        with self._lock:
            if self._closed:
                watchdog.cancel()
                return
            self._starts_in_progress.add(watchdog)
        try:
            browser = WarmBrowser(self._host, watchdog=watchdog, **self._browser_options)
        except BrowserStartError as exc:
            with self._lock:
                self._starts_in_progress.discard(watchdog)
                if self._closed:
                    return
                self.start_failures += 1
                self.consecutive_start_failures += 1
                failures, serving = self.consecutive_start_failures, len(self._live)
            logger.error("could not start a browser (%d failed in a row, %d of %d serving): %s",
                         failures, serving, self.size, exc)
            return
        with self._lock:
            self._starts_in_progress.discard(watchdog)
            closed = self._closed
            if not closed:
                self.browser_starts += 1
                self.consecutive_start_failures = 0
                self.last_start_s = browser.start_s
                self.slowest_start_s = max(self.slowest_start_s, browser.start_s)
                retired = self._adopt(browser)
        if closed:
            browser.quit()
            return
        if retired is None:
            logger.info("browser started in %.1fs (%d of %d serving)", browser.start_s, len(self._live), self.size)
        else:
            logger.info("browser recycled after %s; its successor started in %.1fs and took over",
                        retired.due_reason, browser.start_s)

    def _adopt(self, browser: WarmBrowser) -> WarmBrowser | None:
        """Put a new browser into service (under the lock); if it is a
        successor, retire the browser it replaces and return that one."""
        self._live.append(browser)
        self._offer(browser)
        if len(self._live) <= self.size:
            return None
        old = next((b for b in self._live if b.due_reason), self._live[0])
        self._live.remove(old)
        self.browser_recycles += 1
        if old in self._idle:
            self._idle.remove(old)
            self._retire(old)
        # else: it is rendering; _give_back retires it when it returns.
        return old

    def _retire(self, browser: WarmBrowser) -> None:
        """Quit a replaced browser on the retirer thread (under the lock, pool open)."""
        self._retiring.append(browser)
        try:
            self._retirer.submit(self._quit_retired, browser)
        except RuntimeError:  # the interpreter is exiting: no new threads
            self._retiring.remove(browser)
            browser.kill()

    def _quit_retired(self, browser: WarmBrowser) -> None:
        try:
            browser.quit()
        finally:
            with self._lock:
                self._retiring.remove(browser)
