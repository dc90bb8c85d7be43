"""The warm page must not keep old charts alive.

BokehJS 3.x's PlotView adds a `visualViewport` "resize" listener that its
remove() leaves behind; before the host page dropped those listeners every
chart ever drawn stayed reachable (~200 DOM nodes and ~10 MB of renderer and
GPU memory per render), and browsers hit the memory bound after ~150 renders.
"""

from __future__ import annotations

import pytest

from bench import sample_charts
from render_svc.chart_figure import build_figure
from render_svc.browser_pool import RendererPool
from render_svc.browser_session import BrowserSession
from render_svc.figure_json import serialize
from render_svc.figure_templates import figure_item
from render_svc.warm_renderer import RenderTimings

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def dom_nodes_after_gc(session: BrowserSession) -> int:
    driver = session._browser.driver  # noqa: SLF001 - inspecting page memory is the point
    driver.execute_cdp_cmd("HeapProfiler.collectGarbage", {})
    return int(driver.execute_cdp_cmd("Memory.getDOMCounters", {})["nodes"])


def viewport_resize_listeners(session: BrowserSession) -> int:
    driver = session._browser.driver  # noqa: SLF001
    viewport = driver.execute_cdp_cmd("Runtime.evaluate", {"expression": "window.visualViewport"})
    listeners = driver.execute_cdp_cmd("DOMDebugger.getEventListeners",
                                       {"objectId": viewport["result"]["objectId"]})["listeners"]
    return sum(1 for listener in listeners if listener["type"] == "resize")


def test_old_charts_are_released(warm_session: BrowserSession) -> None:
    specs = [sample_charts.line_chart(), sample_charts.stacked_chart(), sample_charts.big_number_chart()]

    def render_some(count: int) -> None:
        for i in range(count):
            spec = specs[i % len(specs)]
            warm_session.render_serialized(serialize(build_figure(spec)), spec.width, spec.height)

    render_some(6)
    baseline = dom_nodes_after_gc(warm_session)
    render_some(30)
    # A leak would add ~200 nodes per render, i.e. thousands here.
    assert dom_nodes_after_gc(warm_session) <= baseline + 300
    assert viewport_resize_listeners(warm_session) <= 1  # the current chart's, at most


def heap_used_after_gc(session: BrowserSession) -> int:
    driver = session._browser.driver  # noqa: SLF001
    driver.execute_cdp_cmd("HeapProfiler.collectGarbage", {})
    return int(driver.execute_cdp_cmd("Runtime.getHeapUsage", {})["usedSize"])


def test_patching_the_page_keeps_no_old_data() -> None:
    """Renders that patch the page's document (FigureItem.patch) leave no
    nodes, listeners or heap behind either (each one replaces ~3 x 300 points)."""
    line, later = sample_charts.line_chart(points=300), sample_charts.line_chart(points=299)
    with BrowserSession() as session:
        def render_some(count: int) -> None:
            for i in range(count):
                spec = (line, later)[i % 2]
                session.render_serialized(figure_item(spec), spec.width, spec.height)
                assert i == 0 or session.last_timings.patched

        render_some(6)
        nodes, heap = dom_nodes_after_gc(session), heap_used_after_gc(session)
        render_some(40)
        assert dom_nodes_after_gc(session) <= nodes + 300
        assert viewport_resize_listeners(session) <= 1
        # Views kept per render would add ~200 nodes and MBs of heap each; the bound allows GC noise.
        assert heap_used_after_gc(session) <= heap + 2 * 1024**2


def test_render_timings_are_recorded_per_render(warm_session: BrowserSession) -> None:
    spec = sample_charts.line_chart()
    warm_session.render(build_figure(spec))
    timings = warm_session.last_timings
    assert isinstance(timings, RenderTimings)
    assert timings.embed_s > 0 and timings.capture_s > 0 and timings.attempts == 1


def test_pool_returns_the_timings_of_its_own_render() -> None:
    spec = sample_charts.big_number_chart()
    with RendererPool(size=1) as pool:
        rendered = pool.render_timed(serialize(build_figure(spec)), spec.width, spec.height)
    assert rendered.png[:8] == b"\x89PNG\r\n\x1a\n"
    assert rendered.timings.embed_s > 0 and rendered.timings.capture_s > 0
