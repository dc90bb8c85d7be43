"""Librato's measurement rules, each on its own: tags (batch vs. sample, empty
objects, case, characters), time and period of the batch, summaries stored as
their mean with a standard deviation, float restrictions, the legacy API's
own series, and the metric metadata rules (attributes whitelist, PUT)."""

from __future__ import annotations

import math

import pytest

from chartsnap import errors
from gateway import translate
from gateway.metric_views import legacy_query, update_request
from snapshot_svc import measurements as m
from snapshot_svc import metric_rules
from snapshot_svc.measurements import validate_samples

NOW = 1_700_000_000.0


def _good(raws, batch_tags=None, batch_time=None, batch_period=None, origin=m.TAGGED):
    good, bad = validate_samples(raws, batch_tags or {}, batch_time, NOW, batch_period, origin)
    assert bad == {}, bad
    return good


def _refused(raw, **kw) -> list[str]:
    good, bad = validate_samples([{"path": "measurements[0]", **raw}], kw.get("batch_tags", {}), None, NOW)
    assert good == []
    return bad["measurements[0]"]


def _through_gateway(body: dict):
    """A /v1/measurements body as the snapshot service validates it."""
    from snapshot_svc.measurement_api import samples_from

    request, rejected, _ = translate.submit_measurements(body)
    assert rejected == {}
    good, runs, bad = samples_from(request, NOW)
    assert bad == {}, bad
    return good + [s for run in runs for s in run.samples()]


# -- tags ---------------------------------------------------------------------------------------------

def test_the_documentations_top_level_tags_apply_to_every_measurement():
    good = _through_gateway({"tags": {"region": "us-west", "name": "web-prod-3"},
                             "measurements": [{"name": "cpu", "value": 4.5}, {"name": "memory", "value": 10.5}]})
    assert [(s.metric, s.tags) for s in good] == [
        ("cpu", {"region": "us-west", "name": "web-prod-3"}), ("memory", {"region": "us-west", "name": "web-prod-3"})]


def test_the_documentations_embedded_tags_replace_the_top_level_ones_never_merge():
    good = _through_gateway({
        "tags": {"region": "us-west", "name": "web-prod-3"},
        "measurements": [{"name": "cpu", "value": 4.5, "tags": {"name": "web-prod-1"}},
                         {"name": "memory", "value": 34.5, "tags": {"az": "e", "db": "db-prod-1"}}]})
    assert good[0].tags == {"name": "web-prod-1"}
    assert good[1].tags == {"az": "e", "db": "db-prod-1"}


def test_an_empty_tags_object_replaces_nothing():
    good = _through_gateway({"tags": {"host": "h1"}, "measurements": [{"name": "a", "value": 1, "tags": {}}]})
    assert good[0].tags == {"host": "h1"}


def test_tag_names_and_values_are_lower_cased_and_patterns_may_be_any_case():
    (s,) = _good([{"name": "A.B", "value": 1, "has_tags": True, "tags": {"Region": "US-West"}}])
    assert (s.metric, s.tags) == ("a.b", {"region": "us-west"})


@pytest.mark.parametrize("value", ["web 1", "a/b", "a\\b", "what?", "x:y.z-_"])
def test_tag_values_librato_allows(value):
    (s,) = _good([{"name": "a", "value": 1, "has_tags": True, "tags": {"k": value}}])
    assert s.tags == {"k": value}


@pytest.mark.parametrize("value", ["a@b", "é", "<script>", "a\x00b", "x" * 256, ""])
def test_tag_values_librato_refuses(value):
    (problem,) = _refused({"name": "a", "value": 1, "has_tags": True, "tags": {"k": value}})
    assert problem.startswith("tag k must have a value of 1-255 characters")


def test_tag_names_that_differ_only_in_case_are_refused():
    assert _refused({"name": "a", "value": 1, "has_tags": True, "tags": {"Host": "a", "host": "b"}}) == [
        "tag names differ only in case"]


# -- time and period ------------------------------------------------------------------------------------

def test_top_level_time_and_period_apply_unless_the_sample_has_its_own():
    good = _through_gateway({"time": 1_699_999_000, "period": 60, "measurements": [
        {"name": "a", "value": 1}, {"name": "b", "value": 2, "time": 1_699_999_060, "period": 10}]})
    assert [(s.time, s.period) for s in good] == [(1_699_999_000, 60), (1_699_999_060, 10)]


@pytest.mark.parametrize("period", [0, -5, 31_622_401])
def test_period_out_of_range_is_refused(period):
    assert _refused({"name": "a", "value": 1, "period": period}) == ["period must be from 1 to 31622400 seconds"]


# -- summaries ------------------------------------------------------------------------------------------

def test_the_documentations_full_summary_is_stored_as_its_mean():
    # The "Full Measurement Sample" of Librato's documentation, verbatim.
    good = _through_gateway({"measurements": [{
        "name": "cpu", "time": 1421530163, "period": 60, "attributes": {"aggregate": False},
        "sum": 35.0, "count": 3, "min": 4.5, "max": 6.7, "last": 2.5, "stddev": 1.34,
        "tags": {"region": "us-east-1", "az": "b", "role": "kafka", "environment": "prod", "instance": "3"}}]})
    (s,) = good
    assert s.value == pytest.approx(35.0 / 3) and (s.count, s.sum, s.min, s.max, s.last) == (3, 35.0, 4.5, 6.7, 2.5)
    assert s.stddev == 1.34 and s.period == 60 and s.attributes == {"aggregate": False}
    assert s.time == 1421530163 and s.tags["role"] == "kafka"


def test_stddev_m2_is_welfords_sum_of_squared_deviations():
    # samples 2, 4, 6: mean 4, M2 = 4 + 0 + 4 = 8, population stddev sqrt(8/3)
    (s,) = _good([{"name": "a", "count": 3, "sum": 12, "stddev_m2": 8}])
    assert s.stddev == pytest.approx(math.sqrt(8 / 3)) and s.value == 4


def test_legacy_sum_squares_gives_the_same_deviation():
    (s,) = _good([{"name": "a", "count": 3, "sum": 12, "sum_squares": 4 + 16 + 36}], origin=m.LEGACY)
    assert s.stddev == pytest.approx(math.sqrt(8 / 3))


@pytest.mark.parametrize("raw, problem", [
    ({"count": 3, "sum": 12, "stddev": 1, "stddev_m2": 8}, "only one of stddev, stddev_m2 may be set"),
    ({"count": 3, "sum": 12, "stddev": -1}, "stddev must be a finite number, at least 0"),
    ({"count": 3, "sum": 12, "min": 5, "max": 4}, "min must not be above max"),
    ({"value": 1, "count": 1, "sum": 1}, "value and count are exclusive: a summary sends count and sum, not value"),
    ({"value": 1e127}, "value must be at most 1e+126 in magnitude"),
    ({"count": 1, "sum": -1e127}, "sum must be at most 1e+126 in magnitude"),
])
def test_bad_summaries(raw, problem):
    assert problem in _refused({"name": "a", **raw})


def test_tiny_values_are_stored_as_zero():
    (s,) = _good([{"name": "a", "value": 1e-131}])
    assert s.value == 0.0


def test_a_sample_without_a_summary_has_no_stddev():
    (s,) = _good([{"name": "a", "value": 3}])
    assert s.stddev is None and (s.count, s.sum) == (1, 3.0)


# -- legacy ---------------------------------------------------------------------------------------------

def test_legacy_samples_are_source_tagged_legacy_series_with_their_type():
    request, rejected, total = translate.submit_legacy_metrics({
        "source": "web1", "measure_time": 1_699_999_000,
        "gauges": [{"name": "cpu", "value": 40}, {"name": "cpu", "value": 41, "source": "web2"},
                   {"name": "lat", "count": 2, "sum": 10, "sum_squares": 52, "min": 4, "max": 6}],
        "counters": [{"name": "reqs", "value": 100}]})
    from snapshot_svc.measurement_api import samples_from

    assert rejected == {} and total == 4 and request.legacy
    good, runs, bad = samples_from(request, NOW)
    assert runs == []
    assert bad == {}
    assert [(s.metric, s.tags, s.origin, s.type) for s in good] == [
        ("cpu", {"source": "web1"}, m.LEGACY, "gauge"), ("cpu", {"source": "web2"}, m.LEGACY, "gauge"),
        ("lat", {"source": "web1"}, m.LEGACY, "gauge"), ("reqs", {"source": "web1"}, m.LEGACY, "counter")]
    assert good[2].stddev == pytest.approx(1.0) and good[2].value == 5


def test_a_form_indexed_list_with_gaps_is_a_list_not_names():
    request, rejected, total = translate.submit_legacy_metrics(
        {"gauges": {"0": {"name": "cpu", "value": "1"}, "2": {"name": "mem", "value": "2"}}})
    assert [x.name for x in request.measurements] == ["cpu", "mem"] and total == 2


def test_legacy_and_tagged_series_of_the_same_tags_have_different_keys():
    canonical = m.canonical_tags({"source": "web1"})
    assert m.tags_digest(canonical, m.LEGACY) != m.tags_digest(canonical, m.TAGGED)
    assert m.tags_digest(canonical) == m.tags_digest(canonical, m.TAGGED)  # old series keep their key


def test_legacy_read_by_count_is_a_window_of_count_resolutions():
    q = legacy_query("cpu", {"count": "5", "resolution": "60", "source": "web*"})
    assert (q.duration, q.resolution, dict(q.tags), q.origin) == (300, 60, {"source": "web*"}, "legacy")
    assert legacy_query("cpu", {}) is None
    with pytest.raises(errors.InvalidParams) as exc:
        legacy_query("cpu", {"count": "0"})
    assert "count" in exc.value.fields


# -- metric metadata -------------------------------------------------------------------------------------

def test_attributes_from_forms_and_json_take_one_form():
    assert metric_rules.attribute_changes({
        "display_min": "0", "display_max": 150.5, "display_stacked": "true", "aggregate": False,
        "color": "#52D74C", "summarize_function": "max", "display_units_short": "°F",
        "created_by_ua": "librato-metrics/3", "display_units_long": None}) == {
        "display_min": 0, "display_max": 150.5, "display_stacked": True, "aggregate": False, "color": "#52D74C",
        "summarize_function": "max", "display_units_short": "°F", "display_units_long": None}


@pytest.mark.parametrize("attributes, field", [
    ({"colour": "#000000"}, "attributes.colour"),
    ({"color": "red"}, "attributes.color"),
    ({"display_min": "low"}, "attributes.display_min"),
    ({"display_max": "1e200"}, "attributes.display_max"),
    ({"display_stacked": "maybe"}, "attributes.display_stacked"),
    ({"summarize_function": "median"}, "attributes.summarize_function"),
    ({"display_units_short": "x" * 65}, "attributes.display_units_short"),
    ({"display_units_long": ["a"]}, "attributes.display_units_long"),
    ({"display_transform": "x\x00"}, "attributes.display_transform"),
])
def test_bad_attributes_are_refused_naming_the_attribute(attributes, field):
    with pytest.raises(errors.InvalidParams) as exc:
        metric_rules.attribute_changes(attributes)
    assert field in exc.value.fields


def test_null_unsets_an_attribute_and_others_stay():
    assert metric_rules.applied({"color": "#000000", "display_min": 0}, {"color": None, "display_max": 9}) == {
        "display_min": 0, "display_max": 9}


def test_metric_update_validates_every_field_at_once():
    with pytest.raises(errors.InvalidParams) as exc:
        metric_rules.metric_update("cpu", "composite", "", "d" * 1001, 0, {"nope": 1}, ["type"])
    assert set(exc.value.fields) == {"type", "display_name", "description", "period", "attributes.nope"}
    assert "composite metrics are not supported" in exc.value.fields["type"][0]


def test_a_metric_name_no_metric_can_have_is_not_found():
    with pytest.raises(errors.NotFound):
        metric_rules.checked_name("bad name")
    assert metric_rules.checked_name("CPU.Temp") == "cpu.temp"


def test_put_body_from_the_documentations_form_example():
    # curl -d 'display_name=Temperature in Celsius&attributes[display_min]=0' -X PUT .../v1/metrics/temp
    request = update_request("temp", {"display_name": "Temperature in Celsius", "attributes": {"display_min": "0"}})
    assert request.display_name == "Temperature in Celsius" and not request.HasField("type")
    change = metric_rules.metric_update(
        request.name, None, request.display_name, None, None,
        __import__("json").loads(request.attributes_json), list(request.cleared))
    assert change.attributes == {"display_min": 0} and change.changes() == {"display_name": "Temperature in Celsius"}


def test_put_body_null_clears_and_bad_period_names_it():
    assert list(update_request("x", {"description": None, "period": None}).cleared) == ["description", "period"]
    with pytest.raises(errors.InvalidParams) as exc:
        update_request("x", {"period": "soon", "attributes": "nope"})
    assert set(exc.value.fields) == {"period", "attributes"}


@pytest.mark.parametrize("kind, origin", [("composite", m.LEGACY), ("x" * 100, m.LEGACY), ("counter", m.TAGGED)])
def test_a_sample_type_is_gauge_or_a_legacy_counter(kind, origin):
    good, bad = validate_samples([{"path": "p", "name": "a", "value": 1, "type": kind}], {}, None, NOW, None, origin)
    assert good == [] and bad == {"p": ["type must be gauge (counter only through POST /v1/metrics)"]}


def test_attributes_json_a_grpc_caller_sends_is_judged_like_any_other():
    from chartsnap.v1 import measurements_pb2
    from snapshot_svc.measurement_api import samples_from

    request = measurements_pb2.SubmitMeasurementsRequest(measurements=[
        measurements_pb2.Measurement(name="a", value=1, path="m0", attributes_json="[1]"),
        measurements_pb2.Measurement(name="b", value=1, path="m1", attributes_json='{"display_min": "x"}')])
    good, runs, bad = samples_from(request, NOW)
    assert good == runs == [] and set(bad) == {"m0", "m1"}
    deep = measurements_pb2.Measurement(name="c", value=1, path="m2", attributes_json="[" * 100_000)
    with pytest.raises(errors.InvalidParams):
        samples_from(measurements_pb2.SubmitMeasurementsRequest(measurements=[deep]), NOW)
