"""Annotation marks: clipped to the window, bounded, labels that never overlap."""

from __future__ import annotations

import dataclasses

import pytest

from bench import sample_charts as sc
from render_svc.annotation_layout import (
    LABEL_OFFSET_PX,
    MAX_DRAWN,
    MAX_LABEL_PX,
    ROWS,
    label_text,
    plan_annotations,
    text_width_px,
)
from render_svc.chart_figure import build_figure
from render_svc.chart_plan import plan_figure, plot_width_px
from render_svc.chart_spec import Annotation

START, END = 1_000_000.0, 1_003_600.0
WIDTH = plot_width_px(600)


def _events(*items: tuple[float, float | None, str]) -> tuple[Annotation, ...]:
    return tuple(Annotation(title=t, start=START + s, end=None if e is None else START + e, stream="deploys")
                 for s, e, t in items)


def _label_boxes(plan) -> list[tuple[int, float, float]]:  # noqa: ANN001
    """(row, left px, right px) of every label, as the layout estimates them."""
    boxes = []
    for mark in plan.marks:
        if not mark.label:
            continue
        x = (mark.x_ms / 1000 - START) / (END - START) * WIDTH
        width = text_width_px(mark.label)
        left = x + LABEL_OFFSET_PX if mark.align == "left" else x - LABEL_OFFSET_PX - width
        boxes.append((mark.row, left, left + width))
    if plan.more:
        width = text_width_px(plan.more_text)
        boxes.append((0, WIDTH - width, WIDTH))
    return boxes


def _assert_no_overlap(plan) -> None:  # noqa: ANN001
    boxes = _label_boxes(plan)
    for i, (row, left, right) in enumerate(boxes):
        assert 0 <= row < ROWS
        assert left >= -0.5 and right <= WIDTH + 0.5, (left, right)
        for other_row, other_left, other_right in boxes[i + 1:]:
            if row == other_row:
                assert right <= other_left or other_right <= left, (boxes[i], (other_row, other_left, other_right))


def test_none_inside_the_window_plans_nothing() -> None:
    assert plan_annotations((), START, END, WIDTH) is None
    assert plan_annotations(_events((-500, -100, "before"), (3700, None, "after")), START, END, WIDTH) is None


def test_marks_are_clipped_to_the_window() -> None:
    plan = plan_annotations(_events((-600, 300, "began before"), (1200, None, "deploy"), (3000, 4000, "runs past")),
                            START, END, WIDTH)
    before, deploy, past = plan.marks
    assert (before.line, before.x_ms, before.span) == (False, START * 1000, (START * 1000, (START + 300) * 1000))
    assert (deploy.line, deploy.span) == (True, None)
    assert past.line and past.span == ((START + 3000) * 1000, END * 1000)


def test_a_bounded_number_is_drawn_and_the_rest_counted() -> None:
    plan = plan_annotations(_events(*[(60 + 250 * i, None, f"deploy build-{i}") for i in range(13)]),
                            START, END, WIDTH)
    assert len(plan.marks) == MAX_DRAWN
    assert plan.more == 13 - MAX_DRAWN and plan.more_text == "+5 more"
    # The first ones in time are drawn.
    assert [m.x_ms for m in plan.marks] == [(START + 60 + 250 * i) * 1000 for i in range(MAX_DRAWN)]
    _assert_no_overlap(plan)


@pytest.mark.parametrize("gap_s", [5, 30, 120, 400])
def test_labels_never_overlap_however_close_the_events(gap_s: float) -> None:
    events = _events(*[(100 + gap_s * i, None, f"a rather long annotation title {i}") for i in range(MAX_DRAWN)])
    plan = plan_annotations(events, START, END, WIDTH)
    _assert_no_overlap(plan)
    assert all(m.line for m in plan.marks)  # a marker is kept even when its label had no room
    assert plan.marks[-1].label  # the last one always has room to its right


def test_long_titles_are_shortened_with_an_ellipsis() -> None:
    plan = plan_annotations(_events((100, None, "x" * 200)), START, END, WIDTH)
    label = plan.marks[0].label
    assert label.endswith("…") and text_width_px(label) <= MAX_LABEL_PX


def test_a_label_near_the_right_edge_is_written_leftwards() -> None:
    plan = plan_annotations(_events((3590, None, "deploy at the very end")), START, END, WIDTH)
    assert plan.marks[0].align == "right" and plan.marks[0].label == "deploy at the very end"
    _assert_no_overlap(plan)


def test_label_text_is_one_clean_line() -> None:
    assert label_text(Annotation(title="deploy\n\tv42\x00 now", start=0)) == "deploy v42 now"
    assert label_text(Annotation(title="", start=0, stream="deploys")) == "deploys"
    assert label_text(Annotation(title="  ", start=0)) == "annotation"


def test_width_estimates_follow_the_letters() -> None:
    assert text_width_px("iiii") < text_width_px("nnnn") < text_width_px("WWWW")
    assert text_width_px("デプロイ") > text_width_px("abcd")


def test_not_finite_times_are_ignored() -> None:
    events = (Annotation("nan", float("nan")), Annotation("inf end", START + 10, float("inf")),
              Annotation("ok", START + 20))
    plan = plan_annotations(events, START, END, WIDTH)
    assert [m.label for m in plan.marks] == ["ok"]


def test_line_and_stacked_draw_annotations_bignumber_does_not() -> None:
    events = _events((900, None, "deploy"), (1500, 2400, "incident"))
    for chart in (sc.line_chart(), sc.stacked_chart(), sc.empty_chart("line")):
        spec = dataclasses.replace(chart, start=START, end=END, annotations=events)
        assert plan_figure(spec).annotations is not None
        fig = build_figure(spec)
        kinds = [type(m).__name__ for m in fig.center]
        assert kinds.count("Span") == 2 and kinds.count("BoxAnnotation") == 1
    big = dataclasses.replace(sc.big_number_chart(), start=START, end=END, annotations=events)
    assert not hasattr(plan_figure(big), "annotations")
    assert [type(m).__name__ for m in build_figure(big).center].count("Span") == 0
