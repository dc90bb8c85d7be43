"""A page that keeps a template's document and patches it (FigureItem.patch,
BrowserOptions.full_embed_every > 1) against a fresh embed of the same item.

One browser renders a run of charts that mixes data, titles, windows, y
ranges, annotations, series counts, themes and chart types (some renders
patch, some embed afresh); every PNG, decoded, is compared pixel for pixel
with what a fresh page (always the whole item, never a patch) draws for the
same item. (A repaint that blended with the previous image -- BokehJS clears
its layers half a pixel off -- showed as 9 pixels at a line legend's glyph
ends and as a dark chart's top row and left column: warm_page/embed.js.)
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import numpy as np
import pytest

from bench import sample_charts
from bench.stock_export import stock_export_png
from render_svc.browser_session import BrowserSession
from render_svc.chart_figure import build_figure
from render_svc.chart_spec import Annotation, ChartSpec
from render_svc.figure_json import FigureItem
from render_svc.figure_templates import figure_item
from render_svc.warm_renderer import BrowserOptions
from tests.integration.render.test_warm_renderer import decode_png

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def _shifted(spec: ChartSpec, by_s: float, scale: float, title: str) -> ChartSpec:
    """Another window, other values (so other y ticks and range), labels and title; same shape."""
    series = tuple(dataclasses.replace(s, label=f"{s.label} {title}", times=tuple(t + by_s for t in s.times),
                                       values=tuple(v * scale + 7 for v in s.values)) for s in spec.series)
    return dataclasses.replace(spec, start=spec.start + by_s, end=spec.end + by_s, series=series, title=title)


def _annotated(spec: ChartSpec, *marks: tuple[float, float | None, str]) -> ChartSpec:
    return dataclasses.replace(spec, annotations=tuple(
        Annotation(title=title, start=spec.start + start, end=None if end is None else spec.start + end,
                   stream="deploys") for start, end, title in marks))


PATCHING = BrowserOptions()  # patches by default
LINE = sample_charts.line_chart(points=300)
STACKED = sample_charts.stacked_chart(points=120)
LINE_RUN: tuple[tuple[str, ChartSpec], ...] = (
    ("line A", LINE),
    ("line B: other data, window, range, labels, title", _shifted(LINE, 1800.0, 2.0, "B")),
    ("line A again", LINE),
    ("line, fewer points", sample_charts.line_chart(points=90)),
    ("line, two series", dataclasses.replace(LINE, series=LINE.series[:2])),
    ("line, two series, other data", _shifted(dataclasses.replace(LINE, series=LINE.series[:2]), 60.0, 0.5, "two")),
    ("line, dark", dataclasses.replace(LINE, theme="dark")),
    ("line, dark, other data", _shifted(dataclasses.replace(LINE, theme="dark"), 600.0, 1.5, "dark")),
    ("line, annotated", _annotated(LINE, (600.0, 1200.0, "deploy"), (3000.0, None, "restart"))),
    ("line, annotated elsewhere", _annotated(LINE, (100.0, 300.0, "rollback"), (2000.0, None, "a longer title"))),
    ("line A at last", LINE),
)
RUN: tuple[tuple[str, ChartSpec], ...] = (
    ("stacked", STACKED),
    ("stacked, other data, window, range, labels, title", _shifted(STACKED, 3600.0, 3.0, "more")),
    ("stacked again", STACKED),
    ("stacked, dark", dataclasses.replace(STACKED, theme="dark")),
    ("stacked, dark, other data", _shifted(dataclasses.replace(STACKED, theme="dark"), 600.0, 1.5, "dark")),
    ("stacked, annotated", _annotated(STACKED, (600.0, 1200.0, "deploy"), (3000.0, None, "restart"))),
    ("stacked, annotated elsewhere", _annotated(STACKED, (100.0, 300.0, "rollback"), (2000.0, None, "longer"))),
    ("big number", sample_charts.big_number_chart(1234.5)),
    ("big number, other value", sample_charts.big_number_chart(98765432.1)),
    ("big number, no value", sample_charts.big_number_chart(None)),
    ("stacked at last", STACKED),
)


@pytest.fixture(scope="module")
def fresh_pngs() -> Iterator[dict[str, np.ndarray]]:
    """What a page that never patches draws for each item of RUN."""
    with BrowserSession(BrowserOptions(full_embed_every=1)) as fresh:
        yield {name: decode_png(fresh.render_serialized(figure_item(spec).json, spec.width, spec.height))
               for name, spec in RUN + LINE_RUN}


def _mismatch(actual: np.ndarray, expected: np.ndarray) -> str:
    if actual.shape != expected.shape:
        return f"size {actual.shape} != {expected.shape}"
    differing = np.argwhere((actual != expected).any(axis=2))
    return "" if not len(differing) else f"{len(differing)} pixels differ, first at (y, x) {tuple(differing[0])}"


def _patched_run(run: tuple[tuple[str, ChartSpec], ...],
                 fresh_pngs: dict[str, np.ndarray]) -> tuple[list[str], dict[str, str], int]:
    """Which renders of ``run`` patched, how each differs from a fresh embed, and the fallbacks."""
    patched: list[str] = []
    mismatches: dict[str, str] = {}
    with BrowserSession(PATCHING) as session:
        for name, spec in run:
            png = session.render_serialized(figure_item(spec), spec.width, spec.height)
            if session.last_timings.patched:
                patched.append(name)
            mismatch = _mismatch(decode_png(png), fresh_pngs[name])
            if mismatch:
                mismatches[name] = mismatch
        fallbacks = session._browser.patch_fallbacks if session._browser else 0  # noqa: SLF001
    return patched, mismatches, fallbacks


def test_patched_renders_are_pixel_identical_to_fresh_embeds(fresh_pngs: dict[str, np.ndarray]) -> None:
    patched, mismatches, fallbacks = _patched_run(RUN, fresh_pngs)
    assert not mismatches, "\n".join(f"{k}: {v}" for k, v in mismatches.items())
    # Every render of a shape the page showed just before is a patch; the others embed.
    assert patched == ["stacked, other data, window, range, labels, title", "stacked again",
                       "stacked, dark, other data", "stacked, annotated elsewhere", "big number, other value"]
    assert fallbacks == 0


def test_patched_line_charts_are_pixel_identical_to_fresh_embeds(fresh_pngs: dict[str, np.ndarray]) -> None:
    patched, mismatches, fallbacks = _patched_run(LINE_RUN, fresh_pngs)
    assert not mismatches, "\n".join(f"{k}: {v}" for k, v in mismatches.items())
    assert patched == ["line B: other data, window, range, labels, title", "line A again",
                       "line, fewer points", "line, two series, other data", "line, dark, other data",
                       "line, annotated elsewhere"]
    assert fallbacks == 0


def test_a_patch_the_page_rejects_falls_back_to_the_whole_item(fresh_pngs: dict[str, np.ndarray]) -> None:
    (name, first), (other_name, other) = RUN[0], RUN[1]
    with BrowserSession(PATCHING) as session:
        session.render_serialized(figure_item(first), first.width, first.height)
        good = figure_item(other)
        broken = json.dumps({"events": [{"kind": "ModelChanged", "model": {"id": "no-such-model"},
                                         "attr": "text", "new": "x"}]})
        png = session.render_serialized(dataclasses.replace(good, patch=broken), other.width, other.height)
        assert not session.last_timings.patched
        assert session._browser is not None and session._browser.patch_fallbacks == 1
        assert _mismatch(decode_png(png), fresh_pngs[other_name]) == ""
        # The page is consistent again: the next render of the shape patches.
        png = session.render_serialized(figure_item(first), first.width, first.height)
        assert session.last_timings.patched
        assert _mismatch(decode_png(png), fresh_pngs[name]) == ""


def test_a_fresh_embed_comes_every_full_embed_every_renders() -> None:
    spec = STACKED
    with BrowserSession(BrowserOptions(full_embed_every=3)) as session:
        patched = []
        for _ in range(7):
            session.render_serialized(figure_item(spec), spec.width, spec.height)
            patched.append(session.last_timings.patched)
    assert patched == [False, True, True, False, True, True, False]


def test_a_plain_json_item_is_always_embedded_whole(fresh_pngs: dict[str, np.ndarray]) -> None:
    name, spec = RUN[0]
    item = figure_item(spec)
    patched = []
    with BrowserSession(PATCHING) as session:
        for rendered in (item, FigureItem(item.json, item.root_id, None), item.json):
            png = session.render_serialized(rendered, spec.width, spec.height)
            patched.append(session.last_timings.patched)
            assert _mismatch(decode_png(png), fresh_pngs[name]) == ""
    assert patched == [False, False, False]


@pytest.mark.parametrize("name", ["line", "stacked", "bignumber"])
def test_a_patched_render_equals_stock_export_png(stock_browser, name: str) -> None:
    spec = {"line": LINE, "stacked": STACKED, "bignumber": sample_charts.big_number_chart(1234.5)}[name]
    earlier = _shifted(spec, -600.0, 0.7, "earlier") if spec.series else sample_charts.big_number_chart(7.0)
    stock = decode_png(stock_export_png(build_figure(spec), driver=stock_browser.driver))
    with BrowserSession(PATCHING) as session:
        session.render_serialized(figure_item(earlier), earlier.width, earlier.height)
        png = session.render_serialized(figure_item(spec), spec.width, spec.height)
        assert session.last_timings.patched
    assert _mismatch(decode_png(png), stock) == ""
