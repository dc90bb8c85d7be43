"""Why a chart could not be rendered to PNG, as the worker tells them apart:
a ChartScriptError is the chart's own fault (not retried); every other
RenderError is the renderer's (retried within the budget)."""

from __future__ import annotations


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


def first_line(exc: BaseException) -> str:
    """An error's message without the long native stack trace selenium appends."""
    return (str(exc).splitlines() or [""])[0]
