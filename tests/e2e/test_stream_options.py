"""Chart stream options through the gateway over HTTP: kept and shown back as
sent, a bad transform_function a 400 naming the stream's field (never a 500,
whatever the text), and a snapshot drawn from them — the frozen data holds
the transformed values at the stream's period, the name, metric and tags of
each line and the units; the PNG carries the stream's colour."""

from __future__ import annotations

import time

import pytest

from tests.e2e.api_client import Api, fetch_png, has_color

pytestmark = [pytest.mark.stack, pytest.mark.timeout(180)]

OPTIONS = {"name": "Network", "color": "#e377c2", "units_short": "b/s", "units_long": "bits per second",
           "transform_function": "x*8/p", "period": 60, "summary_function": "sum", "downsample_function": "sum",
           "min": 0, "max": 100}


def _window() -> tuple[int, int]:
    """A past hour whose start is a whole minute: buckets of 60 s begin at it."""
    end = int(time.time()) // 60 * 60 - 60
    return end - 3600, end


def _params(response) -> dict:  # noqa: ANN001
    assert response.status_code == 400, response.text
    return response.json()["errors"]["params"]


def _new_space(api: Api) -> int:
    response = api.post("/v1/spaces", json={"name": f"stream options {time.time_ns()}"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_options_are_kept_and_shown_back(api: Api) -> None:
    space_id, chart_id = api.make_chart("Options kept", "line", [{"metric": "net.bytes", **OPTIONS}])
    (stream,) = api.get(f"/v1/spaces/{space_id}/charts/{chart_id}").json()["streams"]
    assert {k: stream[k] for k in OPTIONS} == OPTIONS


def test_form_bodies_carry_the_options(api: Api) -> None:
    space_id = _new_space(api)
    created = api.post(f"/v1/spaces/{space_id}/charts", data={
        "name": "Form", "streams[0][metric]": "net.bytes", "streams[0][transform_function]": "(x-32)/1.8",
        "streams[0][downsample_function]": "max", "streams[0][period]": "300", "streams[0][min]": "-40"})
    assert created.status_code == 201, created.text
    (stream,) = created.json()["streams"]
    assert (stream["transform_function"], stream["downsample_function"], stream["period"], stream["min"]) == (
        "(x-32)/1.8", "max", 300, -40)


@pytest.mark.parametrize("formula, words", [
    ("x*", "ends too soon"),
    ("abs(x)", "unknown name 'abs' at position 1"),
    ("__import__('os').system('id')", "unknown name '__import__' at position 1"),
    ("x.__class__.__mro__", "at position 2"),
    ("(" * 40 + "x" + ")" * 40, "nested too deeply"),
    ("(" * 200 + "x" + ")" * 54, "at most 100 numbers, names, operators and parentheses"),
    ("9" * 255, None),  # a very large number is a number: accepted
    ("x" * 256, "at most 255 characters"),
    ("x\u202e*2", "is not allowed"),
    ("<script>x</script>", "is not allowed"),
])
def test_bad_formulas_are_a_400_naming_the_field(api: Api, formula: str, words: str | None) -> None:
    space_id = _new_space(api)
    response = api.post(f"/v1/spaces/{space_id}/charts", json={"name": "Bad", "streams": [
        {"metric": "ok"}, {"metric": "net.bytes", "transform_function": formula}]})
    if words is None:
        assert response.status_code == 201, response.text
        return
    params = _params(response)
    assert list(params) == ["streams[1].transform_function"]
    assert words in params["streams[1].transform_function"][0]


def test_other_bad_options_are_named(api: Api) -> None:
    space_id = _new_space(api)
    params = _params(api.post(f"/v1/spaces/{space_id}/charts", json={"name": "Bad", "streams": [
        {"metric": "a", "downsample_function": "median", "period": 0, "min": 5, "max": 1, "color": "pink"}]}))
    assert set(params) == {"streams[0].downsample_function", "streams[0].period", "streams[0].max",
                           "streams[0].color"}


def test_an_update_with_a_bad_formula_changes_nothing(api: Api) -> None:
    space_id, chart_id = api.make_chart("Update", "line", [{"metric": "net.bytes", "transform_function": "x/8"}])
    params = _params(api.put(f"/v1/spaces/{space_id}/charts/{chart_id}",
                             json={"streams": [{"metric": "net.bytes", "transform_function": "x/"}]}))
    assert list(params) == ["streams[0].transform_function"]
    (stream,) = api.get(f"/v1/spaces/{space_id}/charts/{chart_id}").json()["streams"]
    assert stream["transform_function"] == "x/8"


def _snapshot_data(api: Api, chart_id: int, chart_type: str, end: int) -> tuple[dict, dict]:
    created = api.post("/v1/snapshots", json={"subject": {"chart": {"id": chart_id, "type": chart_type}},
                                              "duration": 3600, "end_time": end})
    assert created.status_code == 202, created.text
    job = api.wait_for_job(created.json()["job_href"])
    assert job["state"] == "complete", job
    data = api.get(f"/v1/snapshots/{created.json()['id']}/data")
    assert data.status_code == 200, data.text
    return job, data.json()


def test_a_snapshot_is_drawn_from_the_options(api: Api) -> None:
    start, end = _window()
    metric = f"net.bytes.{time.time_ns()}"
    # One sample a minute, 5 s past it: bytes sent in that minute.
    response = api.post("/v1/measurements", json={"measurements": [
        {"name": metric, "value": 60.0 * i, "time": start + 60 * i + 5, "tags": {"host": "edge"}}
        for i in range(60)]})
    assert response.status_code == 202, response.text
    _, chart_id = api.make_chart("Network", "line", [{"metric": metric, **OPTIONS}])
    job, data = _snapshot_data(api, chart_id, "line", end)

    (line,) = data["series"]
    assert (line["label"], line["metric"], line["tags"]) == ("Network", metric, {})
    # x*8/p with p = 60 (the period; the chart's own buckets are 12 s): bits per second.
    assert [(m["time"], m["value"]) for m in line["measurements"]] == [
        (start + 60 * i, pytest.approx(60.0 * i * 8 / 60)) for i in range(60)]
    assert data["units_short"] == "b/s"
    assert has_color(fetch_png(job["output"]["image_href"]), OPTIONS["color"]), "the stream's colour is missing"


def test_a_breakout_is_named_by_stream_and_tags(api: Api) -> None:
    start, end = _window()
    metric = f"disk.used.{time.time_ns()}"
    api.post("/v1/measurements", json={"measurements": [
        {"name": metric, "value": 10.0 + n, "time": start + 60 * i + 1, "tags": {"disk": disk}}
        for n, disk in enumerate(("sda", "sdb")) for i in range(10)]})
    _, chart_id = api.make_chart("Disks", "stacked", [
        {"metric": metric, "name": "Disk", "group_function": "breakout", "transform_function": "x/2",
         "units_short": "GB", "min": 0, "max": 50}])
    _, data = _snapshot_data(api, chart_id, "stacked", end)
    assert sorted((s["label"], s["metric"], tuple(s["tags"].items())) for s in data["series"]) == [
        ("Disk: sda", metric, (("disk", "sda"),)), ("Disk: sdb", metric, (("disk", "sdb"),))]
    values = {s["label"]: {m["value"] for m in s["measurements"]} for s in data["series"]}
    assert values == {"Disk: sda": {5.0}, "Disk: sdb": {5.5}}
    assert data["units_short"] == "GB"
