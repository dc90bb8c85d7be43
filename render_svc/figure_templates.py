"""``json_item`` strings for ChartSpecs without rebuilding the bokeh figure each time.

Building a figure (~15 ms: bokeh's property system initialises ~70 models) and
serialising it (~12 ms) were most of render_svc's Python CPU per snapshot. Yet
charts of one *shape* -- chart type, size, theme, series count and colours,
which optional parts exist (annotation washes, marker lines and labels, the
"+N more" note, units on the y ticks, ticks in a time zone), which kind of y
range and tick formatter -- produce the
same model graph with the same properties set; only a handful of values differ
(title, time window and its ticks, data, labels, y range bounds, units,
where the annotations are and what they say).

Each spec is planned once (render_svc.chart_plan). The first plan of a shape
is drawn by :func:`render_svc.chart_figure.figure_from_plan` and serialised
once, exactly as :func:`render_svc.figure_json.serialize` would; that figure
and its JSON dict are kept as the shape's template. A later plan of the same
shape sets its values on the template's models (through bokeh's validating
properties) and only those attributes are re-encoded into the JSON dict. The
result equals ``serialize(build_figure(spec))`` apart from model ids (checked
by tests/unit/render/test_figure_templates.py), so BokehJS draws the same
pixels. Anything not listed in :func:`_shape_key` as structure must be set by
the ``_apply_*`` functions on every use, or it would leak between renders.

Because every use sets all of a shape's per-render values, those values (the
same re-encoded attributes) are also a BokehJS document patch that turns a
page holding *any* earlier item of the template into this one: a warm browser
that still shows this template's document can apply :attr:`FigureItem.patch`
instead of parsing and building the whole item again (render_svc.warm_renderer).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from bokeh.core.property.vectorization import value as bokeh_value
from bokeh.core.serialization import Serializer
from bokeh.model import Model
from bokeh.models import BoxAnnotation, Label, LayoutDOM, Legend, Span

from render_svc.annotation_layout import AnnotationsPlan
from render_svc.chart_figure import (
    ANNOTATION_LABELS_RANGE,
    MORE_ANNOTATIONS_LABEL,
    figure_from_plan,
    value_formatter_args,
    zoned_tick_labels,
    zoned_tick_positions,
)
from render_svc.chart_plan import BigNumberPlan, FigurePlan, TimeseriesPlan, plan_figure
from render_svc.chart_spec import ChartSpec
from render_svc.figure_json import FigureItem, detached_item

# Shapes kept; a miss costs one ordinary build + serialise.
MAX_TEMPLATES = 64

Touched = list[tuple[Model, str]]


@dataclass
class _Template:
    figure: LayoutDOM
    item: dict[str, Any]                       # the json_item dict, patched in place
    objects: dict[str, dict[str, Any]]         # model id -> its full definition inside ``item``


_lock = threading.Lock()
_templates: OrderedDict[tuple, _Template] = OrderedDict()


def figure_item_json(spec: ChartSpec) -> str:
    """``serialize(build_figure(spec))`` up to model ids, reusing a template per shape."""
    return figure_item(spec).json


def figure_item(spec: ChartSpec) -> FigureItem:
    """:func:`figure_item_json`'s item plus its template's root id and patch."""
    plan = plan_figure(spec)
    key = _shape_key(plan)
    with _lock:
        template = _templates.get(key)
        if template is None:
            template = _new_template(plan)
            _templates[key] = template
            if len(_templates) > MAX_TEMPLATES:
                _templates.popitem(last=False)
            patch = None
        else:
            _templates.move_to_end(key)
            try:
                patch = _fill(template, plan)
            except BaseException:
                # Possibly half patched: never reuse it.
                _templates.pop(key, None)
                raise
        return FigureItem(json.dumps(template.item, separators=(",", ":")), template.item["root_id"], patch)


def _fill(template: _Template, plan: FigurePlan) -> str:
    """Set ``plan``'s values on the template's models and re-encode them into
    its item; returns those values as a BokehJS document patch."""
    touched: Touched = []
    if isinstance(plan, BigNumberPlan):
        _apply_big_number(template.figure, plan, touched)
    else:
        _apply_timeseries(template.figure, plan, touched)
    serializer = Serializer(deferred=False)
    events: dict[tuple[str, str], dict[str, Any]] = {}
    for model, name in touched:
        descriptor = model.lookup(name)
        value = descriptor.get_value(model)
        encoded = serializer.encode(value)
        # A default value is left out of the item but must still be set by the patch.
        events[(model.id, name)] = {"kind": "ModelChanged", "model": {"id": model.id}, "attr": name, "new": encoded}
        rep = template.objects[model.id]
        # A fresh build sets each of these once, from the default; bokeh
        # records (and serialises) a value only if it differs from that.
        if descriptor.property.matches(value, descriptor.instance_default(model)):
            attributes = rep.get("attributes", {})
            attributes.pop(name, None)
            if not attributes:
                rep.pop("attributes", None)
        else:
            rep.setdefault("attributes", {})[name] = encoded
    return json.dumps({"events": list(events.values())}, separators=(",", ":"))


def clear_templates() -> None:
    with _lock:
        _templates.clear()


def _new_template(plan: FigurePlan) -> _Template:
    figure = figure_from_plan(plan)
    # Detached, so that later property sets do not emit document change events.
    item = detached_item(figure)
    objects: dict[str, dict[str, Any]] = {}
    _index_objects(item["doc"]["roots"], objects)
    return _Template(figure, item, objects)


def _index_objects(node: Any, found: dict[str, dict[str, Any]]) -> None:
    """Map each model id to its (single) full definition; other mentions are bare refs."""
    if isinstance(node, dict):
        if node.get("type") == "object" and "id" in node and "name" in node:
            found[node["id"]] = node
        for value in node.values():
            _index_objects(value, found)
    elif isinstance(node, list):
        for value in node:
            _index_objects(value, found)


def _set(touched: Touched, model: Model, name: str, value: Any) -> None:
    setattr(model, name, value)
    touched.append((model, name))


# --------------------------------------------------------------------------
# Shape: everything that decides which models exist and which properties are set
# --------------------------------------------------------------------------


def _shape_key(plan: FigurePlan) -> tuple:
    common = (type(plan).__name__, plan.width, plan.height, plan.has_data, plan.theme)
    if isinstance(plan, BigNumberPlan):
        return common + (bool(plan.units), plan.caption is not None)
    window = (plan.chart_type, plan.window.multi_day, plan.window.ticks is not None,
              plan.annotations.shape if plan.annotations is not None else None)
    if not plan.has_data:
        return common + window
    assert plan.y_range is not None
    return common + window + (plan.colors, plan.markers, tuple(plan.y_range.attributes()), plan.value_ticks,
                              bool(plan.y_units), plan.legend.columns, plan.legend.shown)


# --------------------------------------------------------------------------
# Values: set on the template's models, mirroring chart_figure's build
# --------------------------------------------------------------------------


def _apply_timeseries(fig: Any, plan: TimeseriesPlan, touched: Touched) -> None:
    window = plan.window
    _set(touched, fig.title, "text", plan.title)
    _set(touched, fig.x_range, "start", window.start_ms)
    _set(touched, fig.x_range, "end", window.end_ms)
    _set(touched, fig.xaxis[0], "axis_label", window.caption)
    if window.ticks is not None:
        _set(touched, fig.xaxis[0].ticker, "ticks", zoned_tick_positions(window))
        _set(touched, fig.xaxis[0], "major_label_overrides", zoned_tick_labels(window))
    if plan.annotations is not None:
        _apply_annotations(fig, plan.annotations, window.end_ms, touched)

    if not plan.has_data:
        label = next(m for m in fig.center if isinstance(m, Label) and m.y_range_name == "default")
        _set(touched, label, "x", window.middle_ms)
        return

    renderers = list(fig.renderers)
    if plan.chart_type == "stacked":
        (data,) = plan.sources
        _set(touched, renderers[0].data_source, "data", data)
    else:
        position = 0
        for data, markers in zip(plan.sources, plan.markers):
            _set(touched, renderers[position].data_source, "data", data)
            # A series drawn with markers has a scatter renderer sharing the same source.
            position += 2 if markers else 1

    assert plan.y_range is not None
    for name, value in plan.y_range.attributes().items():
        _set(touched, fig.y_range, name, value)
    _set(touched, fig.yaxis[0], "axis_label", plan.y_label)
    if plan.y_units:
        _set(touched, fig.yaxis[0].formatter, "args", value_formatter_args(plan.value_ticks, plan.y_units))

    legend = next(m for m in fig.below if isinstance(m, Legend))
    for item, entry in zip(legend.items, plan.legend.entries):
        # LegendItem(label="...") takes a plain string as a value, an assignment as a field name.
        _set(touched, item, "label", bokeh_value(entry))
    _set(touched, legend, "label_width", plan.legend.label_width)


def _apply_annotations(fig: Any, plan: AnnotationsPlan, end_ms: float, touched: Touched) -> None:
    """The marks' places and words, on the models chart_figure._draw_annotations added in mark order."""
    boxes = iter([m for m in fig.center if isinstance(m, BoxAnnotation)])
    lines = iter([m for m in fig.center if isinstance(m, Span)])
    labels = [m for m in fig.center if isinstance(m, Label) and m.y_range_name == ANNOTATION_LABELS_RANGE]
    marks_labels = iter([m for m in labels if m.name != MORE_ANNOTATIONS_LABEL])
    for mark in plan.marks:
        if mark.span is not None:
            box = next(boxes)
            _set(touched, box, "left", mark.span[0])
            _set(touched, box, "right", mark.span[1])
        if mark.line:
            _set(touched, next(lines), "location", mark.x_ms)
        label = next(marks_labels)
        _set(touched, label, "x", mark.x_ms)
        _set(touched, label, "x_offset", mark.x_offset_px)
        _set(touched, label, "y_offset", mark.y_offset_px)
        _set(touched, label, "text", mark.label)
        _set(touched, label, "text_align", mark.align)
    if plan.more:
        more = next(m for m in labels if m.name == MORE_ANNOTATIONS_LABEL)
        _set(touched, more, "x", end_ms)
        _set(touched, more, "text", plan.more_text)


def _apply_big_number(fig: Any, plan: BigNumberPlan, touched: Touched) -> None:
    _set(touched, fig.title, "text", plan.title)
    labels = {m.name: m for m in fig.center if isinstance(m, Label)}
    value = labels["big_value"]
    _set(touched, value, "text", plan.text)
    _set(touched, value, "text_color", plan.color)
    _set(touched, value, "text_font_size", f"{plan.font_px}px")
    if plan.units:
        label = labels["big_units"]
        _set(touched, label, "y_offset", plan.units_y_offset)
        _set(touched, label, "text", plan.units)
        _set(touched, label, "text_font_size", f"{plan.units_px}px")
    if plan.caption is not None:
        _set(touched, labels["window"], "text", plan.caption)
