"""The template path must give what a fresh build + serialise gives (up to model ids)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from bench import sample_charts as sc
from render_svc.chart_figure import build_figure
from render_svc.chart_spec import Annotation, ChartSpec, SeriesSpec, Threshold
from render_svc.figure_templates import clear_templates, figure_item_json
from render_svc.figure_json import serialize


def _normalised(item_json: str) -> Any:
    """The item with model ids renamed in order of first appearance."""
    ids: dict[str, str] = {}

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key in ("id", "root_id") and isinstance(value, str):
                    out[key] = ids.setdefault(value, f"m{len(ids)}")
                else:
                    out[key] = walk(value)
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    item = json.loads(item_json)
    # Visit the document before root_id so ids number in tree order.
    root = item.pop("root_id")
    out = walk(item)
    out["root_id"] = ids[root]
    return out


def _flat(node: Any, path: str = "") -> dict[str, Any]:
    """path -> leaf value, so that a failure names the attributes that differ."""
    if isinstance(node, dict):
        return {k: v for key, value in node.items() for k, v in _flat(value, f"{path}/{key}").items()}
    if isinstance(node, list):
        return {k: v for i, value in enumerate(node) for k, v in _flat(value, f"{path}/{i}").items()}
    return {path: node}


def _replace(spec: ChartSpec, **changes: Any) -> ChartSpec:
    return dataclasses.replace(spec, **changes)


LINE = sc.line_chart()
STACKED = sc.stacked_chart()
SHIFT = 7 * 3600.0


def _shifted(spec: ChartSpec, by: float, scale: float) -> ChartSpec:
    series = tuple(dataclasses.replace(s, label=s.label + "-x" * int(scale), times=tuple(t + by for t in s.times),
                                       values=tuple(v * scale for v in s.values)) for s in spec.series)
    return _replace(spec, start=spec.start + by, end=spec.end + by, series=series, title=spec.title + " (b)")


def _annotated(spec: ChartSpec, *offsets: tuple[float, float | None, str]) -> ChartSpec:
    """``spec`` with events at (start offset, end offset or None, title) from its window's start."""
    return _replace(spec, annotations=tuple(
        Annotation(title=title, start=spec.start + start, end=None if end is None else spec.start + end,
                   stream="deploys") for start, end, title in offsets))


NY = "America/New_York"
TWELVE_EVENTS = tuple((60.0 + 290 * i, None, f"event {i}") for i in range(12))

# Pairs/groups of specs that share a shape but not their values, plus some that don't.
SPECS: list[ChartSpec] = [
    LINE,
    _shifted(LINE, SHIFT, 2.0),
    _shifted(LINE, -SHIFT, 3.0),
    _replace(LINE, y_label=""),
    _replace(LINE, y_min=0.0, y_max=300.0),
    _replace(_shifted(LINE, SHIFT, 1.0), y_min=10.0, y_max=400.0),
    _replace(LINE, y_min=50.0),
    _replace(LINE, y_max=500.0),
    _replace(LINE, y_min=5.0, y_max=1.0),
    sc.line_chart(points=60),
    sc.line_chart(points=60, colors=(None, None, None)),
    sc.line_chart(colors=("#000000", "#111111", "#222222")),
    sc.line_chart(width=400, height=300),
    _replace(LINE, start=LINE.start - 3 * 86400),
    _replace(LINE, start=0.0, end=0.0),
    _replace(LINE, series=(SeriesSpec("a", None, (LINE.start + 10, LINE.start + 500), (1.0, 2e4)),)),
    _replace(LINE, series=(SeriesSpec("bb", None, (LINE.start + 20, LINE.start + 900), (3.0, 5e4)),)),
    _replace(LINE, series=(SeriesSpec("c" * 60, None, LINE.series[0].times,
                                      tuple(v * 1e-5 for v in LINE.series[0].values)),)),
    STACKED,
    _shifted(STACKED, SHIFT, 2.0),
    _replace(STACKED, series=tuple(dataclasses.replace(s, values=tuple(-v for v in s.values))
                                   for s in STACKED.series)),
    sc.stacked_chart(points=60),
    sc.many_series_chart(),
    _shifted(sc.many_series_chart(), SHIFT, 1.0),
    sc.many_series_chart(count=12),
    sc.empty_chart("line"),
    _replace(sc.empty_chart("line"), title="other", start=LINE.start + SHIFT, end=LINE.end + SHIFT),
    sc.empty_chart("stacked"),
    sc.empty_chart("bignumber"),
    sc.big_number_chart(),
    sc.big_number_chart(3.14159),
    sc.big_number_chart(12_345_678.0, thresholds=(Threshold(">", 100, "yellow"), Threshold(">", 1000, "red"))),
    sc.big_number_chart(50.0, thresholds=(Threshold(">", 100, "yellow"),)),
    sc.big_number_chart(None),
    _replace(sc.big_number_chart(7.0), big_units="", title="no units"),
    _replace(sc.big_number_chart(8.0), big_units="", start=0.0, end=0.0),
    _replace(sc.big_number_chart(9.5), start=0.0, end=0.0, big_units="req/s"),
    # The options of issue 10: units, annotations, zones, themes.
    _replace(LINE, y_units_short="ms"),
    _replace(_shifted(LINE, SHIFT, 2.0), y_units_short="%"),
    _replace(sc.line_chart(points=60), y_units_short="B"),
    _replace(LINE, series=(SeriesSpec("big", None, (LINE.start + 10, LINE.start + 500), (1.0, 2e4)),),
             y_units_short="req"),
    _annotated(LINE, (900, None, "deploy v42"), (1500, 2400, "incident"), (1560, None, "rollback")),
    _annotated(_shifted(LINE, SHIFT, 2.0), (100, None, "a much longer deploy title that is cut"),
               (2000, 3000, "maintenance"), (3590, None, "late, written leftwards")),
    _annotated(LINE, (-600, 300, "began before the window"), (1200, None, "x")),
    _annotated(LINE, (-600, 300, "still clipped"), (3000, None, "y")),
    _annotated(LINE, *TWELVE_EVENTS),
    _annotated(_shifted(LINE, -SHIFT, 1.0), *TWELVE_EVENTS[::-1]),
    _annotated(STACKED, (900, None, "deploy"), (1500, 2400, "incident"), (1560, None, "rollback")),
    _annotated(_shifted(STACKED, SHIFT, 1.0), (100, None, "other"), (200, 500, "span"), (3000, None, "z")),
    _annotated(sc.empty_chart("line"), (900, None, "deploy"), (1500, 2400, "incident")),
    _replace(LINE, timezone=NY),
    _replace(_shifted(LINE, SHIFT, 2.0), timezone=NY),
    _replace(LINE, timezone="Asia/Kolkata"),
    _replace(STACKED, timezone=NY),
    _replace(_replace(STACKED, start=1699000000.0 - 3 * 3600, end=1699000000.0 + 3 * 3600,
                      series=tuple(dataclasses.replace(s, times=tuple(1699000000.0 - 3 * 3600 + 6 * (t - STACKED.start)
                                                                      for t in s.times)) for s in STACKED.series)),
             timezone=NY),
    _replace(_replace(LINE, start=LINE.start - 3 * 86400), timezone=NY),
    _replace(sc.empty_chart("line"), timezone=NY),
    _replace(LINE, theme="dark"),
    _replace(_shifted(LINE, SHIFT, 2.0), theme="dark"),
    _replace(STACKED, theme="dark"),
    _replace(sc.many_series_chart(count=12), theme="dark"),
    _replace(sc.empty_chart("stacked"), theme="dark"),
    _replace(sc.big_number_chart(), theme="dark"),
    _replace(sc.big_number_chart(12_345_678.0, thresholds=(Threshold(">", 1000, "red"),)), theme="dark"),
    _replace(sc.big_number_chart(None), theme="dark"),
    _replace(sc.big_number_chart(), timezone=NY),
    _replace(_annotated(_replace(LINE, theme="dark", timezone=NY, y_units_short="ms"),
                        (900, None, "deploy"), (1500, 2400, "incident")), title="everything"),
    _replace(_annotated(_replace(_shifted(LINE, SHIFT, 3.0), theme="dark", timezone=NY, y_units_short="ms"),
                        (1900, None, "deploy 2"), (100, 2000, "incident 2")), title="everything (b)"),
]


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_template_json_equals_fresh_build(order: str) -> None:
    clear_templates()
    specs = SPECS if order == "forward" else SPECS[::-1]
    for _ in range(2):  # second round: every spec comes after others of its shape
        for spec in specs:
            expected = _normalised(serialize(build_figure(spec)))
            actual = _normalised(figure_item_json(spec))
            flat_expected, flat_actual = _flat(expected), _flat(actual)
            differences = {path: (flat_actual.get(path, "<missing>"), flat_expected.get(path, "<missing>"))
                           for path in flat_actual.keys() | flat_expected.keys()
                           if flat_actual.get(path) != flat_expected.get(path)}
            assert not differences, (spec.title, differences)
            assert actual == expected, spec.title  # also catches empty dicts/lists _flat drops


def test_templates_are_reused() -> None:
    clear_templates()
    first = json.loads(figure_item_json(LINE))
    second = json.loads(figure_item_json(_shifted(LINE, SHIFT, 2.0)))
    assert first["root_id"] == second["root_id"]
    assert first != second
