"""Where a time series chart's annotation events go, and what their labels say.

Legibility at 600×416 decides the layout. Each event is marked where it
happens (a dashed line at its start; a light wash to its end when it has one)
and labelled *there*, in a short text at the top of the plot, so that a reader
sees "deploy v42" next to the change it explains without looking anything up
(numbered markers with a key would move the words away from the chart and
take height from it). Labels are placed left to right in up to
:data:`ROWS` staggered rows: each goes in the first row where it does not
touch another label; when none has room, it is shortened with an ellipsis to
the room there is (the earlier label in the row is cut short when this one's
start is covered), and a label with no room for a couple of characters is
left out, its marker kept. A label that would run off the right edge is
written leftwards of its marker. At most :data:`MAX_DRAWN` events are drawn,
the first ones in the window; a "+N more" note at the top right counts the
rest. Events outside the window are not drawn; spans are clipped to it.

Text widths are estimated (BokehJS lays text out in the browser) from
Helvetica's advance widths, which Liberation Sans and Arial share, with a
margin, so that estimated room is real room.

Plain data and arithmetic (no bokeh model is built here).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from render_svc.chart_spec import Annotation

MAX_DRAWN = 8
ROWS = 3
ROW_HEIGHT_PX = 13
LABEL_TOP_PX = 3                # from the top of the plot to the first row
LABEL_OFFSET_PX = 3             # from the marker to its label
LABEL_FONT_PX = 10              # figure_style.ANNOTATION_FONT_SIZE
LABEL_PADDING_PX = 2            # the label's background box around its text, each side
_WIDTH_MARGIN = 1.08            # estimated widths are this much wider than Helvetica's
# Helvetica's advance widths in 1/1000 em (the AFM), for printable ASCII; other characters 0.6 em,
# wide (CJK) ones 1 em.
_ADVANCES = dict(zip(
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
    (278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, *[556] * 10,
     278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833,
     722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333,
     556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278,
     556, 500, 722, 500, 500, 500, 334, 260, 334, 584)))
_LABEL_GAP_PX = 6               # between two labels of a row
_MAX_LABEL_CHARS = 80             # a title is cut to this before it is measured
MAX_LABEL_PX = 190                # no label is wider, whatever the room: a third of a 600 px plot
_MIN_LABEL_CHARS = 3            # "de…": shorter says nothing; the marker stays without a label
_ELLIPSIS = "…"
_CONTROL_OR_SPACE_RUN = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")

Align = Literal["left", "right"]


@dataclass(frozen=True)
class AnnotationMark:
    """One event as drawn."""

    x_ms: float                          # its start, clipped to the window: where the label is anchored
    line: bool                           # its start is inside the window: a marker line at x_ms
    span: tuple[float, float] | None     # (start, end) ms of its wash, clipped; None without an end
    label: str                           # "" when there was no room
    row: int                             # 0 = the top row
    align: Align                         # "right": the label is written leftwards of the marker

    @property
    def y_offset_px(self) -> float:
        """The label's top, from the top of the plot (negative: downwards)."""
        return -(LABEL_TOP_PX + self.row * ROW_HEIGHT_PX)

    @property
    def x_offset_px(self) -> float:
        return LABEL_OFFSET_PX if self.align == "left" else -LABEL_OFFSET_PX


@dataclass(frozen=True)
class AnnotationsPlan:
    marks: tuple[AnnotationMark, ...]
    more: int                            # events in the window that were not drawn

    @property
    def more_text(self) -> str:
        return f"+{self.more} more" if self.more else ""

    @property
    def shape(self) -> tuple:
        """What decides which models draw these marks (see render_svc.figure_templates)."""
        return tuple((m.line, m.span is not None) for m in self.marks) + (self.more > 0,)


def label_text(annotation: Annotation) -> str:
    """The words of an event's label: its title (else its stream), on one line, bounded."""
    text = _CONTROL_OR_SPACE_RUN.sub(" ", annotation.title or annotation.stream or "annotation").strip()
    return _shortened(text or "annotation", _MAX_LABEL_CHARS)


def text_width_px(text: str) -> float:
    """The estimated width of a label with ``text``, its padding included."""
    return sum(_advance(c) for c in text) * LABEL_FONT_PX / 1000 * _WIDTH_MARGIN + 2 * LABEL_PADDING_PX


def _advance(character: str) -> int:
    advance = _ADVANCES.get(character)
    if advance is not None:
        return advance
    return 1000 if unicodedata.east_asian_width(character) in ("W", "F") else 600


def plan_annotations(annotations: tuple[Annotation, ...], start_s: float, end_s: float,
                     plot_width_px: float) -> AnnotationsPlan | None:
    """The marks of the events inside [start_s, end_s]; None when there are none."""
    inside = sorted((a for a in annotations if _overlaps(a, start_s, end_s)), key=lambda a: (a.start, a.title))
    if not inside or not end_s > start_s:
        return None
    drawn, more = inside[:MAX_DRAWN], len(inside) - MAX_DRAWN
    more = max(0, more)
    px_per_s = plot_width_px / (end_s - start_s)
    rows: list[list[_Placed]] = [[] for _ in range(ROWS)]
    if more:
        note = f"+{more} more"
        rows[0].append(_Placed(plot_width_px - text_width_px(note), text_width_px(note), note, fixed=True))
    placed: list[_Placed | None] = []
    for annotation in drawn:
        x_s = max(annotation.start, start_s)
        placed.append(_place(rows, label_text(annotation), (x_s - start_s) * px_per_s, plot_width_px))
    marks = []
    for annotation, label in zip(drawn, placed):
        x_s = max(annotation.start, start_s)
        span = None
        if annotation.end is not None and annotation.end > annotation.start:
            span = (x_s * 1000.0, min(annotation.end, end_s) * 1000.0)
        if label is None or label.dropped:
            text, row, align = "", 0, "left"
        else:
            text, align = label.final_text(), label.align
            row = next(r for r, placed_row in enumerate(rows) if label in placed_row)
        marks.append(AnnotationMark(x_ms=x_s * 1000.0, line=start_s <= annotation.start <= end_s, span=span,
                                    label=text, row=row, align=align))
    return AnnotationsPlan(marks=tuple(marks), more=more)


def _overlaps(annotation: Annotation, start_s: float, end_s: float) -> bool:
    if not (math.isfinite(annotation.start) and (annotation.end is None or math.isfinite(annotation.end))):
        return False
    last = annotation.end if annotation.end is not None and annotation.end > annotation.start else annotation.start
    return annotation.start <= end_s and last >= start_s


# --------------------------------------------------------------------------
# Rows of labels (px from the plot's left edge)
# --------------------------------------------------------------------------


@dataclass(eq=False)
class _Placed:
    left: float
    width: float
    text: str
    fixed: bool = False       # the "+N more" note: never shortened
    align: Align = "left"
    dropped: bool = False     # cut short to nothing by a later label: the marker goes unlabelled

    @property
    def right(self) -> float:
        return self.left + self.width

    def final_text(self) -> str:
        return fitted_text(self.text, self.width)


def fitted_text(text: str, width_px: float) -> str:
    """``text``, or its longest start with an ellipsis, whose label fits in ``width_px``."""
    if text_width_px(text) <= width_px:
        return text
    for end in range(len(text) - 1, 0, -1):
        shortened = text[:end].rstrip() + _ELLIPSIS
        if text_width_px(shortened) <= width_px:
            return shortened
    return text[:1] + _ELLIPSIS


def _shortened(text: str, chars: int) -> str:
    if len(text) <= chars:
        return text
    return text[: max(1, chars - 1)].rstrip() + _ELLIPSIS


def _min_width() -> float:
    # Room for "de…" in an average hand.
    return text_width_px("n" * (_MIN_LABEL_CHARS - 1) + _ELLIPSIS)


def _place(rows: list[list[_Placed]], text: str, x_px: float, plot_width_px: float) -> _Placed | None:
    """Put one label (marker at ``x_px``) in a row; None when no row has room for it."""
    wanted = min(text_width_px(text), MAX_LABEL_PX)
    left = x_px + LABEL_OFFSET_PX
    if left + wanted <= plot_width_px:
        return _place_rightwards(rows, text, left, wanted, plot_width_px)
    # Near the right edge: leftwards of the marker if a row has room for all of
    # it there, else rightwards up to the edge, shortened.
    placed = _place_leftwards(rows, text, x_px - LABEL_OFFSET_PX, wanted, shorten=False)
    if placed is None and plot_width_px - left >= _min_width():
        placed = _place_rightwards(rows, text, left, plot_width_px - left, plot_width_px)
    if placed is None:
        placed = _place_leftwards(rows, text, x_px - LABEL_OFFSET_PX, wanted, shorten=True)
    return placed


def _room_rightwards(row: list[_Placed], left: float, limit: float) -> float:
    """Free width from ``left`` to the next label of ``row`` (or ``limit``); -1 if ``left`` is covered."""
    room = limit - left
    for other in row:
        if other.left - _LABEL_GAP_PX < left < other.right + _LABEL_GAP_PX:
            return -1.0
        if other.left >= left:
            room = min(room, other.left - _LABEL_GAP_PX - left)
    return room


def _place_rightwards(rows: list[list[_Placed]], text: str, left: float, wanted: float,
                      plot_width_px: float) -> _Placed | None:
    rooms = [_room_rightwards(row, left, plot_width_px) for row in rows]
    for row, room in zip(rows, rooms):
        if room >= wanted:
            return _put(row, _Placed(left, wanted, text))
    best = max(range(len(rows)), key=lambda r: rooms[r])
    if rooms[best] >= _min_width():
        return _put(rows[best], _Placed(left, rooms[best], text))
    # Every row is covered where this label starts: cut short the covering label
    # that leaves the most of itself.
    candidates = []
    for index, row in enumerate(rows):
        covering = [o for o in row if o.left - _LABEL_GAP_PX < left < o.right + _LABEL_GAP_PX]
        if covering and not any(o.fixed for o in covering):
            candidates.append((min(o.left for o in covering), index, covering))
    if not candidates:
        return None
    _, index, covering = max(candidates, key=lambda c: (c[0], -c[1]))
    for other in covering:
        other.width = left - _LABEL_GAP_PX - other.left
        if other.width < _min_width():
            other.dropped = True
            rows[index].remove(other)
    room = _room_rightwards(rows[index], left, plot_width_px)
    if room < _min_width():
        return None
    return _put(rows[index], _Placed(left, min(wanted, room), text))


def _place_leftwards(rows: list[list[_Placed]], text: str, right: float, wanted: float,
                     shorten: bool) -> _Placed | None:
    """A label written leftwards, ending at ``right``: labels to its left are
    earlier ones, so it is this one that is shortened."""
    def room(row: list[_Placed]) -> float:
        free = right
        for other in row:
            if other.left - _LABEL_GAP_PX < right < other.right + _LABEL_GAP_PX:
                if other.fixed:
                    return -1.0
                free = min(free, right - (other.right + _LABEL_GAP_PX))
            elif other.right <= right:
                free = min(free, right - (other.right + _LABEL_GAP_PX))
        return free

    rooms = [room(row) for row in rows]
    for row, free in zip(rows, rooms):
        if free >= wanted:
            return _put(row, _Placed(right - wanted, wanted, text, align="right"))
    best = max(range(len(rows)), key=lambda r: rooms[r])
    if not shorten or rooms[best] < _min_width():
        return None
    return _put(rows[best], _Placed(right - rooms[best], rooms[best], text, align="right"))


def _put(row: list[_Placed], placed: _Placed) -> _Placed:
    row.append(placed)
    return placed
