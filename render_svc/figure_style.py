"""Visual constants shared by every chart type.

Kept in one place so line, stacked and big-number tiles look like one family
when pasted next to each other in a chat channel.
"""

from __future__ import annotations

from bokeh.palettes import Category10_10, Category20_20

FONT = "Helvetica, 'Liberation Sans', Arial, sans-serif"

BACKGROUND = "#FFFFFF"
TITLE_COLOR = "#111827"
TEXT_COLOR = "#374151"
MUTED_TEXT_COLOR = "#6B7280"
GRID_COLOR = "#E5E7EB"
AXIS_COLOR = "#D1D5DB"
NO_DATA_COLOR = "#9CA3AF"

# Big-number colours: neutral dark by default, and threshold colours that stay
# readable on white (pure yellow is not).
BIG_NUMBER_NEUTRAL = "#1F2937"
THRESHOLD_COLORS = {"red": "#D62728", "yellow": "#E8A317"}

TITLE_FONT_SIZE = "15px"
TICK_FONT_SIZE = "11px"
AXIS_LABEL_FONT_SIZE = "11px"
LEGEND_FONT_SIZE = "11px"

LINE_WIDTH = 2.0
STACK_FILL_ALPHA = 0.75


def series_palette(count: int) -> tuple[str, ...]:
    """Categorical colours for ``count`` series that carry no explicit colour.

    Category10 is the most distinguishable set; past ten series we switch to
    Category20 (paired light/dark hues) and cycle beyond that.
    """
    base: tuple[str, ...] = tuple(Category10_10) if count <= 10 else tuple(Category20_20)
    return tuple(base[i % len(base)] for i in range(count))
