"""Issue 10's options drawn by the warm renderer in real Chromium, checked on the decoded PNGs:
sizes per scale (and sharper, not upscaled), the dark theme's background, annotation
markers and spans where their times are, the axis in New York time, units on the ticks.

With CHARTSNAP_WRITE_SCREENSHOTS=1 the last test also writes docs/images/annotated-line.png,
docs/images/dark-retina-bignumber.png and docs/images/stacked-new-york.png (the README's
pictures of these options), each with its summary in a tEXt chunk as the worker stores it.
"""

from __future__ import annotations

import dataclasses
import io
import math
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench import sample_charts as sc
from render_svc import figure_style as style
from render_svc.browser_session import BrowserSession
from render_svc.chart_plan import plan_figure
from render_svc.chart_spec import Annotation, ChartSpec, SeriesSpec, Threshold
from render_svc.figure_templates import figure_item_json
from render_svc.png_text import SOFTWARE, with_text
from tests.integration.render.test_warm_renderer import count_pixels_near, decode_png, hex_to_rgb

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

DOCS_IMAGES = Path(__file__).resolve().parents[3] / "docs" / "images"
WRITE_SCREENSHOTS = os.environ.get("CHARTSNAP_WRITE_SCREENSHOTS") == "1"
NY = "America/New_York"
LINE = sc.line_chart()


def _render(session: BrowserSession, spec: ChartSpec, scale: float = 1.0) -> np.ndarray:
    return decode_png(session.render_serialized(figure_item_json(spec), spec.width, spec.height, scale=scale))


def _x_pixel(session: BrowserSession, t_ms: float) -> float:
    """Where BokehJS put the instant ``t_ms`` on the x axis of the chart just drawn (CSS px)."""
    driver = session._browser.driver  # noqa: SLF001 - reading the drawn page is the point
    return driver.execute_script("return Bokeh.index.roots[0].frame.x_scale.compute(arguments[0])", t_ms)


def _frame(session: BrowserSession) -> tuple[int, int, int, int]:
    driver = session._browser.driver  # noqa: SLF001
    return tuple(driver.execute_script(
        "const b = Bokeh.index.roots[0].frame.bbox; return [b.x0, b.x1, b.y0, b.y1]"))


def _blend(color: str, alpha: float, on: str) -> np.ndarray:
    return (hex_to_rgb(color) * alpha + hex_to_rgb(on) * (1 - alpha)).round()


def _annotated(spec: ChartSpec, *events: tuple[float, float | None, str]) -> ChartSpec:
    return dataclasses.replace(spec, annotations=tuple(
        Annotation(title=title, start=spec.start + start, end=None if end is None else spec.start + end,
                   stream="deploys") for start, end, title in events))


# -- scale ------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1, 2, 3, 1.5])
def test_png_is_scale_times_the_css_size(warm_session: BrowserSession, scale: float) -> None:
    for spec in (LINE, sc.big_number_chart(), dataclasses.replace(sc.stacked_chart(), width=500, height=300)):
        pixels = _render(warm_session, spec, scale)
        assert pixels.shape == (round(spec.height * scale), round(spec.width * scale), 3)


def test_scale_2_is_drawn_sharper_not_upscaled(warm_session: BrowserSession) -> None:
    one = _render(warm_session, LINE, 1)
    two = _render(warm_session, LINE, 2)
    again = _render(warm_session, LINE, 1)
    assert np.array_equal(one, again), "a scale-1 render after a scale-2 one is as before"
    downscaled = np.asarray(Image.fromarray(two).resize((600, 416), Image.Resampling.BOX)).astype(np.int16)
    # The same drawing: averaged back down, the 2x image is close to the 1x one...
    assert np.abs(downscaled - one.astype(np.int16)).mean() < 3.0
    # ... but it is not the 1x bitmap blown up: edges and text have detail of their own.
    for resampling in (Image.Resampling.NEAREST, Image.Resampling.BILINEAR):
        upscaled = np.asarray(Image.fromarray(one).resize((1200, 832), resampling)).astype(np.int16)
        assert np.abs(two.astype(np.int16) - upscaled).mean() > 1.0
    # Blown up, every 2x2 block would be one colour; drawn at 2x, ink edges fall inside blocks.
    blocks = two.astype(np.int16).reshape(416, 2, 600, 2, 3)
    mixed = (blocks.max(axis=(1, 3)) - blocks.min(axis=(1, 3))).max(axis=2) > 16
    assert mixed.sum() > 3000


# -- theme ------------------------------------------------------------------


@pytest.mark.parametrize("spec", [LINE, sc.stacked_chart(), sc.big_number_chart(), sc.empty_chart("line")],
                         ids=["line", "stacked", "bignumber", "no-data"])
def test_dark_theme_draws_on_a_dark_background(warm_session: BrowserSession, spec: ChartSpec) -> None:
    pixels = _render(warm_session, dataclasses.replace(spec, theme="dark"))
    background = hex_to_rgb(style.DARK.background)
    for corner in (pixels[0, 0], pixels[0, -1], pixels[-1, 0], pixels[-1, -1], pixels[2, 300]):
        assert np.abs(corner.astype(np.int16) - background).max() <= 3, corner
    # (A stack covers most of its plot; the margins, legend and axes are still the background.)
    assert count_pixels_near(pixels, background, tolerance=3) > 0.25 * pixels.shape[0] * pixels.shape[1]
    # Light text: the title is drawn in the dark theme's near-white.
    assert count_pixels_near(pixels[:30], hex_to_rgb(style.DARK.title), tolerance=10) >= 20
    assert count_pixels_near(pixels, np.array([255, 255, 255]), tolerance=3) < 50


def test_dark_retina_big_number(warm_session: BrowserSession) -> None:
    spec = dataclasses.replace(sc.big_number_chart(1234.5, thresholds=(Threshold(">", 1000, "yellow"),)), theme="dark")
    pixels = _render(warm_session, spec, 2)
    assert pixels.shape == (832, 1200, 3)
    assert count_pixels_near(pixels, hex_to_rgb(style.DARK.background), tolerance=3) > 0.6 * 832 * 1200
    assert count_pixels_near(pixels, hex_to_rgb(style.DARK.threshold_colors["yellow"]), tolerance=4) > 20_000


# -- annotations --------------------------------------------------------------


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("base", [LINE, sc.stacked_chart()], ids=["line", "stacked"])
def test_annotation_marker_and_span_where_their_times_are(warm_session: BrowserSession, base: ChartSpec,
                                                          theme: str) -> None:
    spec = _annotated(dataclasses.replace(base, theme=theme), (900, None, "deploy v42"),
                      (1500, 2400, "incident"))
    colors = style.theme_named(theme)
    pixels = _render(warm_session, spec)
    x0, x1, y0, y1 = _frame(warm_session)
    below_labels = slice(y0 + 3 * 13 + 6, y1 - 2)   # under the label rows
    marker = round(_x_pixel(warm_session, (spec.start + 900) * 1000))
    line_rgb = hex_to_rgb(colors.annotation)
    assert count_pixels_near(pixels[below_labels, marker - 1:marker + 2], line_rgb, tolerance=40) >= 80
    quiet = round(_x_pixel(warm_session, (spec.start + 3300) * 1000))
    assert count_pixels_near(pixels[below_labels, quiet - 1:quiet + 2], line_rgb, tolerance=40) <= 3
    # The span's wash: the plot's background tinted, only between its start and end.
    wash = _blend(colors.annotation, colors.annotation_fill_alpha, colors.background)
    span_left = round(_x_pixel(warm_session, (spec.start + 1500) * 1000))
    span_right = round(_x_pixel(warm_session, (spec.start + 2400) * 1000))
    inside = pixels[y0 + 3:y1 - 2, span_left + 3:span_right - 2]
    outside = pixels[y0 + 3:y1 - 2, quiet - 20:quiet + 20]
    assert count_pixels_near(inside, wash, tolerance=3) >= 500
    assert count_pixels_near(outside, wash, tolerance=3) == 0
    # The label is drawn (text in the annotation's colour near the top of the marker).
    assert count_pixels_near(pixels[y0:y0 + 16, marker:marker + 80], hex_to_rgb(colors.annotation_text),
                             tolerance=30) >= 10


def test_annotations_outside_the_window_draw_nothing(warm_session: BrowserSession) -> None:
    plain = _render(warm_session, LINE)
    outside = _render(warm_session, _annotated(LINE, (-900, -300, "before"), (3700, None, "after")))
    assert np.array_equal(plain, outside)


def test_many_annotations_are_bounded_and_counted(warm_session: BrowserSession) -> None:
    spec = _annotated(LINE, *[(60 + 250 * i, None, f"deploy build-{i}") for i in range(13)])
    plan = plan_figure(spec)
    assert len(plan.annotations.marks) == 8 and plan.annotations.more_text == "+5 more"
    pixels = _render(warm_session, spec)
    x0, x1, y0, y1 = _frame(warm_session)
    line_rgb = hex_to_rgb(style.LIGHT.annotation)
    below = slice(y0 + 50, y1 - 2)
    drawn = [round(_x_pixel(warm_session, (spec.start + 60 + 250 * i) * 1000)) for i in range(13)]
    marked = [count_pixels_near(pixels[below, x - 1:x + 2], line_rgb, tolerance=40) >= 60 for x in drawn]
    assert marked == [True] * 8 + [False] * 5
    # "+5 more" at the top right: the only difference from the same chart with the eight drawn events alone.
    eight = _render(warm_session, dataclasses.replace(spec, annotations=spec.annotations[:8]))
    changed = np.abs(pixels.astype(np.int16) - eight).max(axis=2) > 24
    assert changed[y0:y0 + 16, x1 - 60:x1].sum() >= 30
    assert changed.sum() == changed[y0:y0 + 16, x1 - 60:x1].sum()


# -- time zone ------------------------------------------------------------------


def test_stacked_chart_in_new_york_time(warm_session: BrowserSession) -> None:
    utc_spec = sc.stacked_chart()
    ny_spec = dataclasses.replace(utc_spec, timezone=NY)
    plan = plan_figure(ny_spec)
    assert plan.window.caption == "2024-05-01 10:05 – 11:05 EDT"
    assert [label for _, label in plan.window.ticks] == ["10:10", "10:20", "10:30", "10:40", "10:50", "11:00"]
    utc = _render(warm_session, utc_spec)
    ny = _render(warm_session, ny_spec)
    x0, x1, y0, y1 = _frame(warm_session)
    # The same data in the same places (New York's ticks fall on the same instants as UTC's
    # here, four hours apart on the clock) ...
    assert np.array_equal(utc[y0:y1, x0:x1], ny[y0:y1, x0:x1])
    # ... and different words under it: the tick labels and the caption.
    tick_labels = slice(y1 + 4, y1 + 20)
    caption = slice(y1 + 22, y1 + 40)
    assert np.abs(utc[tick_labels].astype(np.int16) - ny[tick_labels]).max(axis=2).astype(bool).sum() > 100
    assert np.abs(utc[caption].astype(np.int16) - ny[caption]).max(axis=2).astype(bool).sum() > 50
    # A tick at 10:30 New York time is drawn where 14:30 UTC is.
    tick_x = round(_x_pixel(warm_session, plan.window.ticks[2][0]))
    assert plan.window.ticks[2][0] == (utc_spec.start + 25 * 60) * 1000
    grid = hex_to_rgb(style.GRID_COLOR)
    column = ny[y0 + 2:y1 - 2, tick_x - 1:tick_x + 2]
    assert count_pixels_near(ny[y1:y1 + 5, tick_x - 1:tick_x + 2], hex_to_rgb(style.AXIS_COLOR), tolerance=6) >= 3
    assert count_pixels_near(column, grid, tolerance=3) + count_pixels_near(column, np.array([255, 255, 255])) > 0


def test_ticks_across_a_dst_change_in_the_browser(warm_session: BrowserSession) -> None:
    # 2024-11-03 04:00-08:00 UTC: New York goes from EDT back to EST at 06:00 UTC.
    start, end = 1730606400.0, 1730620800.0
    times = tuple(start + 60 * i for i in range(241))
    spec = ChartSpec(title="Fall back", chart_type="line", start=start, end=end, timezone=NY,
                     series=(SeriesSpec("a", None, times, tuple(float(i % 30) for i in range(241))),))
    plan = plan_figure(spec)
    labels = [label for _, label in plan.window.ticks]
    assert labels == ["00:00", "01:00", "01:00 EST", "02:00", "03:00"]
    assert plan.window.caption == "2024-11-03 00:00 EDT – 03:00 EST"
    pixels = _render(warm_session, spec)
    assert pixels.shape == (416, 600, 3)
    positions = [_x_pixel(warm_session, t) for t, _ in plan.window.ticks]
    gaps = np.diff(positions)
    assert np.allclose(gaps, gaps[0], atol=0.5), "ticks evenly spaced in real time"


# -- units --------------------------------------------------------------------------


def test_units_widen_the_y_tick_labels(warm_session: BrowserSession) -> None:
    plain = _render(warm_session, LINE)
    _, _, _, _ = _frame(warm_session)
    plain_left = _frame(warm_session)[0]
    with_units = _render(warm_session, dataclasses.replace(LINE, y_units_short="ms"))
    units_left = _frame(warm_session)[0]
    # "250 ms" is wider than "250": the plot starts further right, and the labels are drawn.
    assert units_left > plain_left + 10
    assert plain.shape == with_units.shape
    label_band = with_units[:, plain_left - 40:units_left - 4]
    assert count_pixels_near(label_band, hex_to_rgb(style.TEXT_COLOR), tolerance=40) >= 30


# -- the README's pictures ------------------------------------------------------------


def _screenshot_specs() -> dict[str, tuple[ChartSpec, float, str]]:
    line = dataclasses.replace(sc.line_chart(), title="API latency p95", y_label="", y_units_short="ms")
    annotated = _annotated(line, (600, None, "deploy api v2.14.0"), (1380, 2280, "incident #4821: queue backlog"),
                           (1500, None, "rollback to v2.13.2"), (3480, None, "deploy api v2.14.1"))
    big = dataclasses.replace(sc.big_number_chart(1234.5, thresholds=(Threshold(">", 1000, "yellow"),)),
                              theme="dark")
    # A night when New York's clocks go back (2024-11-03, 01:00-02:00 twice), 23:00 EDT to 04:00 EST.
    start, end = 1730602800.0, 1730620800.0
    stacked = sc.stacked_chart(points=150)
    times = tuple(start + i * 120.0 for i in range(151))
    series = tuple(SeriesSpec(label, None, times, tuple(
        base * (1 + 0.25 * math.sin(i / 19.0 + n) + 0.08 * math.sin(i / 4.0 + 2 * n)) for i in range(151)))
        for n, (label, base) in enumerate((("GET", 900.0), ("POST", 600.0), ("DELETE", 250.0))))
    new_york = dataclasses.replace(stacked, start=start, end=end, series=series, timezone=NY,
                                   title="Requests per second by method (New York time)", y_units_short="req/s",
                                   y_label="")
    return {
        "annotated-line.png": (annotated, 1.0, "API latency p95: prod, web-3 peaked at 247 ms; 3 streams, "
                                               "4 annotations"),
        "dark-retina-bignumber.png": (big, 2.0, "Active connections: 1,234.5 conn"),
        "stacked-new-york.png": (new_york, 1.0, "Requests per second by method: 3 streams, New York time"),
    }


def test_readme_pictures(warm_session: BrowserSession) -> None:
    for name, (spec, scale, summary) in _screenshot_specs().items():
        png = with_text(warm_session.render_serialized(figure_item_json(spec), spec.width, spec.height, scale=scale),
                        {"Software": SOFTWARE, "Description": summary})
        with Image.open(io.BytesIO(png)) as image:
            assert image.size == (round(spec.width * scale), round(spec.height * scale))
            assert image.text == {"Software": "chartsnap", "Description": summary}
        if WRITE_SCREENSHOTS:
            (DOCS_IMAGES / name).write_bytes(png)
