"""``json_item`` strings for ChartSpecs without rebuilding the bokeh figure each time.

Building a figure (~15 ms: bokeh's property system initialises ~70 models) and
serialising it (~12 ms) were most of render_svc's Python CPU per snapshot. Yet
charts of one *shape* -- chart type, size, series count and colours, which
optional parts exist, which kind of y range and tick formatter -- produce the
same model graph with the same properties set; only a handful of values differ
(title, time window, data, labels, y range bounds).

So the first spec of a shape is built with :func:`build_figure` and serialised
once, exactly as :func:`render_svc.warm_renderer.serialize` would; that figure
and its JSON dict are kept as the shape's template. A later spec of the same
shape sets its values on the template's models (through bokeh's validating
properties) and only those attributes are re-encoded into the JSON dict. The
result equals ``serialize(build_figure(spec))`` apart from model ids (checked
by tests/unit/render/test_figure_templates.py), so BokehJS draws the same
pixels. Anything not listed in :func:`_shape_key` as structure must be set by
the ``_apply_*`` functions on every use, or it would leak between renders.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import bokeh
import numpy as np
from bokeh.core.property.vectorization import value as bokeh_value
from bokeh.core.serialization import Serializer
from bokeh.document import Document
from bokeh.model import Model
from bokeh.models import Label, LayoutDOM, Legend

from render_svc import chart_figure as cf
from render_svc.chart_spec import ChartSpec

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
    key, y_range = _shape_key(spec)
    with _lock:
        template = _templates.get(key)
        if template is None:
            template = _new_template(spec)
            _templates[key] = template
            if len(_templates) > MAX_TEMPLATES:
                _templates.popitem(last=False)
        else:
            _templates.move_to_end(key)
            try:
                _fill(template, spec, y_range)
            except BaseException:
                # Possibly half patched: never reuse it.
                _templates.pop(key, None)
                raise
        return json.dumps(template.item, separators=(",", ":"))


def _fill(template: _Template, spec: ChartSpec, y_range: Model | None) -> None:
    """Set ``spec``'s values on the template's models and re-encode them into its item."""
    touched: Touched = []
    if spec.chart_type == "bignumber":
        _apply_big_number(template.figure, spec, touched)
    else:
        _apply_timeseries(template.figure, spec, y_range, touched)
    serializer = Serializer(deferred=False)
    for model, name in touched:
        descriptor = model.lookup(name)
        value = descriptor.get_value(model)
        rep = template.objects[model.id]
        # A fresh build sets each of these once, from the default; bokeh
        # records (and serialises) a value only if it differs from that.
        if descriptor.property.matches(value, descriptor.instance_default(model)):
            attributes = rep.get("attributes", {})
            attributes.pop(name, None)
            if not attributes:
                rep.pop("attributes", None)
        else:
            rep.setdefault("attributes", {})[name] = serializer.encode(value)


def clear_templates() -> None:
    with _lock:
        _templates.clear()


def _new_template(spec: ChartSpec) -> _Template:
    figure = cf.build_figure(spec)
    # The same document as warm_renderer.serialize() makes for a figure without one.
    document = Document()
    document.title = ""
    document.add_root(figure)
    doc_json = document.to_json(deferred=False)
    # Detached, so that later property sets do not emit document change events.
    document.remove_root(figure)
    item = {"target_id": None, "root_id": figure.id, "doc": doc_json, "version": bokeh.__version__}
    objects: dict[str, dict[str, Any]] = {}
    _index_objects(doc_json["roots"], objects)
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


def _model_signature(model: Model) -> tuple:
    props = model.properties_with_values(include_defaults=False)
    return (type(model).__name__, tuple(sorted(props)))


def _shape_key(spec: ChartSpec) -> tuple[tuple, Model | None]:
    """The shape, plus the y range chart_figure would make (None when there is none)."""
    common = (spec.chart_type, spec.width, spec.height, cf.has_data(spec))
    if spec.chart_type == "bignumber":
        units = bool(spec.big_units) and cf.has_data(spec)
        return common + (units, spec.end > spec.start), None
    start_s, end_s = cf._time_window(spec)
    formatter = cf._time_tick_formatter(end_s - start_s)
    x_part = (formatter.hourmin, formatter.hours)
    if not cf.has_data(spec):
        return common + (x_part,), None
    colors = tuple(cf._series_colors(spec.series))
    values = _all_values(spec)
    y_range = cf._y_range(spec, values)
    y_formatter = cf._value_tick_formatter(values)
    y_part = (_model_signature(y_range),
              (type(y_formatter).__name__,
               tuple(sorted(y_formatter.properties_with_values(include_defaults=False).items()))))
    plan = cf.plan_legend([cf._short_label(s.label) for s in spec.series], spec.width, spec.height)
    scatter = tuple(len(s.times) < 3 for s in spec.series) if spec.chart_type == "line" else ()
    return common + (x_part, len(spec.series), colors, scatter, y_part, plan.columns, plan.shown), y_range


def _all_values(spec: ChartSpec) -> np.ndarray:
    """The values the y range and formatter are derived from (as chart_figure computes them)."""
    if spec.chart_type == "stacked":
        _, columns = cf.align_series(spec.series)
        totals = np.sum(columns, axis=0) if columns else np.array([])
        return np.concatenate([totals, np.zeros(1)])
    chunks = [np.asarray(s.values, dtype=float) for s in spec.series]
    return np.concatenate(chunks) if chunks else np.array([])


# --------------------------------------------------------------------------
# Values: set on the template's models, mirroring chart_figure's build
# --------------------------------------------------------------------------


def _apply_timeseries(fig: Any, spec: ChartSpec, fresh_range: Model | None, touched: Touched) -> None:
    start_s, end_s = cf._time_window(spec)
    _set(touched, fig.title, "text", spec.title)
    _set(touched, fig.x_range, "start", start_s * 1000.0)
    _set(touched, fig.x_range, "end", end_s * 1000.0)
    _set(touched, fig.xaxis[0], "axis_label", cf._window_caption(start_s, end_s))

    if not cf.has_data(spec):
        label = next(m for m in fig.center if isinstance(m, Label))
        _set(touched, label, "x", (start_s + end_s) * 500.0)
        return

    renderers = list(fig.renderers)
    if spec.chart_type == "stacked":
        times_s, columns = cf.align_series(spec.series)
        data: dict[str, np.ndarray] = {"t": times_s * 1000.0}
        tops = np.cumsum(columns, axis=0)
        for i, column in enumerate(columns):
            data[f"s{i}"] = column
            data[f"top{i}"] = tops[i]
        _set(touched, renderers[0].data_source, "data", data)
    else:
        position = 0
        for s in spec.series:
            renderer = renderers[position]
            data = {"t": np.asarray(s.times, dtype=float) * 1000.0, "v": np.asarray(s.values, dtype=float)}
            _set(touched, renderer.data_source, "data", data)
            # A short series also has a scatter renderer sharing the same source.
            position += 2 if len(s.times) < 3 else 1

    assert fresh_range is not None
    for name in fresh_range.properties_with_values(include_defaults=False):
        _set(touched, fig.y_range, name, getattr(fresh_range, name))
    _set(touched, fig.yaxis[0], "axis_label", spec.y_label or None)

    legend = next(m for m in fig.below if isinstance(m, Legend))
    labels = [cf._short_label(s.label) for s in spec.series]
    plan = cf.plan_legend(labels, spec.width, spec.height)
    for item, label in zip(legend.items, labels[: plan.shown]):
        # LegendItem(label="...") takes a plain string as a value, an assignment as a field name.
        _set(touched, item, "label", bokeh_value(label))
    hidden = len(labels) - plan.shown
    if hidden > 0:
        _set(touched, legend.items[-1], "label", bokeh_value(f"+{hidden} more"))
    _set(touched, legend, "label_width", plan.label_width)


def _apply_big_number(fig: Any, spec: ChartSpec, touched: Touched) -> None:
    _set(touched, fig.title, "text", spec.title)
    labels = {m.name: m for m in fig.center if isinstance(m, Label)}
    plot_height = spec.height - 40
    if not cf.has_data(spec):
        text, color = cf.NO_DATA_TEXT, cf.style.NO_DATA_COLOR
        font_px = cf._fit_font_px(text, spec.width, plot_height, max_fraction=0.14)
        units = ""
    else:
        assert spec.big_value is not None
        text = cf.format_compact(spec.big_value)
        color = cf.threshold_color(spec.big_value, spec.thresholds)
        units = spec.big_units
        font_px = cf._fit_font_px(text, spec.width, plot_height, max_fraction=0.42)
    value = labels["big_value"]
    _set(touched, value, "text", text)
    _set(touched, value, "text_color", color)
    _set(touched, value, "text_font_size", f"{font_px}px")
    if units:
        units_px = max(12, min(int(font_px * 0.3), 28))
        label = labels["big_units"]
        _set(touched, label, "y_offset", -(font_px * 0.5 + units_px * 0.9))
        _set(touched, label, "text", units)
        _set(touched, label, "text_font_size", f"{units_px}px")
    if spec.end > spec.start:
        _set(touched, labels["window"], "text", cf._window_caption(spec.start, spec.end))
