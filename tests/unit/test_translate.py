"""gateway.translate: REST bodies and query strings into gRPC requests."""

from __future__ import annotations

import pytest

from chartsnap import errors
from gateway import translate
from gateway.request_body import parse_body

FORM = "application/x-www-form-urlencoded"


def _fields(fn, *args) -> dict[str, list[str]]:
    with pytest.raises(errors.InvalidParams) as info:
        fn(*args)
    return info.value.fields


def _snap(**extra) -> dict:
    return {"subject": {"chart": {"id": 5, "type": "line"}}, **extra}


# -- create_snapshot ---------------------------------------------------------------

def test_create_snapshot_minimal():
    req = translate.create_snapshot(_snap())
    assert req.subject.chart_id == 5
    assert req.subject.chart_type == "line"
    for optional in ("duration", "end_time", "width", "height", "message"):
        assert not req.HasField(optional), optional
    assert not req.subject.HasField("source")
    assert list(req.services) == [] and list(req.subject.tags) == []


def test_create_snapshot_all_fields():
    req = translate.create_snapshot(_snap(
        duration=600, end_time="2016-02-20T01:18:46Z", width=800, height=300, message="look",
        services=["3", 4],
    ))
    assert req.duration == 600
    assert req.end_time.seconds == 1455931126
    assert (req.width, req.height) == (800, 300)
    assert req.message == "look"
    assert list(req.services) == ["3", "4"]


def test_create_snapshot_from_a_rails_form():
    body = parse_body(FORM, b"subject[chart][id]=12&subject[chart][type]=stacked&duration=7200"
                            b"&end_time=1455931126&services[]=3&services[]=4&width=640")
    req = translate.create_snapshot(body)
    assert (req.subject.chart_id, req.subject.chart_type) == (12, "stacked")
    assert req.duration == 7200 and req.end_time.seconds == 1455931126 and req.width == 640
    assert list(req.services) == ["3", "4"]


def test_create_snapshot_type_is_passed_through_for_the_service_to_check():
    assert translate.create_snapshot({"subject": {"chart": {"id": 1, "type": "pie"}}}).subject.chart_type == "pie"
    assert translate.create_snapshot({"subject": {"chart": {"id": 1}}}).subject.chart_type == ""
    assert translate.create_snapshot({"subject": {"chart": {"id": 1, "type": ["x"]}}}).subject.chart_type == ""


@pytest.mark.parametrize("body", [
    {}, {"subject": None}, {"subject": "chart 1"}, {"subject": {}}, {"subject": {"chart": 1}},
    {"subject": {"chart": [1]}}, {"duration": 60},
])
def test_create_snapshot_without_a_chart_names_subject(body):
    fields = _fields(translate.create_snapshot, body)
    assert list(fields) == ["subject"]
    assert "subject.chart.id" in fields["subject"][0]


def test_create_snapshot_chart_id_missing_or_bad():
    assert _fields(translate.create_snapshot, {"subject": {"chart": {"type": "line"}}}) == {
        "subject": ["chart id is required"]}
    assert _fields(translate.create_snapshot, {"subject": {"chart": {"id": "abc", "type": "line"}}}) == {
        "subject": ["chart id must be an integer"]}
    assert _fields(translate.create_snapshot, {"subject": {"chart": {"id": 1.5, "type": "line"}}}) == {
        "subject": ["chart id must be an integer"]}


@pytest.mark.parametrize("key, value, message", [
    ("duration", "abc", "must be a whole number of seconds"),
    ("duration", 60.5, "must be a whole number of seconds"),
    ("duration", True, "must be a whole number of seconds"),
    ("end_time", "yesterday", "must be Unix epoch seconds or an ISO 8601 time"),
    ("width", "wide", "must be a whole number of pixels"),
    ("width", 0, "must be from 100 to 4000 pixels"),
    ("height", -5, "must be from 100 to 4000 pixels"),
    ("height", 2**31, "must be from 100 to 4000 pixels"),
    ("message", "x" * 10_001, "must be at most 10000 characters"),
    ("message", {"a": 1}, "must be a string"),
    ("services", "3", "must be a list"),
    ("services", [{"id": 3}], "must be a string"),
])
def test_create_snapshot_bad_field_is_named(key, value, message):
    assert _fields(translate.create_snapshot, _snap(**{key: value})) == {key: [message]}


def test_create_snapshot_reports_every_bad_field_at_once():
    body = {"subject": {"chart": {"id": "x", "type": "line"}}, "duration": "d", "end_time": "e",
            "width": "w", "height": "h", "message": ["m"], "services": 7}
    assert set(_fields(translate.create_snapshot, body)) == {
        "subject", "duration", "end_time", "width", "height", "message", "services"}


def test_create_snapshot_message_length_is_left_to_the_service():
    # The 1,000-character bound is the snapshot service's (snapshots.validate); the
    # gateway only refuses absurd sizes.
    assert translate.create_snapshot(_snap(message="x" * 1001)).message == "x" * 1001


@pytest.mark.parametrize("key", ["duration", "end_time", "width", "height", "message", "services"])
def test_create_snapshot_empty_or_null_optionals_are_absent(key):
    for empty in (None, ""):
        req = translate.create_snapshot(_snap(**{key: empty}))
        if key == "services":
            assert list(req.services) == []
        else:
            assert not req.HasField(key)


def test_create_snapshot_tags_narrowing():
    req = translate.create_snapshot({"subject": {"chart": {
        "id": 1, "type": "line",
        "tags": [{"name": "environment", "values": ["prod*"]}, {"name": "host", "values": "web-1"}],
    }}})
    assert [(t.name, list(t.values)) for t in req.subject.tags] == [("environment", ["prod*"]), ("host", ["web-1"])]
    assert not req.subject.HasField("source")


def test_create_snapshot_legacy_source_narrowing():
    req = translate.create_snapshot({"subject": {"chart": {"id": 1, "type": "line", "source": "web-*"}}})
    assert req.subject.HasField("source") and req.subject.source == "web-*"


@pytest.mark.parametrize("chart_extra, field", [
    ({"tags": "env"}, "subject.chart.tags"),
    ({"tags": ["env"]}, "subject.chart.tags[0]"),
    ({"tags": [{"name": "env", "values": [["x"]]}]}, "subject.chart.tags[0].values"),
    ({"tags": [{"name": "e" * 65, "values": ["x"]}]}, "subject.chart.tags[0].name"),
    ({"tags": [{"name": "env", "values": ["x"], "grouped": "maybe"}]}, "subject.chart.tags[0].grouped"),
    ({"source": {"a": 1}}, "subject.chart.source"),
    ({"source": "s" * 256}, "subject.chart.source"),
])
def test_create_snapshot_bad_narrowing_names_the_field(chart_extra, field):
    body = {"subject": {"chart": {"id": 1, "type": "line", **chart_extra}}}
    assert list(_fields(translate.create_snapshot, body)) == [field]


def test_create_snapshot_huge_duration_is_a_field_error():
    assert "duration" in _fields(translate.create_snapshot, _snap(duration=10**20))


def test_create_snapshot_huge_chart_id_is_a_field_error():
    assert "subject" in _fields(translate.create_snapshot, {"subject": {"chart": {"id": 10**20, "type": "line"}}})


def test_create_snapshot_end_time_in_milliseconds_is_a_field_error():
    assert "end_time" in _fields(translate.create_snapshot, _snap(end_time=1455931126000))


# -- chart_fields ------------------------------------------------------------------------

def test_chart_fields_scalars():
    f = translate.chart_fields({"name": "CPU", "type": "bignumber", "label": "%", "min": "0", "max": 100,
                                "related_space": "9", "use_last_value": "true"})
    assert (f.name, f.type, f.label, f.min, f.max, f.related_space, f.use_last_value) == (
        "CPU", "bignumber", "%", 0.0, 100.0, 9, True)
    assert not f.set_streams and not f.set_thresholds


def test_chart_fields_absent_keys_stay_unset():
    f = translate.chart_fields({})
    for key in ("name", "type", "label", "min", "max", "related_space", "use_last_value"):
        assert not f.HasField(key), key
    assert not f.set_streams and not f.set_thresholds


def test_chart_fields_streams():
    f = translate.chart_fields({"streams": [
        {"metric": "cpu", "source": "web*", "group_function": "sum", "summary_function": "max",
         "color": "#ff0000", "name": "CPU", "units_short": "%", "units_long": "percent", "min": 0, "max": "100",
         "period": "60", "transform_function": "x*2"},
        {"metric": "mem", "tags": [{"name": "env", "values": ["prod"], "dynamic": True}]},
    ]})
    assert f.set_streams
    s0, s1 = f.streams
    assert (s0.metric, s0.source, s0.group_function, s0.summary_function, s0.color, s0.name) == (
        "cpu", "web*", "sum", "max", "#ff0000", "CPU")
    assert (s0.units_short, s0.units_long, s0.min, s0.max, s0.period, s0.transform_function) == (
        "%", "percent", 0.0, 100.0, 60, "x*2")
    assert s1.metric == "mem" and not s1.HasField("source")
    assert [(t.name, list(t.values), t.dynamic) for t in s1.tags] == [("env", ["prod"], True)]


def test_chart_fields_streams_from_a_form():
    body = parse_body(FORM, b"name=c&streams[0][metric]=cpu&streams[1][metric]=mem&streams[1][min]=5")
    f = translate.chart_fields(body)
    assert [s.metric for s in f.streams] == ["cpu", "mem"] and f.streams[1].min == 5.0


def test_chart_fields_empty_streams_list_still_sets_the_flag():
    f = translate.chart_fields({"streams": [], "thresholds": []})
    assert f.set_streams and f.set_thresholds and list(f.streams) == [] and list(f.thresholds) == []


def test_chart_fields_null_streams_clear():
    f = translate.chart_fields({"streams": None})
    assert f.set_streams and list(f.streams) == []


@pytest.mark.parametrize("body, field", [
    ({"streams": [{"metric": "cpu", "min": "low"}]}, "streams[0].min"),
    ({"streams": [{"metric": "cpu"}, {"metric": "m", "max": [1]}]}, "streams[1].max"),
    ({"streams": [{"metric": "cpu", "period": "1.5"}]}, "streams[0].period"),
    ({"streams": [{"metric": ["cpu"]}]}, "streams[0].metric"),
    ({"streams": [{"metric": "cpu", "tags": "env"}]}, "streams[0].tags"),
    ({"streams": [{"metric": "cpu", "tags": [{"name": "e", "dynamic": "x"}]}]}, "streams[0].tags[0].dynamic"),
    ({"streams": ["cpu"]}, "streams[0]"),
    ({"streams": "cpu"}, "streams"),
    ({"thresholds": "x"}, "thresholds"),
    ({"thresholds": [5]}, "thresholds[0]"),
    ({"thresholds": [{"operator": ">", "type": "red"}]}, "thresholds[0].value"),
    ({"thresholds": [{"operator": ">=>", "value": 1, "type": "red"}]}, "thresholds[0].operator"),
    ({"name": ["a"]}, "name"),
    ({"min": "zero"}, "min"),
    ({"related_space": "abc"}, "related_space"),
    ({"use_last_value": "sometimes"}, "use_last_value"),
])
def test_chart_fields_bad_types_name_the_field(body, field):
    assert list(_fields(translate.chart_fields, body)) == [field]


def test_chart_fields_collects_errors_from_several_streams():
    body = {"streams": [{"metric": "a", "min": "x"}, {"metric": "b"}, {"metric": "c", "max": "y"}], "min": "z"}
    assert set(_fields(translate.chart_fields, body)) == {"streams[0].min", "streams[2].max", "min"}


def test_chart_fields_thresholds():
    f = translate.chart_fields({"thresholds": [{"operator": ">", "value": "90", "type": "red"},
                                               {"operator": "<", "value": 5, "type": "yellow"}]})
    assert [(t.operator, t.value, t.type) for t in f.thresholds] == [(">", 90.0, "red"), ("<", 5.0, "yellow")]


def test_chart_fields_huge_period_is_a_field_error():
    assert list(_fields(translate.chart_fields, {"streams": [{"metric": "a", "period": 10**12}]})) == [
        "streams[0].period"]


def test_chart_fields_huge_related_space_is_a_field_error():
    assert list(_fields(translate.chart_fields, {"related_space": 10**20})) == ["related_space"]


# -- submit_measurements ------------------------------------------------------------------------

def test_submit_measurements_well_typed():
    req, rejected, total = translate.submit_measurements({
        "tags": {"host": "web-1", "n": 3}, "time": "1455931126",
        "measurements": [
            {"name": "cpu", "value": "0.5"},
            {"name": "lat", "count": "3", "sum": 6, "min": 1, "max": 3, "last": 2, "time": 1455931000,
             "tags": {"host": "web-2"}, "period": 60},
        ],
    })
    assert (rejected, total) == ({}, 2)
    assert dict(req.tags) == {"host": "web-1", "n": "3"} and req.time == 1455931126
    a, b = req.measurements
    assert (a.name, a.value, a.path, a.has_tags, a.HasField("time")) == ("cpu", 0.5, "measurements[0]", False, False)
    assert (b.count, b.sum, b.min, b.max, b.last, b.time, b.period) == (3, 6.0, 1.0, 3.0, 2.0, 1455931000, 60)
    assert b.has_tags and dict(b.tags) == {"host": "web-2"} and b.path == "measurements[1]"


def test_submit_measurements_empty_per_sample_tags_replace_nothing():
    req, _, _ = translate.submit_measurements({"tags": {"a": "b"}, "measurements": [{"name": "x", "value": 1,
                                                                                     "tags": {}}]})
    assert not req.measurements[0].has_tags and dict(req.measurements[0].tags) == {}


def test_submit_measurements_ill_typed_are_reported_and_rest_kept():
    req, rejected, total = translate.submit_measurements({"measurements": [
        {"name": "a", "value": 1},
        {"name": "b", "value": "lots"},
        "not an object",
        {"name": "d", "value": 4, "time": "noon"},
        {"name": "e", "value": 5, "tags": {"k": ["v"]}},
        {"name": "f", "value": 6},
    ]})
    assert total == 6
    assert [m.name for m in req.measurements] == ["a", "f"]
    assert [m.path for m in req.measurements] == ["measurements[0]", "measurements[5]"]
    assert rejected == {
        "measurements[1]": ["measurements[1].value must be a number"],
        "measurements[2]": ["measurements[2] must be an object"],
        "measurements[3]": ["measurements[3].time must be Unix epoch seconds or an ISO 8601 time"],
        "measurements[4]": ["measurements[4].tags.k must be a string"],
    }


def test_submit_measurements_requires_the_list():
    assert _fields(translate.submit_measurements, {"tags": {"a": "b"}}) == {"measurements": ["is required"]}
    assert _fields(translate.submit_measurements, {"measurements": "cpu"}) == {"measurements": ["must be a list"]}


def test_submit_measurements_empty_list_is_not_an_error():
    req, rejected, total = translate.submit_measurements({"measurements": []})
    assert (len(req.measurements), rejected, total) == (0, {}, 0)


@pytest.mark.parametrize("body, field", [
    ({"tags": "host=a", "measurements": []}, "tags"),
    ({"tags": {"host": None}, "measurements": []}, "tags.host"),
    ({"tags": {"host": True}, "measurements": []}, "tags.host"),
    ({"time": "noon", "measurements": []}, "time"),
])
def test_submit_measurements_bad_batch_fields_fail_whole(body, field):
    assert list(_fields(translate.submit_measurements, body)) == [field]


def test_submit_measurements_out_of_range_time_rejects_only_that_sample():
    req, rejected, _ = translate.submit_measurements({"measurements": [
        {"name": "a", "value": 1}, {"name": "b", "value": 1, "time": 10**20}]})
    assert [m.name for m in req.measurements] == ["a"] and "measurements[1]" in rejected


# -- submit_legacy_metrics -----------------------------------------------------------------------

def test_legacy_gauges_and_counters_lists():
    req, rejected, total = translate.submit_legacy_metrics({
        "measure_time": 1455931126,
        "gauges": [{"name": "cpu", "value": 1, "source": "web-1"}, {"name": "mem", "value": "2"}],
        "counters": [{"name": "hits", "value": 10, "source": "web-2", "measure_time": 1455931000}],
    })
    assert (rejected, total) == ({}, 3) and req.time == 1455931126
    cpu, mem, hits = req.measurements
    assert (cpu.name, cpu.value, dict(cpu.tags), cpu.has_tags, cpu.path) == ("cpu", 1.0, {"source": "web-1"},
                                                                           True, "gauges[0]")
    assert (mem.name, dict(mem.tags), mem.has_tags) == ("mem", {}, True)
    assert (hits.path, dict(hits.tags), hits.time) == ("counters[0]", {"source": "web-2"}, 1455931000)


def test_legacy_batch_source_applies_unless_overridden():
    req, _, _ = translate.submit_legacy_metrics({
        "source": "batch", "gauges": [{"name": "a", "value": 1}, {"name": "b", "value": 2, "source": "own"}]})
    assert [dict(m.tags) for m in req.measurements] == [{"source": "batch"}, {"source": "own"}]


def test_legacy_item_tags_are_ignored():
    req, _, _ = translate.submit_legacy_metrics({"gauges": [{"name": "a", "value": 1, "tags": {"x": "y"}}]})
    assert dict(req.measurements[0].tags) == {}


def test_legacy_dict_form():
    req, rejected, total = translate.submit_legacy_metrics({
        "gauges": {"cpu": {"value": 1, "source": "s1"}, "mem": 2}, "counters": {"hits": {"value": 7}}})
    assert (rejected, total) == ({}, 3)
    assert [(m.name, m.value, dict(m.tags)) for m in req.measurements] == [
        ("cpu", 1.0, {"source": "s1"}), ("mem", 2.0, {}), ("hits", 7.0, {})]


def test_legacy_bad_items_are_reported_per_item():
    req, rejected, total = translate.submit_legacy_metrics({
        "gauges": [{"name": "a", "value": "x"}, 5, {"name": "ok", "value": 1},
                   {"name": "s", "value": 1, "source": ["a"]}]})
    assert total == 4 and [m.name for m in req.measurements] == ["ok"]
    assert rejected == {
        "gauges[0]": ["gauges[0].value must be a number"],
        "gauges[1]": ["gauges[1] must be an object"],
        "gauges[3]": ["gauges[3].source must be a string"],
    }


def test_legacy_requires_gauges_or_counters():
    assert list(_fields(translate.submit_legacy_metrics, {"source": "x"})) == ["gauges"]
    assert list(_fields(translate.submit_legacy_metrics, {"gauges": "cpu"})) == ["gauges"]


# -- query_measurements ---------------------------------------------------------------------------

def test_query_measurements_all_params():
    req = translate.query_measurements("cpu", {
        "start_time": "2016-02-20T00:00:00Z", "end_time": "1455931126", "resolution": "60",
        "tags[host]": "web-*", "tags[env]": "prod", "group_by": "host", "group_by_function": "sum",
        "summary_function": "max", "other": "ignored",
    })
    assert req.name == "cpu"
    assert (req.start_time, req.end_time, req.resolution) == (1455926400, 1455931126, 60)
    assert dict(req.tags) == {"host": "web-*", "env": "prod"}
    assert (req.group_by, req.group_by_function, req.summary_function) == ("host", "sum", "max")
    assert not req.HasField("duration")


def test_query_measurements_defaults():
    req = translate.query_measurements("cpu", {"duration": "3600"})
    assert req.duration == 3600 and not req.HasField("start_time") and not req.HasField("end_time")
    assert (req.resolution, req.group_by, req.group_by_function, dict(req.tags)) == (0, "", "", {})


@pytest.mark.parametrize("params, field", [
    ({"duration": "0"}, "duration"),
    ({"duration": "-60"}, "duration"),
    ({"duration": "soon"}, "duration"),
    ({"resolution": "1m"}, "resolution"),
    ({"start_time": "dawn"}, "start_time"),
    ({"end_time": "dusk"}, "end_time"),
])
def test_query_measurements_bad_params(params, field):
    assert list(_fields(translate.query_measurements, "cpu", params)) == [field]


def test_query_measurements_reports_all_bad_params():
    assert set(_fields(translate.query_measurements, "cpu", {"start_time": "x", "resolution": "y"})) == {
        "start_time", "resolution"}


def test_query_measurements_huge_resolution_is_a_field_error():
    assert list(_fields(translate.query_measurements, "cpu", {"resolution": "99999999999"})) == ["resolution"]


# -- page_request ------------------------------------------------------------------------------------

def test_page_request_defaults_and_values():
    p = translate.page_request({})
    assert (p.offset, p.length, p.orderby, p.sort) == (0, 0, "", "")
    p = translate.page_request({"offset": "20", "length": "50", "orderby": "name", "sort": "desc"})
    assert (p.offset, p.length, p.orderby, p.sort) == (20, 50, "name", "desc")


@pytest.mark.parametrize("params, field, message", [
    ({"offset": "-1"}, "offset", "must be a non-negative integer"),
    ({"offset": "abc"}, "offset", "must be an integer"),
    ({"offset": str(2**31)}, "offset", "must be a non-negative integer"),
    ({"length": "0"}, "length", "must be between 1 and 100"),
    ({"length": "-5"}, "length", "must be a non-negative integer"),
    ({"length": "lots"}, "length", "must be an integer"),
])
def test_page_request_bad_values(params, field, message):
    assert _fields(translate.page_request, params) == {field: [message]}
