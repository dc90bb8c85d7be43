"""Draw a figure plan (render_svc.chart_plan) as a bokeh figure.

Both render paths (the warm browser session and bokeh's stock export) draw
exactly the object returned by :func:`build_figure`, so whatever looks right
here looks the same in production and in the reference renderer. Every value
comes from the plan; this module only chooses the bokeh models and styling.
"""

from __future__ import annotations

from bokeh.models import (
    BasicTickFormatter,
    BoxAnnotation,
    ColumnDataSource,
    CustomJSTickFormatter,
    DataRange1d,
    DatetimeTickFormatter,
    FixedTicker,
    GlyphRenderer,
    Label,
    LayoutDOM,
    Legend,
    LegendItem,
    NumeralTickFormatter,
    Range1d,
    Span,
)
from bokeh.plotting import figure

from render_svc import figure_style as style
from render_svc.annotation_layout import LABEL_TOP_PX, AnnotationsPlan
from render_svc.chart_plan import (
    LEGEND_GLYPH_WIDTH,
    LEGEND_LABEL_STANDOFF,
    LEGEND_MARGIN,
    LEGEND_PADDING,
    LEGEND_ROW_HEIGHT,
    LEGEND_SPACING,
    NO_DATA_TEXT,
    BigNumberPlan,
    FigurePlan,
    TimeseriesPlan,
    TimeWindow,
    ValueTicks,
    YRange,
    plan_figure,
)
from render_svc.chart_spec import ChartSpec


def build_figure(spec: ChartSpec) -> LayoutDOM:
    """Return a fixed-size, toolbar-free bokeh figure for ``spec``."""
    return figure_from_plan(plan_figure(spec))


def figure_from_plan(plan: FigurePlan) -> LayoutDOM:
    if isinstance(plan, BigNumberPlan):
        return _big_number_figure(plan)
    return _timeseries_figure(plan)


# --------------------------------------------------------------------------
# Time series (line / stacked)
# --------------------------------------------------------------------------


# Names of models the template path finds again (render_svc.figure_templates).
ANNOTATION_LABELS_RANGE = "annotation_labels"
MORE_ANNOTATIONS_LABEL = "more_annotations"


def _timeseries_figure(plan: TimeseriesPlan) -> LayoutDOM:
    window = plan.window
    theme = style.theme_named(plan.theme)
    fig = _base_figure(plan, theme, x_range=Range1d(window.start_ms, window.end_ms))
    fig.xaxis.axis_label = window.caption
    fig.xaxis.formatter = _time_tick_formatter(window.multi_day)
    if window.ticks is not None:
        fig.xaxis.ticker = FixedTicker(ticks=zoned_tick_positions(window))
        fig.xaxis.major_label_overrides = zoned_tick_labels(window)

    if not plan.has_data:
        _draw_no_data(fig, plan, theme)
        _draw_annotations(fig, plan.annotations, window.end_ms, theme)
        return fig

    if plan.chart_type == "stacked":
        renderers = _draw_stacked(fig, plan)
    else:
        renderers = _draw_lines(fig, plan)

    assert plan.y_range is not None
    fig.y_range = y_range_model(plan.y_range)
    fig.yaxis.formatter = _value_tick_formatter(plan.value_ticks, plan.y_units)
    fig.yaxis.axis_label = plan.y_label
    _draw_annotations(fig, plan.annotations, window.end_ms, theme)
    _add_legend(fig, plan, renderers, theme)
    return fig


def zoned_tick_positions(window: TimeWindow) -> list[float]:
    return [position for position, _ in window.ticks or ()]


def zoned_tick_labels(window: TimeWindow) -> dict[float, str]:
    return dict(window.ticks or ())


def _base_figure(plan: TimeseriesPlan, theme: style.Theme, **kwargs: object) -> figure:
    fig = figure(
        width=plan.width,
        height=plan.height,
        title=plan.title,
        x_axis_type="datetime",
        tools="",
        toolbar_location=None,
        sizing_mode="fixed",
        background_fill_color=theme.background,
        border_fill_color=theme.background,
        outline_line_color=None,
        min_border_left=12,
        min_border_right=20,
        min_border_top=8,
        min_border_bottom=8,
        **kwargs,
    )
    # No interaction in a static image; also avoids the logo/toolbar DOM.
    fig.toolbar.logo = None
    _fill_edges(fig, theme)

    fig.title.text_font = style.FONT
    fig.title.text_font_size = style.TITLE_FONT_SIZE
    fig.title.text_font_style = "bold"
    fig.title.text_color = theme.title
    fig.title.offset = 4

    for axis in (fig.xaxis, fig.yaxis):
        axis.axis_line_color = theme.axis
        axis.major_tick_line_color = theme.axis
        axis.minor_tick_line_color = None
        axis.major_tick_out = 4
        axis.major_tick_in = 0
        axis.major_label_text_font = style.FONT
        axis.major_label_text_font_size = style.TICK_FONT_SIZE
        axis.major_label_text_color = theme.text
        axis.axis_label_text_font = style.FONT
        axis.axis_label_text_font_size = style.AXIS_LABEL_FONT_SIZE
        axis.axis_label_text_font_style = "normal"
        axis.axis_label_text_color = theme.muted_text

    fig.xgrid.grid_line_color = theme.grid
    fig.ygrid.grid_line_color = theme.grid
    return fig


def _fill_edges(fig: figure, theme: style.Theme) -> None:
    # BokehJS paints the canvas shifted by half a pixel (crisp lines), so its
    # top and left half pixel show the page behind it; the figure's own element
    # in the background colour keeps that edge in the theme (white on white
    # needs nothing).
    if theme.background != style.LIGHT.background:
        fig.styles = {"background-color": theme.background}


def _time_tick_formatter(multi_day: bool) -> DatetimeTickFormatter:
    # BokehJS formats datetimes in UTC: right for a chart in UTC. A chart in
    # another zone gets its ticks and their labels from render_svc.time_axis
    # (a FixedTicker and label overrides); this formatter then only stands in
    # for ticks that have no label (none). Within a day the date is already
    # in the axis caption, so ticks only need the clock time.
    hours = "%b %d %H:%M" if multi_day else "%H:%M"
    return DatetimeTickFormatter(
        milliseconds="%H:%M:%S.%3N",
        seconds="%H:%M:%S",
        minsec="%H:%M:%S",
        minutes="%H:%M",
        hourmin=hours,
        hours=hours,
        days="%b %d",
        months="%b %Y",
        years="%Y",
    )


# Y tick labels with units: the number as the unit-less formatters write it
# (BasicTickFormatter's fewest decimals that keep every tick distinct,
# scientific for tiny values, "12.5k" for large ones), then the units.
_TICKS_WITH_UNITS_JS = """
const finite = ticks.filter((t) => Number.isFinite(t));
function compact(v) {
  const a = Math.abs(v);
  const [d, s] = a >= 1e12 ? [1e12, "t"] : a >= 1e9 ? [1e9, "b"] : a >= 1e6 ? [1e6, "m"] : a >= 1e3 ? [1e3, "k"] : [1, ""];
  return String(Math.round((v / d) * 10) / 10) + s;
}
function digits(v) {
  if (mode === "compact") return compact(v);
  if (mode === "scientific") {
    for (let p = 0; p < 10; p++) {
      const seen = new Set(finite.map((t) => t.toExponential(p)));
      if (seen.size === finite.length) return v === 0 ? "0" : v.toExponential(p);
    }
    return v.toExponential(10);
  }
  for (let p = 0; p < 10; p++) {
    const seen = new Set(finite.map((t) => t.toFixed(p)));
    if (seen.size === finite.length) return v.toFixed(p);
  }
  return String(v);
}
return digits(tick) + units;
"""


def _value_tick_formatter(ticks: ValueTicks, units: str = "") -> (
        BasicTickFormatter | NumeralTickFormatter | CustomJSTickFormatter):
    if units:
        return CustomJSTickFormatter(code=_TICKS_WITH_UNITS_JS, args=value_formatter_args(ticks, units))
    if ticks == "compact":
        return NumeralTickFormatter(format="0.[0]a")
    return BasicTickFormatter(use_scientific=ticks == "scientific")


def value_formatter_args(ticks: ValueTicks, units: str) -> dict[str, str]:
    return {"mode": ticks, "units": units}


def y_range_model(y_range: YRange) -> Range1d | DataRange1d:
    return (DataRange1d if y_range.fitted else Range1d)(**y_range.attributes())


def _draw_lines(fig: figure, plan: TimeseriesPlan) -> list[GlyphRenderer]:
    renderers: list[GlyphRenderer] = []
    for data, color, markers in zip(plan.sources, plan.colors, plan.markers):
        source = ColumnDataSource(data=data)
        renderer = fig.line("t", "v", source=source, line_color=color,
                            line_width=style.LINE_WIDTH, line_join="round")
        if markers:
            fig.scatter("t", "v", source=source, size=6, fill_color=color, line_color=color)
        renderers.append(renderer)
    return renderers


def _draw_stacked(fig: figure, plan: TimeseriesPlan) -> list[GlyphRenderer]:
    (data,) = plan.sources
    source = ColumnDataSource(data=data)
    names = [f"s{i}" for i in range(len(plan.colors))]
    areas = fig.varea_stack(stackers=names, x="t", source=source, color=list(plan.colors),
                            fill_alpha=style.STACK_FILL_ALPHA)
    # A crisp edge on each band keeps thin bands visible and the image sharp.
    for i, color in enumerate(plan.colors):
        fig.line("t", f"top{i}", source=source, line_color=color, line_width=1.25)
    return list(areas)


def _draw_no_data(fig: figure, plan: TimeseriesPlan, theme: style.Theme) -> None:
    # Keep the time axis (it tells the reader which window was empty) but drop
    # the value axis: any numbers there would be invented.
    fig.y_range = Range1d(0, 1)
    fig.yaxis.visible = False
    fig.ygrid.visible = False
    fig.add_layout(Label(
        x=plan.window.middle_ms, y=0.5, text=NO_DATA_TEXT,
        text_align="center", text_baseline="middle",
        text_font=style.FONT, text_font_size="22px", text_color=theme.no_data,
    ))


# --------------------------------------------------------------------------
# Annotations (planned by render_svc.annotation_layout)
# --------------------------------------------------------------------------


def _draw_annotations(fig: figure, plan: AnnotationsPlan | None, end_ms: float, theme: style.Theme) -> None:
    """Every wash (events with an end), then every marker line (events that
    start in the window), then every label, each in the marks' order, then the
    "+N more" note: drawn in that order, no line crosses a label. Labels sit
    on a range of their own, 0-1 over the plot's height, so that they can hang
    from its top whatever the data's range."""
    if plan is None:
        return
    fig.extra_y_ranges = {**fig.extra_y_ranges, ANNOTATION_LABELS_RANGE: Range1d(0, 1)}
    for mark in plan.marks:
        if mark.span is not None:
            fig.add_layout(BoxAnnotation(
                left=mark.span[0], right=mark.span[1], fill_color=theme.annotation,
                fill_alpha=theme.annotation_fill_alpha, line_color=None))
    for mark in plan.marks:
        if mark.line:
            fig.add_layout(Span(
                location=mark.x_ms, dimension="height", line_color=theme.annotation,
                line_width=style.ANNOTATION_LINE_WIDTH, line_dash=[4, 3]))
    for mark in plan.marks:
        fig.add_layout(_annotation_label(theme, x=mark.x_ms, y_offset=mark.y_offset_px, x_offset=mark.x_offset_px,
                                         text=mark.label, text_align=mark.align))
    if plan.more:
        fig.add_layout(_annotation_label(theme, x=end_ms, y_offset=-float(LABEL_TOP_PX), x_offset=-2.0,
                                         text=plan.more_text, text_align="right", name=MORE_ANNOTATIONS_LABEL))


def _annotation_label(theme: style.Theme, **kwargs: object) -> Label:
    return Label(y=1, y_range_name=ANNOTATION_LABELS_RANGE, text_baseline="top",
                 text_font=style.FONT, text_font_size=style.ANNOTATION_FONT_SIZE, text_color=theme.annotation_text,
                 background_fill_color=theme.background, background_fill_alpha=0.85, padding=1,
                 **kwargs)


# --------------------------------------------------------------------------
# Legend
# --------------------------------------------------------------------------


def _add_legend(fig: figure, plan: TimeseriesPlan, renderers: list[GlyphRenderer], theme: style.Theme) -> None:
    legend_plan = plan.legend
    items = [LegendItem(label=label, renderers=[r])
             for label, r in zip(legend_plan.entries[: legend_plan.shown], renderers)]
    if legend_plan.has_more_entry:
        # Bokeh needs a renderer per legend item; an empty, invisible-glyph
        # renderer gives us a text-only "+N more" entry.
        placeholder = fig.scatter(x=[], y=[], size=0, fill_alpha=0, line_alpha=0)
        items.append(LegendItem(label=legend_plan.entries[-1], renderers=[placeholder]))
    legend = Legend(
        items=items,
        orientation="horizontal",
        ncols=legend_plan.columns,
        location="left",
        label_text_font=style.FONT,
        label_text_font_size=style.LEGEND_FONT_SIZE,
        label_text_color=theme.text,
        label_height=LEGEND_ROW_HEIGHT - LEGEND_SPACING,
        # Bokeh sizes grid columns to the widest label; the extra minimum width
        # is the gap between columns (`spacing` applies between rows too).
        label_width=legend_plan.label_width,
        glyph_height=LEGEND_ROW_HEIGHT - LEGEND_SPACING,
        glyph_width=LEGEND_GLYPH_WIDTH,
        label_standoff=LEGEND_LABEL_STANDOFF,
        spacing=LEGEND_SPACING,
        padding=LEGEND_PADDING,
        margin=LEGEND_MARGIN,
        border_line_color=None,
        background_fill_alpha=0,
    )
    fig.add_layout(legend, "below")


# --------------------------------------------------------------------------
# Big number
# --------------------------------------------------------------------------


def _big_number_figure(plan: BigNumberPlan) -> LayoutDOM:
    theme = style.theme_named(plan.theme)
    fig = figure(
        width=plan.width,
        height=plan.height,
        title=plan.title,
        tools="",
        toolbar_location=None,
        sizing_mode="fixed",
        x_range=Range1d(0, 1),
        y_range=Range1d(0, 1),
        background_fill_color=theme.background,
        border_fill_color=theme.background,
        outline_line_color=None,
        min_border=8,
    )
    fig.toolbar.logo = None
    _fill_edges(fig, theme)
    fig.axis.visible = False
    fig.grid.visible = False
    fig.title.text_font = style.FONT
    fig.title.text_font_size = style.TITLE_FONT_SIZE
    fig.title.text_font_style = "bold"
    fig.title.text_color = theme.title
    fig.title.align = "center"

    fig.add_layout(Label(
        x=0.5, y=plan.value_y, text=plan.text, text_align="center", text_baseline="middle",
        text_font=style.FONT, text_font_style=plan.weight, text_font_size=f"{plan.font_px}px",
        text_color=plan.color, name="big_value",
    ))
    if plan.units:
        fig.add_layout(Label(
            x=0.5, y=plan.value_y, y_offset=plan.units_y_offset,
            text=plan.units, text_align="center", text_baseline="middle",
            text_font=style.FONT, text_font_size=f"{plan.units_px}px",
            text_color=theme.muted_text, name="big_units",
        ))
    if plan.caption is not None:
        fig.add_layout(Label(
            x=0.5, y=0.02, text=plan.caption,
            text_align="center", text_baseline="bottom",
            text_font=style.FONT, text_font_size=style.AXIS_LABEL_FONT_SIZE,
            text_color=theme.muted_text, name="window",
        ))
    return fig
