"""snapshot_svc.charts: the rules of a stream's drawing options (transform_function,
downsample_function, period, min/max), each refusal a field error naming the stream."""

from __future__ import annotations

import pytest

from chartsnap import errors
from snapshot_svc.charts import DOWNSAMPLE_FUNCTIONS, MAX_STREAM_PERIOD, SpaceStore, validate_chart


def _fields(stream: dict, index: int = 0) -> dict[str, list[str]]:
    streams = [{"metric": "ok"}] * index + [stream]
    with pytest.raises(errors.InvalidParams) as caught:
        validate_chart({"name": "c", "streams": streams}, creating=True)
    return caught.value.fields


def _stream(**options) -> dict:
    (stream,) = validate_chart({"name": "c", "streams": [{"metric": "cpu", **options}]}, creating=True)["streams"]
    return stream


@pytest.mark.parametrize("text", ["x/1000", "(x-32)/1.8", "(x*8)/1000/1000/p", "-x", "x/p*60", " x "])
def test_good_transforms_are_kept_as_written(text):
    assert _stream(transform_function=text)["transform_function"] == text


@pytest.mark.parametrize("text", [None, "", "   "])
def test_no_transform(text):
    assert "transform_function" not in _stream(transform_function=text)


@pytest.mark.parametrize("text, words", [
    ("x*", "ends too soon"),
    ("abs(x)", "unknown name 'abs' at position 1"),
    ("import os", "unknown name 'import' at position 1"),
    ("x.__class__", "a lone '.' at position 2"),
    ("(" * 40 + "x" + ")" * 40, "nested too deeply"),
    ("x" + " " * 255, "at most 255 characters"),
    ("x;rm -rf /", "';' at position 2 is not allowed"),
])
def test_bad_transform_is_a_field_error_naming_the_stream(text, words):
    fields = _fields({"metric": "cpu", "transform_function": text}, index=2)
    assert list(fields) == ["streams[2].transform_function"]
    (message,) = fields["streams[2].transform_function"]
    assert words in message


def test_a_long_transform_is_refused_never_cut():
    fields = _fields({"metric": "cpu", "transform_function": "x+" * 200 + "x"})
    assert list(fields) == ["streams[0].transform_function"]


@pytest.mark.parametrize("function", DOWNSAMPLE_FUNCTIONS)
def test_downsample_functions(function):
    assert _stream(downsample_function=function)["downsample_function"] == function


def test_downsample_unset_stays_unset():
    assert "downsample_function" not in _stream()
    assert "downsample_function" not in _stream(downsample_function="")


@pytest.mark.parametrize("bad", ["median", "AVERAGE", "breakout", 3])
def test_bad_downsample_function(bad):
    assert list(_fields({"metric": "cpu", "downsample_function": bad})) == ["streams[0].downsample_function"]


@pytest.mark.parametrize("period", [1, 60, MAX_STREAM_PERIOD])
def test_periods(period):
    assert _stream(period=period)["period"] == period


@pytest.mark.parametrize("bad", [0, -60, MAX_STREAM_PERIOD + 1, 1.5, "60", True])
def test_bad_period(bad):
    fields = _fields({"metric": "cpu", "period": bad})
    assert list(fields) == ["streams[0].period"]
    assert "whole number of seconds" in fields["streams[0].period"][0]


def test_min_and_max():
    stream = _stream(min=0, max=100)
    assert (stream["min"], stream["max"]) == (0, 100)
    assert _stream(min=-5)["min"] == -5 and "max" not in _stream(min=-5)


@pytest.mark.parametrize("low, high", [(100, 100), (100, 0)])
def test_min_must_be_below_max(low, high):
    assert _fields({"metric": "cpu", "min": low, "max": high}) == {"streams[0].max": ["must be greater than min"]}


@pytest.mark.parametrize("key", ["name", "units_short", "units_long"])
def test_nul_in_texts_is_refused(key):
    assert list(_fields({"metric": "cpu", key: "a\x00b"})) == [f"streams[0].{key}"]


def test_every_bad_option_is_named_at_once():
    fields = _fields({"metric": "cpu", "transform_function": "y", "downsample_function": "p99", "period": 0,
                      "min": 2, "max": 1})
    assert set(fields) == {"streams[0].transform_function", "streams[0].downsample_function",
                           "streams[0].period", "streams[0].max"}


def test_update_with_a_bad_transform_changes_nothing(db_engine, acct):
    store = SpaceStore(db_engine)
    space = store.create_space(acct, "Ops")
    chart = store.create_chart(acct, space["id"], {"name": "c", "streams": [{"metric": "cpu",
                                                                            "transform_function": "x/8"}]})
    with pytest.raises(errors.InvalidParams) as caught:
        store.update_chart(acct, space["id"], chart["id"], {"streams": [{"metric": "cpu",
                                                                         "transform_function": "x/"}]})
    assert list(caught.value.fields) == ["streams[0].transform_function"]
    assert store.get_chart(acct, chart["id"])["streams"][0]["transform_function"] == "x/8"
