"""Bad input gets the contract's error shape and status — never a 500."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.api_client import Api

pytestmark = [pytest.mark.stack, pytest.mark.timeout(60)]

SEED_BODY_WITH_UNBALANCED_BRACE = """{
    "subject": {
    "chart": {
      "id": 1,
      "type": "stacked"
    }
  }
  """


@pytest.fixture
def chart_id(api: Api) -> int:
    return api.make_chart("Errors", "line", [{"metric": "x"}])[1]


def params_of(response: requests.Response) -> dict:
    body = response.json()
    assert set(body) == {"errors"}, body
    return body["errors"]["params"]


def test_seed_example_with_unbalanced_brace_is_a_400(api: Api) -> None:
    r = api.post("/v1/snapshots", data=SEED_BODY_WITH_UNBALANCED_BRACE,
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400
    assert r.json() == {"errors": {"request": ["Malformed JSON body"]}}
    r = api.post("/v1/snapshots", data="{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["errors"]["request"] == ["Malformed JSON body"]


@pytest.mark.parametrize("body, field", [
    ({"subject": {"chart": {"type": "line"}}}, "subject"),
    ({"subject": {"chart": {"id": "abc", "type": "line"}}}, "subject"),
    ({"subject": "nope"}, "subject"),
    ({}, "subject"),
])
def test_missing_or_bad_subject(api: Api, body: dict, field: str) -> None:
    r = api.post("/v1/snapshots", json=body)
    assert r.status_code == 400, r.text
    assert field in params_of(r)


def test_unknown_chart_type(api: Api, chart_id: int) -> None:
    r = api.post("/v1/snapshots", json={"subject": {"chart": {"id": chart_id, "type": "pie"}}})
    assert r.status_code == 400 and "subject" in params_of(r)


def test_unknown_chart(api: Api) -> None:
    r = api.post("/v1/snapshots", json={"subject": {"chart": {"id": 987654321, "type": "line"}}})
    assert r.status_code == 400 and "subject" in params_of(r)


@pytest.mark.parametrize("duration", ["abc", -5, 0, 59, 1.5, 31_622_401, True, [1]])
def test_bad_duration(api: Api, chart_id: int, duration) -> None:  # noqa: ANN001
    r = api.post("/v1/snapshots", json={"subject": {"chart": {"id": chart_id, "type": "line"}}, "duration": duration})
    assert r.status_code == 400, r.text
    assert list(params_of(r)) == ["duration"]


@pytest.mark.parametrize("end_time", ["yesterday", "2016-13-45T00:00:00Z", 99999999999, [], {"a": 1}])
def test_bad_end_time(api: Api, chart_id: int, end_time) -> None:  # noqa: ANN001
    r = api.post("/v1/snapshots", json={"subject": {"chart": {"id": chart_id, "type": "line"}}, "end_time": end_time})
    assert r.status_code == 400, r.text
    assert list(params_of(r)) == ["end_time"]


def test_good_end_time_forms(api: Api, chart_id: int) -> None:
    for end_time, iso in ((1455931126, "2016-02-20T01:18:46Z"), ("2016-02-20T01:18:46Z", "2016-02-20T01:18:46Z"),
                          ("2016-02-20T02:18:46+01:00", "2016-02-20T01:18:46Z")):
        r = api.post("/v1/snapshots", json={"subject": {"chart": {"id": chart_id, "type": "line"}},
                                            "end_time": end_time})
        assert r.status_code == 202, r.text
        assert r.json()["end_time"] == iso


def test_several_bad_fields_are_all_named(api: Api, chart_id: int) -> None:
    r = api.post("/v1/snapshots", json={"subject": {"chart": {"id": chart_id, "type": "line"}},
                                        "duration": 5, "width": 99999, "message": "x" * 1001})
    assert r.status_code == 400
    assert {"duration", "width", "message"} <= set(params_of(r))


def test_wrong_content_type_is_415(api: Api) -> None:
    r = api.post("/v1/snapshots", data="subject=1", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and "request" in r.json()["errors"]
    r = api.post("/v1/spaces", data=b"--x--", headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert r.status_code == 415


def test_body_too_large_is_413(api: Api) -> None:
    r = api.post("/v1/measurements", data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                 headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["errors"]["request"]


@pytest.mark.parametrize("auth", [None, ("nobody@example.com", "x" * 64), "wrong-token", ("", "")])
def test_missing_or_wrong_credentials_are_401(api: Api, auth) -> None:  # noqa: ANN001
    if auth == "wrong-token":
        auth = (api.email, "0" * 64)
    r = requests.post(api.url("/v1/snapshots"), json={"subject": {"chart": {"id": 1, "type": "line"}}},
                      auth=auth, timeout=10)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert "errors" in r.json()
    r = requests.get(api.url("/v1/jobs/1"), headers={"Authorization": "Basic !!!"}, timeout=10)
    assert r.status_code == 401


@pytest.mark.parametrize("path", ["/v1/snapshots/999999", "/v1/snapshots/abc", "/v1/jobs/999999",
                                  "/v1/spaces/999999", "/v1/nothing-here", "/v1/snapshots/99999999999999999999999"])
def test_unknown_resources_are_404_json(api: Api, path: str) -> None:
    r = api.get(path)
    assert r.status_code == 404 and "errors" in r.json()


def test_bad_pagination(api: Api) -> None:
    for params, field in (({"length": 1000}, "length"), ({"offset": -1}, "offset"), ({"sort": "up"}, "sort"),
                          ({"offset": "x"}, "offset")):
        r = api.get("/v1/snapshots", params=params)
        assert r.status_code == 400 and field in params_of(r), r.text


def test_chart_validation(api: Api) -> None:
    space = api.post("/v1/spaces", json={"name": "validation space"}).json()["id"]
    cases = [
        ({"name": "", "streams": []}, "name"),
        ({"name": "c", "type": "donut"}, "type"),
        ({"name": "c", "streams": [{"metric": "m", "color": "red"}]}, "streams[0].color"),
        ({"name": "c", "streams": [{"composite": "s(\"a\", \"*\")"}]}, "streams[0].composite"),
        ({"name": "c", "streams": [{"metric": "m", "min": "low"}]}, "streams[0].min"),
        ({"name": "c", "streams": "cpu"}, "streams"),
        ({"name": "c", "thresholds": [{"operator": "!", "value": 1, "type": "red"}]}, "thresholds[0].operator"),
    ]
    for body, field in cases:
        r = api.post(f"/v1/spaces/{space}/charts", json=body)
        assert r.status_code == 400, (body, r.text)
        assert field in params_of(r), (body, r.json())


def test_duplicate_space_is_422(api: Api) -> None:
    assert api.post("/v1/spaces", json={"name": "twice"}).status_code == 201
    r = api.post("/v1/spaces", json={"name": "twice"})
    assert r.status_code == 422 and r.json()["errors"]["request"]


def test_measurement_batches(api: Api) -> None:
    r = api.post("/v1/measurements", json={"tags": {"host": "a"}, "measurements": [
        {"name": "ok.metric", "value": 1},
        {"name": "bad name!", "value": 1},
        {"name": "ok.metric", "value": "NaN"},
        {"name": "ok.metric", "value": "abc"},
        {"name": "ok.metric2", "count": 2, "sum": 10},
    ]})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["measurements"]["summary"] == {"total": 5, "accepted": 2, "failed": 3, "filtered": 0}
    assert set(body["errors"]["params"]) == {"measurements[1]", "measurements[2]", "measurements[3]"}
    r = api.post("/v1/measurements", json={"measurements": [{"name": "x", "value": None}]})
    assert r.status_code == 400 and "measurements[0]" in params_of(r)
    r = api.post("/v1/measurements", json={"measurements": "nope"})
    assert r.status_code == 400
    r = api.get("/v1/measurements/ok.metric", params={"duration": 600, "tags[host]": "a"})
    assert r.status_code == 200, r.text
    series = r.json()["series"]
    assert series[0]["tags"] == {"host": "a"} and series[0]["measurements"][0]["value"] == 1
    r = api.get("/v1/measurements/ok.metric", params={"duration": "soon"})
    assert r.status_code == 400 and "duration" in params_of(r)
    r = api.get("/v1/measurements/ok.metric")
    assert r.status_code == 400 and "start_time" in params_of(r)


@pytest.mark.parametrize("path", ["/v1/snapshots/%C2%B2", "/v1/jobs/%D9%A1", "/v1/spaces/%C2%B2",
                                  "/v1/services/%C2%B2", "/v1/spaces/1/charts/%C2%B2"])
def test_unicode_digits_in_ids_are_404_not_500(api: Api, path: str) -> None:
    r = api.get(path)
    assert r.status_code == 404 and "errors" in r.json()


@pytest.mark.parametrize("body", [
    b'{"name": "\\ud800"}',
    b'{"name": ' + b"1" * 5000 + b"}",
])
def test_hostile_json_is_a_400(api: Api, body: bytes) -> None:
    r = api.post("/v1/spaces", data=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["errors"]["request"]


@pytest.mark.parametrize("end_time", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", 1455931126000])
def test_end_times_beyond_any_calendar_are_a_400(api: Api, chart_id: int, end_time) -> None:  # noqa: ANN001
    r = api.post("/v1/snapshots", json={"subject": {"chart": {"id": chart_id, "type": "line"}}, "end_time": end_time})
    assert r.status_code == 400 and list(params_of(r)) == ["end_time"]


def test_json_labelled_text_plain_is_accepted(api: Api) -> None:
    r = api.post("/v1/spaces", data='{"name": "labelled text"}', headers={"Content-Type": "text/plain"})
    assert r.status_code == 201, r.text


def test_zero_threshold_and_foreign_related_space(api: Api, stack) -> None:  # noqa: ANN001
    space = api.post("/v1/spaces", json={"name": "thresholds"}).json()["id"]
    r = api.post(f"/v1/spaces/{space}/charts", json={
        "name": "zero", "type": "bignumber", "thresholds": [{"operator": ">", "value": 0, "type": "red"}]})
    assert r.status_code == 201, r.text
    assert r.json()["thresholds"] == [{"operator": ">", "value": 0.0, "type": "red"}]
    r = api.post(f"/v1/spaces/{space}/charts", json={"name": "rel", "related_space": 987654})
    assert r.status_code == 400 and "related_space" in params_of(r)
    r = api.post(f"/v1/spaces/{space}/charts", json={"name": "rel", "related_space": space})
    assert r.status_code == 201 and r.json()["related_space"] == space


def test_oversized_lists_are_refused_not_cut(api: Api) -> None:
    space = api.post("/v1/spaces", json={"name": "many thresholds"}).json()["id"]
    r = api.post(f"/v1/spaces/{space}/charts", json={
        "name": "t", "thresholds": [{"operator": ">", "value": i, "type": "red"} for i in range(150)]})
    assert r.status_code == 400 and "thresholds" in params_of(r)
    r = api.post("/v1/measurements", json={"measurements": [{"name": "m", "value": 1}] * 10_001})
    assert r.status_code == 400 and "measurements" in params_of(r)


def test_pathological_tag_pattern_answers_fast(api: Api) -> None:
    import time as _time
    api.post("/v1/measurements", json={"measurements": [{"name": "pat.metric", "value": 1, "tags": {"host": "a" * 255}}]})
    started = _time.monotonic()
    r = api.get("/v1/measurements/pat.metric", params={"duration": 600, "tags[host]": "*a*a*a*a*a*a*b"})
    assert r.status_code == 404
    assert _time.monotonic() - started < 2


@pytest.mark.parametrize("body, content_type", [("{bad", "application/json"), ("x=1", "text/plain"),
                                                 ('{"subject": 5}', "application/json")])
def test_wrong_credentials_win_over_a_bad_body(api: Api, body: str, content_type: str) -> None:
    r = requests.post(api.url("/v1/snapshots"), data=body, headers={"Content-Type": content_type},
                      auth=(api.email, "f" * 64), timeout=10)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
    r = requests.get(api.url("/v1/snapshots/abc"), auth=(api.email, "f" * 64), timeout=10)
    assert r.status_code == 401
    # Good credentials still get the precise error.
    assert api.post("/v1/snapshots", data=body, headers={"Content-Type": content_type}).status_code in (400, 415)
