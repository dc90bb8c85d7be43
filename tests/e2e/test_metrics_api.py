"""GET /v1/metrics, GET and PUT /v1/metrics/{name} over HTTP: pages and the
name filter, the contract's 404 and 400 shapes naming the field, tenancy, and
metadata kept as samples arrive (POST /v1/metrics still submits)."""

from __future__ import annotations

import pytest

from tests.conftest import add_account
from tests.e2e.api_client import Api

pytestmark = [pytest.mark.stack, pytest.mark.timeout(90)]


def _params(reply) -> dict:  # noqa: ANN001
    assert reply.status_code == 400, reply.text
    return reply.json()["errors"]["params"]


def test_samples_make_metrics_listed_in_pages_with_a_name_filter(api: Api) -> None:
    api.post("/v1/measurements", json={"period": 30, "tags": {"host": "a"}, "measurements": [
        {"name": "pages.alpha", "value": 1, "attributes": {"display_units_short": "ms", "color": "#52D74C"}},
        {"name": "pages.beta", "value": 1, "period": 10}, {"name": "Pages.Gamma", "value": 1}]})
    legacy = api.post("/v1/metrics", json={"counters": [{"name": "pages.delta", "value": 3, "source": "w"}]})
    assert legacy.status_code == 202, legacy.text  # POST /v1/metrics is still the legacy submit
    first = api.get("/v1/metrics", params={"name": "pages.", "length": 2}).json()
    assert first["query"]["found"] == 4 and first["query"]["length"] == 2 and first["query"]["offset"] == 0
    assert first["query"]["total"] >= 4
    assert [m["name"] for m in first["metrics"]] == ["pages.alpha", "pages.beta"]
    rest = api.get("/v1/metrics", params={"name": "PAGES.", "offset": 2, "sort": "desc"}).json()
    assert [m["name"] for m in rest["metrics"]] == ["pages.beta", "pages.alpha"]
    alpha = api.get("/v1/metrics/Pages.Alpha").json()
    assert alpha == {"name": "pages.alpha", "display_name": None, "type": "gauge", "description": None,
                     "period": 30, "attributes": {"display_units_short": "ms", "color": "#52D74C"}}
    assert api.get("/v1/metrics/pages.beta").json()["period"] == 10
    assert api.get("/v1/metrics/pages.delta").json()["type"] == "counter"


def test_unknown_or_impossible_metric_is_a_404_in_the_contracts_shape(api: Api) -> None:
    for path in ("/v1/metrics/never.written", "/v1/metrics/bad%20name", "/v1/metrics/" + "x" * 300):
        reply = api.get(path)
        assert reply.status_code == 404, reply.text
        assert reply.json() == {"errors": {"request": ["metric not found"]}}


def test_another_accounts_metric_is_not_found(api: Api, stack) -> None:  # noqa: ANN001
    api.post("/v1/measurements", json={"measurements": [{"name": "private.metric", "value": 1,
                                                         "tags": {"h": "a"}}]})
    other = Api(stack.gateway_url, *add_account(stack))
    assert other.get("/v1/metrics/private.metric").status_code == 404
    assert other.get("/v1/metrics", params={"name": "private"}).json()["metrics"] == []
    assert other.put("/v1/metrics/private.metric", json={"display_name": "x"}).status_code == 400  # not created


@pytest.mark.parametrize("body, field", [
    ({"display_name": "x" * 256}, "display_name"),
    ({"display_name": ""}, "display_name"),
    ({"description": "d" * 1001}, "description"),
    ({"period": 0}, "period"),
    ({"period": "soon"}, "period"),
    ({"type": "composite"}, "type"),
    ({"attributes": {"colour": "#000000"}}, "attributes.colour"),
    ({"attributes": {"color": "<b>red</b>"}}, "attributes.color"),
    ({"attributes": {"display_max": "a lot"}}, "attributes.display_max"),
    ({"attributes": {"summarize_function": "median"}}, "attributes.summarize_function"),
    ({"attributes": {"display_units_long": "u\u0000"}}, "attributes.display_units_long"),
    ({"attributes": "display_min=0"}, "attributes"),
])
def test_bad_metadata_is_a_400_naming_the_field(api: Api, body: dict, field: str) -> None:
    api.put("/v1/metrics/validated", json={"type": "gauge"})
    assert field in _params(api.put("/v1/metrics/validated", json=body))


def test_put_without_type_on_a_new_metric_names_type(api: Api) -> None:
    assert list(_params(api.put("/v1/metrics/not.yet", json={"display_name": "Not yet"}))) == ["type"]


def test_metadata_of_an_existing_metric_is_not_changed_by_samples(api: Api) -> None:
    api.post("/v1/measurements", json={"measurements": [{"name": "kept", "value": 1, "period": 60,
                                                         "tags": {"h": "a"}}]})
    api.post("/v1/measurements", json={"measurements": [{"name": "kept", "value": 2, "period": 5,
                                                         "attributes": {"color": "#000000"}, "tags": {"h": "a"}}]})
    assert api.get("/v1/metrics/kept").json()["period"] == 60
    assert api.get("/v1/metrics/kept").json()["attributes"] == {}
    assert api.put("/v1/metrics/kept", json={"period": 5, "display_name": "Kept",
                                             "attributes": {"color": "#000000"}}).status_code == 204
    assert api.put("/v1/metrics/kept", json={"display_name": None}).status_code == 204
    kept = api.get("/v1/metrics/kept").json()
    assert (kept["period"], kept["display_name"], kept["attributes"]) == (5, None, {"color": "#000000"})


def test_a_bad_sample_attribute_refuses_that_sample_only(api: Api) -> None:
    reply = api.post("/v1/measurements", json={"tags": {"h": "a"}, "measurements": [
        {"name": "attr.ok", "value": 1}, {"name": "attr.bad", "value": 1, "attributes": {"nope": True}}]})
    assert reply.status_code == 202, reply.text
    assert "measurements[1]" in reply.json()["errors"]["params"]
    assert api.get("/v1/metrics/attr.bad").status_code == 404


def test_list_paging_parameters_are_checked(api: Api) -> None:
    assert "length" in _params(api.get("/v1/metrics", params={"length": 101}))
    assert "orderby" in _params(api.get("/v1/metrics", params={"orderby": "type"}))
    assert "offset" in _params(api.get("/v1/metrics", params={"offset": -1}))


def test_legacy_read_parameters_are_checked(api: Api) -> None:
    api.post("/v1/metrics", json={"gauges": [{"name": "legacy.checked", "value": 1}]})
    assert "count" in _params(api.get("/v1/metrics/legacy.checked", params={"count": 0}))
    assert "resolution" in _params(api.get("/v1/metrics/legacy.checked", params={"count": 2, "resolution": 0}))
    assert "start_time" in _params(api.get("/v1/metrics/legacy.checked", params={"end_time": 10}))
    # No legacy series: the metric with no measurements, not an error.
    api.post("/v1/measurements", json={"measurements": [{"name": "tagged.only", "value": 1, "tags": {"h": "a"}}]})
    assert api.get("/v1/metrics/tagged.only", params={"count": 5}).json()["measurements"] == {}
    unsourced = api.get("/v1/metrics/legacy.checked", params={"count": 5}).json()["measurements"]
    assert [m["value"] for m in unsourced["unassigned"]] == [1]
