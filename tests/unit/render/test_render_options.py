"""Odd option values in a render request are drawn with the defaults and logged, never a failure."""

from __future__ import annotations

import logging

import pytest

from chartsnap.v1 import render_pb2
from render_svc.render_options import MAX_DEVICE_PIXELS, bounded_scale, resolve_scale, resolve_theme, resolve_timezone
from render_svc.request_spec import capture_scale, spec_from_request


@pytest.mark.parametrize("raw, expected", [(0, 1.0), (1, 1.0), (1.5, 1.5), (2, 2.0), (3, 3.0), (4, 1.0),
                                           (0.5, 1.0), (-2, 1.0), (float("nan"), 1.0), (float("inf"), 1.0)])
def test_scale(raw: float, expected: float) -> None:
    assert resolve_scale(raw) == expected


@pytest.mark.parametrize("raw, expected", [("", "light"), ("light", "light"), ("dark", "dark"), ("x", "light"),
                                           ("DARK", "light")])
def test_theme(raw: str, expected: str) -> None:
    assert resolve_theme(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("", "UTC"), ("UTC", "UTC"), ("America/New_York", "America/New_York"), ("Europe/Paris", "Europe/Paris"),
    ("Mars/Olympus_Mons", "UTC"), ("../../etc/passwd", "UTC"), ("/etc/localtime", "UTC"), ("a\x00b", "UTC"),
    ("x" * 5000, "UTC"), ("America/", "UTC")])
def test_timezone(raw: str, expected: str) -> None:
    assert resolve_timezone(raw) == expected


def test_bad_values_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="render_svc.render_options"):
        resolve_scale(4)
        resolve_theme("x")
        resolve_timezone("Mars/Olympus_Mons")
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "scale 4" in messages and "'x'" in messages and "Mars/Olympus_Mons" in messages


def test_request_fields_reach_the_spec() -> None:
    request = render_pb2.RenderRequest(title="t", chart_type="line", y_units_short="ms", timezone="America/New_York",
                                       scale=2, theme="dark", summary="s")
    request.annotations.add(stream="deploys", title="v42", start=100.0, source="ci")
    request.annotations.add(stream="incidents", title="outage", start=200.0, end=300.0)
    spec = spec_from_request(request)
    assert (spec.y_units_short, spec.timezone, spec.theme) == ("ms", "America/New_York", "dark")
    assert [(a.title, a.start, a.end, a.stream, a.source) for a in spec.annotations] == [
        ("v42", 100.0, None, "deploys", "ci"), ("outage", 200.0, 300.0, "incidents", "")]
    assert capture_scale(request) == 2.0


def test_odd_request_values_give_the_defaults() -> None:
    request = render_pb2.RenderRequest(title="t", chart_type="line", timezone="Nowhere/Else", scale=4, theme="x")
    spec = spec_from_request(request)
    assert (spec.timezone, spec.theme, capture_scale(request)) == ("UTC", "light", 1.0)


def test_large_charts_get_a_scale_their_canvas_can_hold() -> None:
    assert bounded_scale(3.0, 600, 416) == 3.0
    assert bounded_scale(3.0, 4000, 4000) == 1.0
    lowered = bounded_scale(3.0, 2000, 1500)
    assert 1.0 < lowered < 3.0 and 2000 * 1500 * lowered ** 2 <= MAX_DEVICE_PIXELS
    assert capture_scale(render_pb2.RenderRequest(width=4000, height=3000, scale=2)) == 1.0
