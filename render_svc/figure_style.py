"""Visual constants shared by every chart type, per theme.

Kept in one place so line, stacked and big-number tiles look like one family
when pasted next to each other in a chat channel. A :class:`Theme` holds every
colour a figure uses; :data:`LIGHT` is the default and the module-level names
below are its values (what the light-only code and tests read).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from bokeh.palettes import Category10_10, Category20_20

FONT = "Helvetica, 'Liberation Sans', Arial, sans-serif"

TITLE_FONT_SIZE = "15px"
TICK_FONT_SIZE = "11px"
AXIS_LABEL_FONT_SIZE = "11px"
LEGEND_FONT_SIZE = "11px"
ANNOTATION_FONT_SIZE = "10px"

LINE_WIDTH = 2.0
STACK_FILL_ALPHA = 0.75
ANNOTATION_LINE_WIDTH = 2.0  # a full device pixel column wherever the marker falls


@dataclass(frozen=True)
class Theme:
    name: str
    background: str
    title: str
    text: str
    muted_text: str
    grid: str
    axis: str
    no_data: str
    big_number_neutral: str
    threshold_colors: Mapping[str, str]     # "red" / "yellow" -> colour readable on `background`
    palette_10: tuple[str, ...]             # up to ten series
    palette_20: tuple[str, ...]             # more than ten (paired hues), cycled beyond twenty
    # Annotations: a marker line and label in one colour no palette entry uses,
    # and a light wash of it for spans.
    annotation: str
    annotation_text: str
    annotation_fill_alpha: float

    def series_palette(self, count: int) -> tuple[str, ...]:
        """Categorical colours for ``count`` series that carry no explicit colour."""
        base = self.palette_10 if count <= 10 else self.palette_20
        return tuple(base[i % len(base)] for i in range(count))


LIGHT = Theme(
    name="light",
    background="#FFFFFF",
    title="#111827",
    text="#374151",
    muted_text="#6B7280",
    grid="#E5E7EB",
    axis="#D1D5DB",
    no_data="#9CA3AF",
    # Neutral dark by default, and threshold colours that stay readable on
    # white (pure yellow is not).
    big_number_neutral="#1F2937",
    threshold_colors={"red": "#D62728", "yellow": "#E8A317"},
    # Category10 is the most distinguishable set; Category20 pairs light/dark hues.
    palette_10=tuple(Category10_10),
    palette_20=tuple(Category20_20),
    annotation="#7C3AED",
    annotation_text="#5B21B6",
    annotation_fill_alpha=0.10,
)

# A near-black slate background (not pure black: anti-aliased text reads
# better), light text, a grid just visible, and the 400-weight hues of one
# family, each with a contrast ratio of at least 6:1 on the background; the
# second ten (past ten series) are the 200-weight hues.
DARK = Theme(
    name="dark",
    background="#111827",
    title="#F9FAFB",
    text="#D1D5DB",
    muted_text="#9CA3AF",
    grid="#273244",
    axis="#4B5563",
    no_data="#6B7280",
    big_number_neutral="#F3F4F6",
    threshold_colors={"red": "#F87171", "yellow": "#FBBF24"},
    palette_10=("#60A5FA", "#FB923C", "#4ADE80", "#F87171", "#C084FC",
                "#F472B6", "#22D3EE", "#FACC15", "#A3E635", "#E5E7EB"),
    palette_20=("#60A5FA", "#BFDBFE", "#FB923C", "#FED7AA", "#4ADE80", "#BBF7D0", "#F87171", "#FECACA",
                "#C084FC", "#E9D5FF", "#F472B6", "#FBCFE8", "#22D3EE", "#A5F3FC", "#FACC15", "#FEF08A",
                "#A3E635", "#D9F99D", "#E5E7EB", "#9CA3AF"),
    annotation="#C4B5FD",
    annotation_text="#DDD6FE",
    annotation_fill_alpha=0.16,
)

THEMES: dict[str, Theme] = {theme.name: theme for theme in (LIGHT, DARK)}
DEFAULT_THEME = LIGHT.name


def theme_named(name: str) -> Theme:
    """The theme called ``name``; light for a name that is none (render_svc.render_options
    logs those when it reads a request)."""
    return THEMES.get(name, LIGHT)


# The light theme's values, under the names the light-only code used.
BACKGROUND = LIGHT.background
TITLE_COLOR = LIGHT.title
TEXT_COLOR = LIGHT.text
MUTED_TEXT_COLOR = LIGHT.muted_text
GRID_COLOR = LIGHT.grid
AXIS_COLOR = LIGHT.axis
NO_DATA_COLOR = LIGHT.no_data
BIG_NUMBER_NEUTRAL = LIGHT.big_number_neutral
THRESHOLD_COLORS = LIGHT.threshold_colors


def series_palette(count: int) -> tuple[str, ...]:
    """The light theme's categorical colours for ``count`` series."""
    return LIGHT.series_palette(count)
