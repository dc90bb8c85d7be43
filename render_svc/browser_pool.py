"""K warm browsers shared by threads: what the render service renders on."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from bokeh.models import LayoutDOM

from render_svc.chromium_driver import StartWatchdog
from render_svc.figure_json import FigureItem, figure_size, serialize
from render_svc.host_page import HostPage
from render_svc.render_errors import BrowserStartError, NoBrowserReadyError, RenderError, first_line
from render_svc.warm_renderer import BrowserOptions, RenderedImage, WarmBrowser, render_with_one_retry

logger = logging.getLogger(__name__)

# Waits between failed starts of a pool's browser: doubling from the first, capped.
START_RETRY_FIRST_DELAY_S = 0.5
START_RETRY_MAX_DELAY_S = 30.0


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

    def __init__(self, size: int | None = None, options: BrowserOptions = BrowserOptions()) -> None:
        self.size = size or os.cpu_count() or 1
        self.options = options
        self.render_timeout_s = options.render_timeout_s
        self._host = HostPage(options.viewport)
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

    def render(self, figure_or_json: LayoutDOM | FigureItem | str, width: int | None = None,
               height: int | None = None) -> bytes:
        """PNG bytes for a figure, or for a serialised ``json_item`` plus its size."""
        return self.render_timed(figure_or_json, width, height).png

    def render_timed(self, figure_or_json: LayoutDOM | FigureItem | str, width: int | None = None,
                     height: int | None = None, scale: float = 1.0) -> RenderedImage:
        """Like :meth:`render`, plus how long embedding and capturing took.

        The render gets ``render_timeout_s`` of browser time: a first attempt
        of at most FIRST_ATTEMPT_SHARE of it and, if that browser crashed or
        hung, one retry on another browser with the rest
        (render_svc.warm_renderer.render_with_one_retry). Waiting for a free
        browser is not browser time (it measures load, not a hang) and is
        bounded on its own, by ``render_timeout_s`` per wait; so a call returns
        or raises within :attr:`call_bound_s`, 3 x ``render_timeout_s`` (plus killing a broken browser).
        ``scale``: device pixels per CSS pixel (render_svc.warm_renderer.WarmBrowser.render)."""
        item: FigureItem | str
        if isinstance(figure_or_json, (str, FigureItem)):
            if width is None or height is None:
                raise ValueError("width and height are required when rendering serialised JSON")
            item = figure_or_json
        else:
            fig_width, fig_height = figure_size(figure_or_json)
            width, height = width or fig_width, height or fig_height
            item = serialize(figure_or_json)
        return render_with_one_retry(self, item, width, height, self.render_timeout_s, scale)

    def browser_pids(self) -> list[int]:
        """Chromium processes of the browsers serving now."""
        return [pid for browser in self.browsers for pid in browser.pids()]

    def rss_bytes(self) -> int:
        """Summed RSS of the serving and retiring browsers' process trees."""
        with self._lock:
            browsers = [*self._live, *self._retiring]
        return sum(browser.rss_bytes() for browser in browsers)

    def close(self, wait_s: float | None = None) -> None:
        """Quit every browser, within ``wait_s`` (default: one render budget).
        Renders in flight get that long to finish, since a selenium driver must
        not be closed from another thread mid-command; a start in progress is
        killed; the browsers then quit side by side, and whatever has not quit
        when the time is up is killed (a stopping service must not outlast its
        drain timeout waiting on a slow or hung Chromium)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._browser_free.notify_all()
            self._starter_wakeup.notify_all()
            starts = list(self._starts_in_progress)
        for watchdog in starts:
            watchdog.expire()
        deadline = time.monotonic() + (self.render_timeout_s if wait_s is None else wait_s)
        with self._lock:
            if not self._browser_free.wait_for(lambda: self._lent == 0, timeout=seconds_left(deadline)):
                logger.warning("closing %d browser(s) that are still rendering", self._lent)
        # The starter returns once its start (killed above) has failed.
        self._starter.join(timeout=seconds_left(deadline))
        self._retirer.shutdown(wait=False)
        with self._lock:
            browsers = list(self._live)
            self._live.clear()
            self._idle.clear()
        quitting = [threading.Thread(target=browser.quit, name="chromium-quit", daemon=True) for browser in browsers]
        for thread in quitting:
            thread.start()
        for thread in quitting:
            thread.join(timeout=seconds_left(deadline))
        with self._lock:
            self._browser_free.wait_for(lambda: not self._retiring, timeout=seconds_left(deadline))
            retiring = list(self._retiring)
        stuck = [b for b, thread in zip(browsers, quitting) if thread.is_alive()] + retiring
        if stuck:
            logger.warning("killing %d browser(s) that did not quit in time", len(stuck))
        for browser in stuck:
            browser.kill()
        self._host.remove()

    def __enter__(self) -> RendererPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- lending to render_with_one_retry ---------------------------------

    def borrow(self, last_error: BaseException | None) -> WarmBrowser:
        """An idle browser, or the next one given back, first come first
        served (a caller that gives a browser back and borrows again at once
        must not overtake one that was already waiting: under load it could
        do so every time); NoBrowserReadyError after ``render_timeout_s``."""
        deadline = time.monotonic() + self.render_timeout_s
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
                    after = f" after {first_line(last_error)}" if last_error else ""
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

    def give_back(self, browser: WarmBrowser, *, broken: bool = False, rendered: bool = True) -> None:
        became_due = False
        if broken:
            browser.kill()  # SIGKILL is quick; a hung browser must not keep a core busy
        elif not browser.due_reason:
            reason = self.options.recycle_reason(browser)
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
        watchdog = StartWatchdog(self.options.start_timeout_s)
        with self._lock:
            if self._closed:
                watchdog.cancel()
                return
            self._starts_in_progress.add(watchdog)
        try:
            browser = self.options.start(self._host, watchdog)
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
        # else: it is rendering; give_back retires it when it returns.
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
                self._browser_free.notify_all()   # close() may be waiting for the retiring


def seconds_left(deadline: float) -> float:
    """Seconds until the monotonic `deadline`, never negative (a bounded wait's timeout)."""
    return max(0.0, deadline - time.monotonic())
