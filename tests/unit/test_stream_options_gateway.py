"""gateway.translate: a chart's stream options reach the service with their
types (downsample_function among them), a formula past its bound is refused
whole, never cut, and views show every option back."""

from __future__ import annotations

import pytest

from chartsnap import errors
from chartsnap.v1 import spaces_pb2
from gateway import translate, views


def test_stream_options_are_carried():
    fields = translate.chart_fields({"streams": [{
        "metric": "net", "downsample_function": "max", "summary_function": "sum", "transform_function": "x*8/p",
        "period": "60", "min": "0", "max": 1000, "units_short": "b/s", "units_long": "bits per second",
        "color": "#00aa00", "name": "Network"}]})
    (s,) = fields.streams
    assert (s.downsample_function, s.summary_function, s.transform_function, s.period, s.min, s.max) == (
        "max", "sum", "x*8/p", 60, 0.0, 1000.0)
    assert (s.units_short, s.units_long, s.color, s.name) == ("b/s", "bits per second", "#00aa00", "Network")


def test_unset_downsample_stays_unset():
    (s,) = translate.chart_fields({"streams": [{"metric": "net"}]}).streams
    assert not s.HasField("downsample_function")


def test_a_formula_past_255_characters_is_refused_naming_the_field():
    translate.chart_fields({"streams": [{"metric": "a", "transform_function": "x" + " " * 254}]})
    with pytest.raises(errors.InvalidParams) as caught:
        translate.chart_fields({"streams": [{"metric": "a"}, {"metric": "b", "transform_function": "x" * 256}]})
    assert list(caught.value.fields) == ["streams[1].transform_function"]


@pytest.mark.parametrize("key", ["downsample_function", "transform_function"])
def test_options_must_be_text(key):
    with pytest.raises(errors.InvalidParams) as caught:
        translate.chart_fields({"streams": [{"metric": "a", key: {"x": 1}}]})
    assert list(caught.value.fields) == [f"streams[0].{key}"]


def test_views_show_every_option_back():
    stream = spaces_pb2.Stream(id=1, metric="net", group_function="average", summary_function="sum",
                               downsample_function="max", transform_function="x/p", period=60, min=0, max=10,
                               units_short="b/s", units_long="bits", color="#00aa00", name="Network")
    out = views.stream(stream)
    assert {k: out[k] for k in ("downsample_function", "transform_function", "period", "min", "max", "units_short",
                                "units_long", "color", "name")} == {
        "downsample_function": "max", "transform_function": "x/p", "period": 60, "min": 0.0, "max": 10.0,
        "units_short": "b/s", "units_long": "bits", "color": "#00aa00", "name": "Network"}
    assert "downsample_function" not in views.stream(spaces_pb2.Stream(id=1, metric="net"))
