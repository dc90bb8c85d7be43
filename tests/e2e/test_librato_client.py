"""The existing Librato Python client, pointed at the gateway, just works."""

from __future__ import annotations

import time

import librato
import pytest

from tests.e2e.api_client import Api

pytestmark = [pytest.mark.stack, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def client(stack, account):  # noqa: ANN001, ANN201
    email, token = account
    host = stack.gateway_url.removeprefix("http://")
    return librato.connect(email, token, hostname=host, protocol="http")


def test_spaces_and_charts(client) -> None:  # noqa: ANN001
    space = client.create_space("Librato client space")
    assert space.id and space.name == "Librato client space"
    assert client.get_space(space.id).name == "Librato client space"
    assert any(s.id == space.id for s in client.list_spaces())
    assert client.find_space("Librato client space").id == space.id

    chart = client.create_chart("Requests", space, type="line",
                                streams=[{"metric": "api.requests", "source": "*", "color": "#1f77b4"}])
    assert chart.id and chart.name == "Requests"
    charts = client.list_charts_in_space(space)
    assert [c.name for c in charts] == ["Requests"]
    assert charts[0].streams[0].metric == "api.requests"
    fetched = client.get_chart(chart.id, space)
    assert fetched.type == "line"

    chart.name = "Requests per second"
    client.update_chart(chart, space, name="Requests per second")
    assert client.get_chart(chart.id, space).name == "Requests per second"

    space.name = "Renamed space"
    client.update_space(space, name="Renamed space")
    assert client.get_space(space.id).name == "Renamed space"
    client.delete_chart(chart.id, space.id)
    assert client.list_charts_in_space(client.get_space(space.id)) == []
    client.delete_space(space.id)
    with pytest.raises(librato.exceptions.NotFound):
        client.get_space(space.id)


def test_submit_and_read_measurements(client, stack, account) -> None:  # noqa: ANN001
    now = int(time.time())
    client.submit("jobs.queued", 12, tags={"region": "us-west", "host": "w1"})
    client.submit("jobs.queued", 30, tags={"region": "us-east", "host": "e1"})
    # The legacy gauge API, as older scripts use it.
    client.submit("legacy.temp", 21.5, source="rack-7")
    queue = client.new_queue()
    queue.add_tagged("jobs.done", 3, tags={"region": "us-west"})
    queue.add_tagged("jobs.done", 4, tags={"region": "us-west"}, time=now - 120)
    queue.submit()

    west = client.get_measurements("jobs.queued", duration=600, tags={"region": "us-*"})
    by_region = {s["tags"]["region"]: s["measurements"] for s in west["series"]}
    assert by_region["us-west"][-1]["value"] == 12
    assert by_region["us-east"][-1]["value"] == 30
    grouped = client.get_measurements("jobs.queued", duration=600, resolution=60, group_by="*",
                                      group_by_function="sum")
    assert len(grouped["series"]) == 1 and grouped["series"][0]["measurements"][-1]["value"] == 42
    done = client.get_measurements("jobs.done", duration=600, tags={"region": "us-west"})
    assert [m["value"] for m in done["series"][0]["measurements"]] == [4, 3]

    api = Api(stack.gateway_url, *account)
    legacy = api.get("/v1/measurements/legacy.temp", params={"duration": 600, "tags[source]": "rack-*"}).json()
    assert legacy["series"][0]["tags"] == {"source": "rack-7"}
    assert legacy["series"][0]["measurements"][0]["value"] == 21.5
