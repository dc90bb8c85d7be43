"""Draw a figure plan (render_svc.chart_plan) as a bokeh figure.

Both render paths (the warm browser session and bokeh's stock export) draw
exactly the object returned by :func:`build_figure`, so whatever looks right
here looks the same in production and in the reference renderer. Every value
comes from the plan; this module only chooses the bokeh models and styling.
"""

from __future__ import annotations

from bokeh.models import (
    BasicTickFormatter,
    ColumnDataSource,
    DataRange1d,
    DatetimeTickFormatter,
    GlyphRenderer,
    Label,
    LayoutDOM,
    Legend,
    LegendItem,
    NumeralTickFormatter,
    Range1d,
)
from bokeh.plotting import figure

from render_svc import figure_style as style
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


def _timeseries_figure(plan: TimeseriesPlan) -> LayoutDOM:
    window = plan.window
    fig = _base_figure(plan, x_range=Range1d(window.start_ms, window.end_ms))
    fig.xaxis.axis_label = window.caption
    fig.xaxis.formatter = _time_tick_formatter(window.multi_day)

    if not plan.has_data:
        _draw_no_data(fig, plan)
        return fig

    if plan.chart_type == "stacked":
        renderers = _draw_stacked(fig, plan)
    else:
        renderers = _draw_lines(fig, plan)

    assert plan.y_range is not None
    fig.y_range = y_range_model(plan.y_range)
    fig.yaxis.formatter = _value_tick_formatter(plan.value_ticks)
    fig.yaxis.axis_label = plan.y_label
    _add_legend(fig, plan, renderers)
    return fig


def _base_figure(plan: TimeseriesPlan, **kwargs: object) -> figure:
    fig = figure(
        width=plan.width,
        height=plan.height,
        title=plan.title,
        x_axis_type="datetime",
        tools="",
        toolbar_location=None,
        sizing_mode="fixed",
        background_fill_color=style.BACKGROUND,
        border_fill_color=style.BACKGROUND,
        outline_line_color=None,
        min_border_left=12,
        min_border_right=20,
        min_border_top=8,
        min_border_bottom=8,
        **kwargs,
    )
    # No interaction in a static image; also avoids the logo/toolbar DOM.
    fig.toolbar.logo = None

    fig.title.text_font = style.FONT
    fig.title.text_font_size = style.TITLE_FONT_SIZE
    fig.title.text_font_style = "bold"
    fig.title.text_color = style.TITLE_COLOR
    fig.title.offset = 4

    for axis in (fig.xaxis, fig.yaxis):
        axis.axis_line_color = style.AXIS_COLOR
        axis.major_tick_line_color = style.AXIS_COLOR
        axis.minor_tick_line_color = None
        axis.major_tick_out = 4
        axis.major_tick_in = 0
        axis.major_label_text_font = style.FONT
        axis.major_label_text_font_size = style.TICK_FONT_SIZE
        axis.major_label_text_color = style.TEXT_COLOR
        axis.axis_label_text_font = style.FONT
        axis.axis_label_text_font_size = style.AXIS_LABEL_FONT_SIZE
        axis.axis_label_text_font_style = "normal"
        axis.axis_label_text_color = style.MUTED_TEXT_COLOR

    fig.xgrid.grid_line_color = style.GRID_COLOR
    fig.ygrid.grid_line_color = style.GRID_COLOR
    return fig


def _time_tick_formatter(multi_day: bool) -> DatetimeTickFormatter:
    # BokehJS formats datetimes in UTC, which is what we want. Within a day the
    # date is already in the axis caption, so ticks only need the clock time.
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


def _value_tick_formatter(ticks: ValueTicks) -> BasicTickFormatter | NumeralTickFormatter:
    if ticks == "compact":
        return NumeralTickFormatter(format="0.[0]a")
    return BasicTickFormatter(use_scientific=ticks == "scientific")


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


def _draw_no_data(fig: figure, plan: TimeseriesPlan) -> None:
    # Keep the time axis (it tells the reader which window was empty) but drop
    # the value axis: any numbers there would be invented.
    fig.y_range = Range1d(0, 1)
    fig.yaxis.visible = False
    fig.ygrid.visible = False
    fig.add_layout(Label(
        x=plan.window.middle_ms, y=0.5, text=NO_DATA_TEXT,
        text_align="center", text_baseline="middle",
        text_font=style.FONT, text_font_size="22px", text_color=style.NO_DATA_COLOR,
    ))


# --------------------------------------------------------------------------
# Legend
# --------------------------------------------------------------------------


def _add_legend(fig: figure, plan: TimeseriesPlan, renderers: list[GlyphRenderer]) -> None:
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
        label_text_color=style.TEXT_COLOR,
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
    fig = figure(
        width=plan.width,
        height=plan.height,
        title=plan.title,
        tools="",
        toolbar_location=None,
        sizing_mode="fixed",
        x_range=Range1d(0, 1),
        y_range=Range1d(0, 1),
        background_fill_color=style.BACKGROUND,
        border_fill_color=style.BACKGROUND,
        outline_line_color=None,
        min_border=8,
    )
    fig.toolbar.logo = None
    fig.axis.visible = False
    fig.grid.visible = False
    fig.title.text_font = style.FONT
    fig.title.text_font_size = style.TITLE_FONT_SIZE
    fig.title.text_font_style = "bold"
    fig.title.text_color = style.TITLE_COLOR
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
            text_color=style.MUTED_TEXT_COLOR, name="big_units",
        ))
    if plan.caption is not None:
        fig.add_layout(Label(
            x=0.5, y=0.02, text=plan.caption,
            text_align="center", text_baseline="bottom",
            text_font=style.FONT, text_font_size=style.AXIS_LABEL_FONT_SIZE,
            text_color=style.MUTED_TEXT_COLOR, name="window",
        ))
    return fig
