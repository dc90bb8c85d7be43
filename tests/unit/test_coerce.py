"""gateway.coerce: typed values from JSON or form bodies; every failure names the field."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from chartsnap import errors
from gateway import coerce


def _fails(fn, value, field="f", *args) -> list[str]:
    """The messages for `field`; asserts the error names exactly that field."""
    with pytest.raises(errors.InvalidParams) as info:
        fn(value, field, *args)
    assert list(info.value.fields) == [field]
    return info.value.fields[field]


def _epoch(*args) -> int:
    return int(datetime(*args, tzinfo=timezone.utc).timestamp())


# -- integer -------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (5, 5), (0, 0), (-3, -3), (7.0, 7), ("42", 42), (" 42 ", 42), ("-17", -17), ("0", 0), (2**40, 2**40),
])
def test_integer_accepts(value, expected):
    result = coerce.integer(value, "duration")
    assert result == expected and type(result) is int


@pytest.mark.parametrize("value", [True, False, 1.5, "1.5", "abc", "", " ", "+5", "1e3", None, [], {}, "5 5",
                                   float("nan"), float("inf")])
def test_integer_refuses(value):
    assert _fails(coerce.integer, value, "duration") == ["must be an integer"]


def test_integer_uses_the_callers_message():
    assert _fails(coerce.integer, "x", "duration", "must be a whole number of seconds") == [
        "must be a whole number of seconds"]


def test_integer_refuses_double_minus_as_a_field_error():
    assert _fails(coerce.integer, "--5", "duration") == ["must be an integer"]


def test_integer_refuses_superscript_digits_as_a_field_error():
    assert _fails(coerce.integer, "²", "duration") == ["must be an integer"]


# -- number ----------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (1, 1.0), (2.5, 2.5), ("2.5", 2.5), (" -3 ", -3.0), ("1e3", 1000.0), (0, 0.0),
])
def test_number_accepts(value, expected):
    assert coerce.number(value, "min") == expected


@pytest.mark.parametrize("value", [True, False, None, "abc", "", [], {}])
def test_number_refuses_non_numbers(value):
    assert _fails(coerce.number, value, "streams[0].min") == ["must be a number"]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), "NaN", "Infinity", "1e400"])
def test_number_refuses_non_finite(value):
    assert _fails(coerce.number, value, "value") == ["must be a finite number"]


def test_number_refuses_huge_integer_as_a_field_error():
    assert _fails(coerce.number, 10**400, "value")


# -- boolean -----------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (True, True), (False, False), (1, True), (0, False), (1.0, True), ("true", True), ("TRUE", True),
    (" yes ", True), ("on", True), ("1", True), ("false", False), ("0", False), ("no", False), ("off", False),
    ("", False),
])
def test_boolean_accepts(value, expected):
    assert coerce.boolean(value, "use_last_value") is expected


@pytest.mark.parametrize("value", [2, -1, 0.5, "maybe", "t", None, [], {}])
def test_boolean_refuses(value):
    assert _fails(coerce.boolean, value, "use_last_value") == ["must be true or false"]


# -- text ----------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [("abc", "abc"), (5, "5"), (2.5, "2.5"), ("", "")])
def test_text_accepts_scalars(value, expected):
    assert coerce.text(value, "name") == expected


@pytest.mark.parametrize("value", [None, [], {}, ["a"], {"a": 1}])
def test_text_refuses_structures_and_null(value):
    assert _fails(coerce.text, value, "name") == ["must be a string"]


def test_text_length_limit_is_inclusive():
    assert coerce.text("x" * 10, "message", 10) == "x" * 10
    assert _fails(coerce.text, "x" * 11, "message", 10) == ["must be at most 10 characters"]


def test_text_default_limit():
    assert len(coerce.text("y" * 10_000, "label")) == 10_000
    assert _fails(coerce.text, "y" * 10_001, "label") == ["must be at most 10000 characters"]


# -- epoch_seconds ----------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (1455931126, 1455931126),
    (1455931126.9, 1455931126),
    ("1455931126", 1455931126),
    (" 1455931126 ", 1455931126),
    ("-5", -5),
    (0, 0),
    ("2016-02-20T01:18:46Z", _epoch(2016, 2, 20, 1, 18, 46)),
    ("2016-02-20T01:18:46z", _epoch(2016, 2, 20, 1, 18, 46)),
    ("2016-02-20T01:18:46+00:00", _epoch(2016, 2, 20, 1, 18, 46)),
    ("2016-02-20T03:18:46+02:00", _epoch(2016, 2, 20, 1, 18, 46)),
    ("2016-02-19T20:18:46-05:00", _epoch(2016, 2, 20, 1, 18, 46)),
    ("2016-02-20T01:18:46.750Z", _epoch(2016, 2, 20, 1, 18, 46)),
    ("2016-02-20T01:18:46", _epoch(2016, 2, 20, 1, 18, 46)),  # naive is UTC
    ("2016-02-20 01:18:46", _epoch(2016, 2, 20, 1, 18, 46)),
    ("2016-02-20", _epoch(2016, 2, 20)),
])
def test_epoch_seconds_accepts(value, expected):
    result = coerce.epoch_seconds(value, "end_time")
    assert result == expected and type(result) is int


def test_naive_iso_is_utc_not_local_time(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert coerce.epoch_seconds("2016-02-20T01:18:46", "end_time") == _epoch(2016, 2, 20, 1, 18, 46)
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("value", [
    "garbage", "", "yesterday", "2016-13-01T00:00:00Z", "2016-02-20T25:00:00Z", "1e9", "1455931126.5",
    True, False, None, [], {}, float("nan"), float("inf"),
])
def test_epoch_seconds_refuses(value):
    assert _fails(coerce.epoch_seconds, value, "end_time") == ["must be Unix epoch seconds or an ISO 8601 time"]


def test_epoch_seconds_refuses_double_minus_as_a_field_error():
    assert _fails(coerce.epoch_seconds, "--5", "end_time")


# -- as_list / as_dict ----------------------------------------------------------------------

def test_as_list():
    assert coerce.as_list(None, "streams") == []
    assert coerce.as_list([1, 2], "streams") == [1, 2]
    # A form's indexed list that had gaps stays a dict; its values are the list.
    assert coerce.as_list({"0": "a", "5": "b"}, "streams") == ["a", "b"]
    for bad in ("abc", 5, True):
        assert _fails(coerce.as_list, bad, "streams") == ["must be a list"]


def test_as_dict():
    assert coerce.as_dict(None, "tags") == {}
    assert coerce.as_dict({"a": "b"}, "tags") == {"a": "b"}
    for bad in ("abc", 5, [1]):
        assert _fails(coerce.as_dict, bad, "tags") == ["must be an object"]


def test_errors_are_invalid_params_whose_message_names_the_field():
    with pytest.raises(errors.InvalidParams) as info:
        coerce.integer("x", "width", "must be a whole number of pixels")
    assert info.value.message == "width must be a whole number of pixels"
