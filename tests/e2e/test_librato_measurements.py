"""Measurements as Librato documents them, through the gateway: with the real
`librato` Python client (package librato-metrics), and with the
documentation's own example payloads sent verbatim (JSON and forms)."""

from __future__ import annotations

import time

import librato
import pytest

from tests.e2e.api_client import Api

pytestmark = [pytest.mark.stack, pytest.mark.timeout(90)]


@pytest.fixture(scope="module")
def client(stack, account):  # noqa: ANN001, ANN201
    email, token = account
    return librato.connect(email, token, hostname=stack.gateway_url.removeprefix("http://"), protocol="http")


def _series(api: Api, name: str, **params) -> list[dict]:  # noqa: ANN003
    reply = api.get(f"/v1/measurements/{name}", params={"duration": 3600, **params})
    assert reply.status_code == 200, reply.text
    return reply.json()["series"]


def _tags_and_values(api: Api, name: str, **params) -> list[tuple[dict, list[float]]]:  # noqa: ANN003
    return [(s["tags"], [p["value"] for p in s["measurements"]]) for s in _series(api, name, **params)]


def _canonical(pair: tuple[dict, list[float]]) -> str:
    # A sort key that ignores the order of a tag set's keys: str() of a dict follows insertion
    # order, which the database is free to change (PostgreSQL's jsonb sorts keys by length).
    tags, values = pair
    return repr((sorted(tags.items()), values))


# -- the librato client -----------------------------------------------------------------------------

def test_client_queue_with_top_level_tags_and_embedded_tags(client, api: Api) -> None:  # noqa: ANN001
    # The documentation's Python examples of "Top-Level Tags" and "Embedded Measurement Tags".
    q = client.new_queue(tags={"region": "us-west", "name": "web-prod-3"})
    q.add("lib.cpu", 4.5)
    q.add("lib.memory", 10.5)
    q.add("lib.cpu", 5.5, tags={"name": "web-prod-1"})
    q.add("lib.memory", 34.5, tags={"az": "e", "db": "db-prod-1"})
    q.add("lib.memory", 1.5, tags={"az": "f"}, inherit_tags=True)  # the client merges when asked
    q.submit()
    assert sorted(_tags_and_values(api, "lib.cpu"), key=_canonical) == sorted([
        ({"region": "us-west", "name": "web-prod-3"}, [4.5]), ({"name": "web-prod-1"}, [5.5])], key=_canonical)
    assert sorted(_tags_and_values(api, "lib.memory"), key=_canonical) == sorted([
        ({"region": "us-west", "name": "web-prod-3"}, [10.5]), ({"az": "e", "db": "db-prod-1"}, [34.5]),
        ({"region": "us-west", "name": "web-prod-3", "az": "f"}, [1.5])], key=_canonical)


def test_client_summary_sample_is_drawn_as_its_mean_and_makes_its_metric(client, api: Api) -> None:  # noqa: ANN001
    when = int(time.time()) - 60
    # The documentation's "Full Measurement Sample" in Python ("must set the value attribute to None").
    client.submit("lib.summary", None, period=60, sum=35, count=3, min=4.5, max=6.7, last=2.5, stddev=1.34,
                  attributes={"aggregate": False}, time=when,
                  tags={"region": "us-east-1", "role": "kafka", "environment": "prod", "instance": "3", "az": "b"})
    (series,) = _series(api, "lib.summary")
    assert series["measurements"] == [{"time": when, "value": pytest.approx(35 / 3)}]
    metric = client.get("lib.summary")
    assert type(metric).__name__ == "Gauge" and metric.period == 60 and metric.attributes == {"aggregate": False}


def test_client_legacy_gauges_and_counters_are_source_series(client, api: Api) -> None:  # noqa: ANN001
    now = int(time.time())
    client.submit("lib.cpu_temp", 75, source="us-west")
    client.submit("lib.requests", 100, type="counter", source="web1", measure_time=now - 20)
    queue = client.new_queue()
    queue.add("lib.requests", 250, type="counter", source="web1", measure_time=now - 10)
    queue.submit()
    assert _tags_and_values(api, "lib.cpu_temp") == [({"source": "us-west"}, [75])]
    counter = client.get("lib.requests", duration=600, resolution=1)
    assert type(counter).__name__ == "Counter"
    # Librato draws a counter as the deltas of its reported values.
    assert [m["value"] for m in counter.measurements["web1"]] == [150]
    gauge = client.get("lib.cpu_temp", count=4, resolution=60)  # the documentation's legacy read
    assert [m["value"] for m in gauge.measurements["us-west"]] == [75]


def test_client_writing_both_apis_gets_two_honest_series(client, api: Api) -> None:  # noqa: ANN001
    when = int(time.time()) - 30
    client.submit("lib.dual", 10, source="web1", measure_time=when)
    client.submit("lib.dual", 90, tags={"source": "web1"}, time=when)
    # The tagged API reads the tagged series; the legacy read the legacy one; neither averages 50.
    assert _tags_and_values(api, "lib.dual") == [({"source": "web1"}, [90])]
    assert [m["value"] for m in client.get("lib.dual", duration=600, resolution=1).measurements["web1"]] == [10]
    grouped = client.get_measurements("lib.dual", duration=600, resolution=60, group_by="source",
                                      group_by_function="mean")
    assert [[p["value"] for p in s["measurements"]] for s in grouped["series"]] == [[90]]


def test_client_lists_describes_and_updates_metrics(client) -> None:  # noqa: ANN001
    client.submit("lib.list.requests", 1, tags={"host": "a"})
    client.submit("lib.list.latency", 1, tags={"host": "a"})
    names = [m.name for m in client.list_metrics(name="lib.list.")]
    assert names == ["lib.list.latency", "lib.list.requests"]
    assert [m.name for m in client.list_all_metrics(name="lib.list", length=1)] == names  # follows the pages
    # The documentation's Python update: read the attributes, change them, send them back (created_by_ua too).
    gauge = client.get("lib.list.latency")
    attrs = dict(gauge.attributes, display_units_short="ms", display_min="0", created_by_ua="python")
    assert client.update("lib.list.latency", attributes=attrs, description="Time to answer") is None  # 204
    updated = client.get("lib.list.latency")
    assert updated.attributes == {"display_units_short": "ms", "display_min": 0}
    assert updated.description == "Time to answer"
    with pytest.raises(librato.exceptions.NotFound):
        client.get("lib.never.written")
    with pytest.raises(librato.exceptions.BadRequest):
        client.update("lib.list.latency", attributes={"display_min": "low"})


# -- the documentation's payloads, verbatim ------------------------------------------------------------

def test_doc_top_level_tags_payload(api: Api) -> None:
    reply = api.post("/v1/measurements", headers={"Content-Type": "application/json"}, data='''{
    "tags": {
      "region": "us-west",
      "name": "web-prod-3"
    },
    "measurements": [
      {
        "name": "cpu",
        "value": 4.5
      },
      {
        "name": "memory",
        "value": 10.5
      }
    ]
  }''')
    assert reply.status_code == 202, reply.text
    assert reply.json()["measurements"]["summary"] == {"total": 2, "accepted": 2, "failed": 0, "filtered": 0}
    for name, value in (("cpu", 4.5), ("memory", 10.5)):
        assert ({"region": "us-west", "name": "web-prod-3"}, [value]) in _tags_and_values(api, name)


def test_doc_embedded_tags_payload(api: Api) -> None:
    reply = api.post("/v1/measurements", headers={"Content-Type": "application/json"}, data='''{
    "tags": {
      "region": "us-west",
      "name": "web-prod-3"
    },
    "measurements": [
      {
        "name": "cpu",
        "value": 4.5,
        "tags": {
          "name": "web-prod-1"
        }
      },
      {
        "name": "memory",
        "value": 34.5,
        "tags": {
          "az": "e",
          "db": "db-prod-1"
        }
      }
    ]
  }''')
    assert reply.status_code == 202, reply.text
    # "the cpu metric will replace the top-level tags ... with name:web-prod-1, while the memory metric
    # will use the embedded tags az:e and db:db-prod-1"
    assert _tags_and_values(api, "cpu", **{"tags[name]": "web-prod-1"}) == [({"name": "web-prod-1"}, [4.5])]
    assert _tags_and_values(api, "memory", **{"tags[db]": "*"}) == [({"az": "e", "db": "db-prod-1"}, [34.5])]


def test_doc_full_measurement_sample_payload(api: Api) -> None:
    reply = api.post("/v1/measurements", headers={"Content-Type": "application/json"}, data='''{
    "measurements": [
      {
        "name": "cpu",
        "time": 1421530163,
        "period": 60,
        "attributes": {
          "aggregate": false
        },
        "sum": 35.0,
        "count": 3,
        "min": 4.5,
        "max": 6.7,
        "last": 2.5,
        "stddev": 1.34,
        "tags": {
          "region": "us-east-1",
          "az": "b",
          "role": "kafka",
          "environment": "prod",
          "instance": "3"
        }
      }
    ]
  }''')
    assert reply.status_code == 202, reply.text
    series = api.get("/v1/measurements/cpu", params={"start_time": 1421530100, "end_time": 1421530200,
                                                     "tags[role]": "kafka"}).json()["series"]
    assert [p["value"] for p in series[0]["measurements"]] == [pytest.approx(35.0 / 3)]
    # "the metric attribute ... that is saved when the initial metric (cpu) is created": cpu already existed
    # (made by an earlier sample without attributes here), so the attribute changes nothing.
    assert api.get("/v1/metrics/cpu").json()["attributes"] in ({}, {"aggregate": False})


def test_doc_legacy_payloads_json_and_form(api: Api) -> None:
    reply = api.post("/v1/metrics", headers={"Content-Type": "application/json"}, data='''
     {
       "gauges": [
         {
           "name": "cpu",
           "value": 75,
           "source": "my.machine"
         }
       ]
     }''')
    assert reply.status_code == 202, reply.text
    form = api.post("/v1/metrics", data="gauges[0][name]=cpu_temp&gauges[0][value]=75&gauges[0][source]=us-west",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 202, form.text
    legacy = api.get("/v1/metrics/cpu", params={"count": 5, "resolution": 60}).json()
    assert [m["value"] for m in legacy["measurements"]["my.machine"]] == [75]
    assert api.get("/v1/metrics/cpu_temp", params={"count": 4, "resolution": 60}).json()["measurements"] == {
        "us-west": [{"measure_time": pytest.approx(time.time() // 60 * 60, abs=120), "value": 75}]}


def test_doc_metric_put_examples(api: Api) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    # Creating a metric: 201 with Location and the metric.
    created = api.put("/v1/metrics/queue_len", headers=form,
                      data="type=gauge&description=Length of app queue&display_name=num. elements")
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == "/v1/metrics/queue_len"
    assert created.json() == {"name": "queue_len", "description": "Length of app queue",
                              "display_name": "num. elements", "type": "gauge", "period": None, "attributes": {}}
    # Updating a metric: 204, then described as updated.
    api.post("/v1/measurements", json={"measurements": [{"name": "temp", "value": 21, "tags": {"room": "a"}}]})
    updated = api.put("/v1/metrics/temp", headers=form,
                      data="display_name=Temperature in Celsius&attributes[display_min]=0")
    assert updated.status_code == 204, updated.text
    assert api.put("/v1/metrics/temperature", headers=form, data="type=gauge").status_code == 201
    assert api.put("/v1/metrics/temperature", headers=form, data="attributes[display_max]=150").status_code == 204
    assert api.put("/v1/metrics/speed", headers=form, data="type=gauge&attributes[aggregate]=true").status_code == 201
    temp = api.get("/v1/metrics/temp").json()
    assert (temp["display_name"], temp["attributes"]) == ("Temperature in Celsius", {"display_min": 0})
    assert api.get("/v1/metrics/temperature").json()["attributes"] == {"display_max": 150}
    assert api.get("/v1/metrics/speed").json()["attributes"] == {"aggregate": True}


@pytest.mark.timeout(180)
def test_a_snapshot_of_a_metric_written_through_both_apis_draws_one_honest_series(api: Api) -> None:
    end = int(time.time()) // 60 * 60 - 60
    times = [end - 600 + 60 * i for i in range(10)]
    legacy = api.post("/v1/metrics", json={"source": "web1", "gauges": [
        {"name": "snap.dual", "value": 10, "measure_time": t} for t in times]})
    tagged = api.post("/v1/measurements", json={"tags": {"source": "web1"}, "measurements": [
        {"name": "snap.dual", "value": 90, "time": t} for t in times]})
    assert legacy.status_code == tagged.status_code == 202
    counters = api.post("/v1/metrics", json={"source": "r1", "counters": [
        {"name": "snap.hits", "value": 100 * i * i, "measure_time": t} for i, t in enumerate(times)]})
    assert counters.status_code == 202
    _, chart_id = api.make_chart("Both APIs", "line", [{"metric": "snap.dual", "source": "web1"},
                                                        {"metric": "snap.hits", "source": "*"}])
    created = api.post("/v1/snapshots", json={"subject": {"chart": {"id": chart_id, "type": "line"}},
                                              "end_time": end, "duration": 600})
    assert created.status_code == 202, created.text
    snap = created.json()
    assert api.wait_for_job(snap["job_href"], timeout=150)["state"] == "complete"
    data = api.get(f"/v1/snapshots/{snap['id']}/data").json()
    dual, hits = ([p["value"] for p in s["measurements"]] for s in data["series"])
    assert set(dual) == {90}  # the tagged series: never the 50 a mixture would average to
    assert hits == [100 * (2 * i - 1) for i in range(1, 10)]  # a counter drawn as its deltas
