"""Fast render path: a long-lived headless Chromium that keeps BokehJS loaded.

bokeh's ``export_png`` writes a ~1 MB HTML file (inline BokehJS), reloads the
page, resizes the window and screenshots the whole viewport for every image.
Here the page with BokehJS (render_svc.host_page) is loaded once per browser;
each render only ships the ``json_item`` of the figure, embeds it into a fixed
div, waits for BokehJS to report the document idle and captures just that div
with CDP.

:class:`WarmBrowser` is one such browser; :class:`BrowserOptions` says how
each one is started, bounded and recycled, and starts them
(:meth:`BrowserOptions.start`). Two owners keep browsers:
render_svc.browser_pool.RendererPool (what the service uses: K browsers, never
started inside a render) and render_svc.browser_session.BrowserSession (one
browser restarted in place, for single-threaded use: the benchmark). Both
render through :func:`render_with_one_retry`.
"""

from __future__ import annotations

import base64
import functools
import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

from selenium.common.exceptions import WebDriverException
from urllib3.exceptions import HTTPError as Urllib3HTTPError

from chartsnap.budgets import RENDER_TIMEOUT_S
from chartsnap.charts import DEFAULT_SIZE
from render_svc.cdp_socket import CdpSocket, page_websocket_url
from render_svc.chromium_driver import (
    DEFAULT_CHROMEDRIVER_PATH,
    DEFAULT_CHROMIUM_PATH,
    StartWatchdog,
    rss_bytes,
    start_chromium,
)
from render_svc.figure_json import FigureItem, serialize
from render_svc.host_page import HostPage, embed_expression, patch_expression
from render_svc.render_errors import (
    BrowserCrashedError,
    BrowserStartError,
    ChartScriptError,
    RenderTimeoutError,
    first_line,
)

logger = logging.getLogger(__name__)

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
# A page that keeps a template's document patches it for the next render of
# that shape (FigureItem.patch, ~3x less page work than an embed); every this
# many renders in a row it embeds the whole item afresh anyway, so that nothing
# BokehJS keeps between patches can build up for long. 1 embeds every render
# afresh (no patches).
DEFAULT_FULL_EMBED_EVERY = 50
# Share of the render budget the first attempt may use before its browser is
# declared hung and replaced; the rest is for a retry on another browser.
FIRST_ATTEMPT_SHARE = 0.4

# Errors that mean "this browser is broken or stuck": replace it and retry.
# urllib3/OS errors show up when chromedriver died or did not answer in time.
# OSError includes CdpError: the page's DevTools socket failed or did not
# answer in time.
BROWSER_FAILURES: tuple[type[BaseException], ...] = (WebDriverException, Urllib3HTTPError, OSError)


@dataclass(frozen=True)
class RenderTimings:
    """Where the time of one render went (seconds), for metrics and the benchmark."""

    embed_s: float = 0.0    # shipping the json_item (or patch) to the page until BokehJS reports it painted
    capture_s: float = 0.0  # CDP screenshot of the element, decoded to PNG bytes
    attempts: int = 1       # 2 when the browser was replaced and the render retried
    patched: bool = False   # the page patched the document it held instead of embedding the item


@dataclass(frozen=True)
class RenderedImage:
    png: bytes
    timings: RenderTimings


@dataclass(frozen=True)
class BrowserOptions:
    """How every warm browser of a pool or session is started, bounded and
    recycled; :meth:`start` is the one way to start one."""

    max_renders: int = DEFAULT_MAX_RENDERS          # recycle after this many renders
    max_rss_bytes: int = DEFAULT_MAX_RSS_BYTES      # ... or once its process tree is this big
    memory_check_every: int = DEFAULT_MEMORY_CHECK_EVERY  # renders between two memory reads
    full_embed_every: int = DEFAULT_FULL_EMBED_EVERY      # a fresh embed at least every this many renders
    # Render commands straight over the page's DevTools websocket
    # (render_svc.cdp_socket) rather than through chromedriver.
    cdp_over_websocket: bool = True
    render_timeout_s: float = DEFAULT_RENDER_TIMEOUT_S    # one render, its retry included
    start_timeout_s: float = DEFAULT_START_TIMEOUT_S      # one cold start plus warm-up
    chromium_path: str = DEFAULT_CHROMIUM_PATH
    chromedriver_path: str = DEFAULT_CHROMEDRIVER_PATH
    viewport: tuple[int, int] = DEFAULT_SIZE        # grows on demand for larger charts

    def __post_init__(self) -> None:
        if self.max_renders < 1:
            raise ValueError("max_renders must be >= 1")
        if self.full_embed_every < 1:
            raise ValueError("full_embed_every must be >= 1")
        object.__setattr__(self, "memory_check_every", max(1, self.memory_check_every))

    def start(self, host: HostPage, watchdog: StartWatchdog | None = None) -> WarmBrowser:
        """A warm browser on ``host``, or BrowserStartError within the start
        timeout (``watchdog``'s, when given: a pool keeps it to cut a start short)."""
        return WarmBrowser(host, self, watchdog)

    def recycle_reason(self, browser: WarmBrowser) -> str:
        """Why ``browser`` should be recycled now ("" if it should not). Reads
        /proc (~2 ms) only every ``memory_check_every`` renders."""
        if browser.renders >= self.max_renders:
            return f"{browser.renders} renders"
        if browser.renders and browser.renders % self.memory_check_every == 0:
            rss = browser.rss_bytes()
            if rss > self.max_rss_bytes:
                return f"RSS {rss / 2**20:.0f} MiB > {self.max_rss_bytes / 2**20:.0f} MiB"
        return ""


class WarmBrowser:
    """One Chromium with the host page loaded and warmed up, ready to render.

    Starting is the constructor (see :meth:`BrowserOptions.start`): it either
    returns a warm browser or raises :class:`BrowserStartError`, within the
    start timeout (a watchdog kills a start that outlasts it). Not
    thread-safe: one caller at a time."""

    def __init__(self, host: HostPage, options: BrowserOptions, watchdog: StartWatchdog | None = None) -> None:
        started = time.monotonic()
        watchdog = watchdog or StartWatchdog(options.start_timeout_s)
        deadline = started + watchdog.timeout_s
        self.renders = 0         # successful renders since the start (warm-up excluded)
        self.due_reason = ""     # why it is due for recycling, once it is
        self._viewport: tuple[int, int] = (0, 0)
        self._scale = 1.0        # the device scale factor the page is emulating
        self.last_marks: dict[str, float] = {}  # the page's ms marks of the latest embed (warm_page/embed.js)
        self.last_patched = False  # the latest render patched the page's document
        self.patch_fallbacks = 0   # patches the page could not apply (then the item was embedded)
        self._full_embed_every = options.full_embed_every
        # The template root the page shows (None: unknown or not from a template)
        # and how many renders in a row it has been patched since its embed.
        self._shown_root: str | None = None
        self._patches_in_a_row = 0
        self._cdp: CdpSocket | None = None
        try:
            self._process = start_chromium(options.chromium_path, options.chromedriver_path,
                                           window_size=host.viewport, watchdog=watchdog)
        except Exception as exc:  # noqa: BLE001 - selenium raises many types here
            watchdog.cancel()
            raise BrowserStartError(f"could not start Chromium{_expiry(watchdog)}: {first_line(exc)}") from exc
        try:
            driver = self._process.driver
            remaining = max(1.0, deadline - time.monotonic())
            driver.command_executor.client_config.timeout = remaining
            driver.set_page_load_timeout(remaining)
            driver.set_script_timeout(options.render_timeout_s)
            driver.get(host.path.as_uri())
            if not driver.execute_script("return typeof Bokeh !== 'undefined' && !!Bokeh.embed"):
                raise BrowserStartError("BokehJS did not load in the host page")
            if options.cdp_over_websocket:
                remaining = max(1.0, deadline - time.monotonic())
                address = driver.capabilities["goog:chromeOptions"]["debuggerAddress"]
                self._cdp = CdpSocket(page_websocket_url(address, host.path.as_uri(), remaining), remaining)
            self._set_viewport(*host.viewport, deadline=deadline)
            # The first embed in a fresh page pays for JIT compilation and font
            # loading (~200-300 ms); do it now rather than in a user's request.
            for warm_up_json, width, height in _warm_up_items():
                self.render(warm_up_json, width, height, deadline)
        except Exception as exc:  # noqa: BLE001
            watchdog.cancel()
            self.kill()
            if isinstance(exc, BrowserStartError) and not watchdog.fired.is_set():
                raise
            raise BrowserStartError(f"could not load the host page{_expiry(watchdog)}: {first_line(exc)}") from exc
        watchdog.cancel()
        if watchdog.fired.is_set():  # it fired between the last step and cancel()
            self.kill()
            raise BrowserStartError(f"Chromium did not start within {watchdog.timeout_s:.0f}s")
        self.renders = 0
        self.start_s = time.monotonic() - started

    @property
    def driver(self):  # noqa: ANN201 - selenium WebDriver
        return self._process.driver

    def render(self, item: FigureItem | str, width: int, height: int,
               deadline: float, scale: float = 1.0) -> tuple[bytes, float, float]:
        """PNG bytes plus the seconds spent embedding and capturing, by ``deadline``.

        ``item``: a json_item string, or a FigureItem, whose patch is applied
        when the page still shows its template's document (pixel-identical to
        the whole item's: tests/integration/render/test_warm_patch.py); a
        patch the page cannot apply falls back to embedding the whole item.
        ``scale`` is device pixels per CSS pixel: the PNG is about width*scale x
        height*scale pixels, drawn that sharp (BokehJS sizes its canvases by
        the page's devicePixelRatio, which the emulated device scale sets)."""
        if deadline - time.monotonic() <= 0:
            raise RenderTimeoutError("no time left in the render budget")
        shown_root, self._shown_root = self._shown_root, None  # unknown until this render succeeds
        if width > self._viewport[0] or height > self._viewport[1] or scale != self._scale:
            # Only when something changed: a run of renders at one scale pays no round trip.
            self._set_viewport(max(width, self._viewport[0]), max(height, self._viewport[1]), scale, deadline)
            shown_root = None  # drawn at another size or scale: embed afresh

        embed_started = time.perf_counter()
        result: dict[str, Any] | None = None
        if (isinstance(item, FigureItem) and item.patch is not None and item.root_id == shown_root
                and self._patches_in_a_row + 1 < self._full_embed_every):
            result = self._evaluate(patch_expression(item.root_id, item.patch), deadline)
            if "error" in result or "stale" in result:
                self.patch_fallbacks += 1
                logger.warning("the page could not apply a patch, embedding the whole item: %s",
                               first_line(str(result.get("error") or result.get("stale")))[:300])
                result = None
        self.last_patched = result is not None
        if result is None:
            item_json = item.json if isinstance(item, FigureItem) else item
            result = self._evaluate(embed_expression(item_json, width, height), deadline)
            if "error" in result:
                raise ChartScriptError(f"BokehJS failed to render the chart: {result['error']}")
        capture_started = time.perf_counter()
        self.last_marks = result.get("marks") or {}

        shot = self._command("Page.captureScreenshot", {
            "format": "png",
            "clip": {"x": result["x"], "y": result["y"], "width": width, "height": height, "scale": 1},
            "captureBeyondViewport": False,
            "optimizeForSpeed": True,
        }, deadline)
        png = base64.b64decode(shot["data"])
        self.renders += 1
        self._patches_in_a_row = self._patches_in_a_row + 1 if self.last_patched else 0
        self._shown_root = item.root_id if isinstance(item, FigureItem) else None
        return png, capture_started - embed_started, time.perf_counter() - capture_started

    def _command(self, method: str, params: dict[str, Any], deadline: float) -> Any:
        """One CDP command's result by the monotonic ``deadline``: over the
        page's DevTools socket, or through chromedriver, whose HTTP read
        timeout then bounds it. Either way a hung browser surfaces as an
        exception (one of BROWSER_FAILURES) instead of blocking forever."""
        if self._cdp is not None:
            return self._cdp.call(method, params, deadline)
        driver = self._process.driver
        # Client-side state: changing it per command costs no round trip (unlike
        # set_script_timeout, which is set once per browser as a backstop).
        driver.command_executor.client_config.timeout = max(0.001, deadline - time.monotonic())
        return driver.execute_cdp_cmd(method, params)

    def _evaluate(self, expression: str, deadline: float) -> dict[str, Any]:
        """The value the page's promise ``expression`` resolves with: one CDP
        command, bounded by ``deadline`` (a promise that never settles
        surfaces as a browser failure, like a hang)."""
        evaluated: Any = self._command("Runtime.evaluate", {
            "expression": expression, "awaitPromise": True, "returnByValue": True,
        }, deadline)
        result = (evaluated.get("result") or {}).get("value") if isinstance(evaluated, dict) else None
        if not isinstance(result, dict) or "exceptionDetails" in evaluated:
            # The page itself is broken (no chartsnapEmbed): never render on it again.
            raise WebDriverException(f"unexpected result from the embed script: {first_line(str(evaluated))[:300]}")
        return result

    def pids(self) -> list[int]:
        """Chromium processes (chromedriver excluded)."""
        return self._process.browser_pids()

    def process_tree_pids(self) -> list[int]:
        """chromedriver and every process below it."""
        return self._process.process_tree_pids()

    def rss_bytes(self) -> int:
        return rss_bytes(self._process.process_tree_pids())

    def quit(self) -> None:
        self._close_cdp()
        self._process.quit()

    def kill(self) -> None:
        """For a crashed or hung browser, which may not answer quit()."""
        self._close_cdp()
        self._process.kill()

    def _close_cdp(self) -> None:
        cdp, self._cdp = self._cdp, None
        if cdp is not None:
            cdp.close()

    def _set_viewport(self, width: int, height: int, scale: float = 1.0, deadline: float | None = None) -> None:
        # Device metrics give an exact CSS viewport (window sizes include
        # browser chrome in some modes); we only grow it, so alternating sizes
        # do not cause relayouts on every render. The device scale factor is
        # set per render only when it changes (the next embed draws at it).
        if deadline is None:
            deadline = time.monotonic() + DEFAULT_RENDER_TIMEOUT_S
        self._command("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": scale, "mobile": False,
        }, deadline)
        self._viewport = (width, height)
        self._scale = scale


def _expiry(watchdog: StartWatchdog) -> str:
    return f" within {watchdog.timeout_s:.0f}s" if watchdog.fired.is_set() else ""


class BrowserLender(Protocol):
    """Where :func:`render_with_one_retry` gets a browser for each attempt and
    gives it back: a pool's idle browsers, or a session's one browser."""

    def borrow(self, last_error: BaseException | None) -> WarmBrowser: ...

    def give_back(self, browser: WarmBrowser, *, broken: bool = False, rendered: bool = True) -> None:
        """``broken``: never render on it again; ``rendered``: it drew the chart."""


def render_with_one_retry(lender: BrowserLender, item: FigureItem | str, width: int, height: int,
                          render_timeout_s: float, scale: float = 1.0) -> RenderedImage:
    """Render on a borrowed browser within ``render_timeout_s`` of browser time:
    a first attempt of at most FIRST_ATTEMPT_SHARE of it and, if that browser
    crashed or hung, one retry on another browser with the rest. A chart that
    BokehJS rejects (ChartScriptError) is not retried."""
    budget_left = render_timeout_s
    last_error: BaseException | None = None
    for attempt in (1, 2):
        browser = lender.borrow(last_error)
        attempt_started = time.monotonic()
        attempt_budget = budget_left * FIRST_ATTEMPT_SHARE if attempt == 1 else budget_left
        try:
            png, embed_s, capture_s = browser.render(item, width, height, attempt_started + attempt_budget,
                                                     scale)
        except ChartScriptError:
            lender.give_back(browser, rendered=False)
            raise
        except (RenderTimeoutError, *BROWSER_FAILURES) as exc:
            budget_left -= time.monotonic() - attempt_started
            last_error = exc
            logger.warning("render attempt %d failed (%s: %s); replacing that browser",
                           attempt, type(exc).__name__, first_line(exc))
            lender.give_back(browser, broken=True)
            if budget_left <= 0:
                break
            continue
        except BaseException:
            lender.give_back(browser, broken=True)  # state unknown: never render on it again
            raise
        lender.give_back(browser)
        return RenderedImage(png, RenderTimings(embed_s, capture_s, attempt, browser.last_patched))
    if budget_left <= 0 or isinstance(last_error, RenderTimeoutError):
        raise RenderTimeoutError(
            f"render did not finish within {render_timeout_s:.1f}s: {last_error}") from last_error
    raise BrowserCrashedError(f"two attempts failed rendering one chart: {last_error}") from last_error


@functools.cache
def _warm_up_items() -> tuple[tuple[str, int, int], ...]:
    # Imported lazily: the renderer itself does not depend on chart types.
    from render_svc.chart_figure import build_figure
    from render_svc.warm_up_charts import warm_up_specs

    return tuple((serialize(build_figure(spec)), spec.width, spec.height) for spec in warm_up_specs())
