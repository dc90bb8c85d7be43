"""Snapshots through the gateway over HTTP, as the seed's curl examples do."""

from __future__ import annotations

import math
import time

import pytest
import requests

from tests.e2e.api_client import Api, color_count, distinct_colors, fetch_png, has_color

pytestmark = [pytest.mark.stack, pytest.mark.timeout(120)]

COLORS = ("#d62728", "#1f77b4", "#2ca02c")


def seed_measurements(api: Api, metric: str, hosts: tuple[str, ...], now: int, span: int = 3600) -> None:
    batch = []
    for n, host in enumerate(hosts):
        for t in range(now - span, now, 30):
            batch.append({"name": metric, "value": 40 + 25 * math.sin(t / 400 + n) + 15 * n, "time": t,
                          "tags": {"host": host, "env": "prod" if n < 2 else "staging"}})
    response = api.post("/v1/measurements", json={"measurements": batch})
    assert response.status_code == 202, response.text
    assert response.json()["measurements"]["summary"]["accepted"] == len(batch)


def test_seed_create_snapshot_with_curl_style_body_renders_the_chart(api: Api) -> None:
    now = int(time.time())
    seed_measurements(api, "queue.depth", ("web-1", "web-2", "web-3"), now)
    streams = [{"metric": "queue.depth", "tags": [{"name": "host", "values": [h]}], "color": c, "name": h}
               for h, c in zip(("web-1", "web-2", "web-3"), COLORS)]
    _, chart_id = api.make_chart("Queue depth", "stacked", streams)

    # Exactly what `curl -d '{...}'` sends: JSON labelled as form data.
    body = '{"subject": {"chart": {"id": %d, "type": "stacked"}}}' % chart_id
    created = api.post("/v1/snapshots", data=body,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert created.status_code == 202, created.text
    snap = created.json()
    assert created.headers["Location"] == f"/v1/snapshots/{snap['id']}"
    assert snap["image_href"] is None
    assert snap["duration"] == 3600
    assert snap["subject"] == {"chart": {"id": chart_id, "sources": ["*"], "type": "stacked"}}
    assert snap["href"].endswith(f"/v1/snapshots/{snap['id']}") and snap["href"].startswith("http")
    for key in ("end_time", "created_at", "updated_at"):
        assert snap[key].endswith("Z") and "T" in snap[key]

    job = api.wait_for_job(snap["job_href"])
    assert job["state"] == "complete", job
    assert job["progress"] == 100.0
    progress = [p for _, p in job["_history"]]
    assert progress == sorted(progress), "progress must only rise"

    got = api.get(snap["href"]).json()
    assert got["image_href"] and got["image_href"] == job["output"]["image_href"]
    image = fetch_png(got["image_href"])
    assert image.size == (600, 416)
    assert distinct_colors(image) > 50, "the image looks blank"
    for color in COLORS:
        assert has_color(image, color), f"stream colour {color} missing from the stacked chart"


def test_line_chart_breakout_and_narrowing_by_tags(api: Api) -> None:
    now = int(time.time())
    seed_measurements(api, "cpu.load", ("db-1", "db-2", "db-3"), now)
    _, chart_id = api.make_chart("CPU", "line", [
        {"metric": "cpu.load", "tags": [{"name": "host", "values": ["*"]}], "group_function": "breakout"}])
    created = api.post("/v1/snapshots", json={
        "subject": {"chart": {"id": chart_id, "type": "line", "tags": [{"name": "env", "values": ["prod"]}]}},
        "duration": 1800, "width": 800, "height": 300,
    })
    assert created.status_code == 202, created.text
    snap = created.json()
    assert snap["subject"]["chart"]["sources"] == ["prod"]
    assert snap["duration"] == 1800
    job = api.wait_for_job(snap["job_href"])
    assert job["state"] == "complete", job
    image = fetch_png(job["output"]["image_href"])
    assert image.size == (800, 300)


def test_rails_form_body_and_bignumber(api: Api) -> None:
    now = int(time.time())
    api.post("/v1/measurements", json={"measurements": [
        {"name": "errors.rate", "value": v, "time": now - 600 + i * 60, "tags": {"app": "api"}}
        for i, v in enumerate([1, 2, 3, 95, 97])]})
    _, chart_id = api.make_chart("Error rate", "bignumber",
                                 [{"metric": "errors.rate", "tags": [{"name": "app", "values": ["api"]}],
                                   "summary_function": "max"}],
                                 thresholds=[{"operator": ">", "value": 90, "type": "red"}])
    created = api.post("/v1/snapshots", data={
        "subject[chart][id]": str(chart_id), "subject[chart][type]": "bignumber", "duration": "900"})
    assert created.status_code == 202, created.text
    job = api.wait_for_job(created.json()["job_href"])
    assert job["state"] == "complete", job
    image = fetch_png(job["output"]["image_href"])
    assert image.size == (600, 416)
    assert color_count(image, "#d62728", tolerance=40) > 200, "the value above the red threshold should be drawn in red"


def test_no_data_gives_an_image_not_an_error(api: Api) -> None:
    _, chart_id = api.make_chart("Nothing here", "line", [{"metric": "never.sent"}])
    created = api.post("/v1/snapshots", json={"subject": {"chart": {"id": chart_id, "type": "line"}}})
    job = api.wait_for_job(created.json()["job_href"])
    assert job["state"] == "complete", job
    image = fetch_png(job["output"]["image_href"])
    assert image.size == (600, 416)


def test_list_and_tenancy(api: Api, stack, account) -> None:  # noqa: ANN001
    _, chart_id = api.make_chart("Mine", "line", [{"metric": "m"}])
    ids = [api.post("/v1/snapshots", json={"subject": {"chart": {"id": chart_id, "type": "line"}}}).json()["id"]
           for _ in range(3)]
    listed = api.get("/v1/snapshots", params={"length": 2, "orderby": "id", "sort": "desc"}).json()
    assert listed["query"]["total"] >= 3 and listed["query"]["length"] == 2
    assert [s["id"] for s in listed["snapshots"]] == sorted(ids, reverse=True)[:2]

    import subprocess
    import sys

    from tests.conftest import unique_email
    email = unique_email()
    out = subprocess.run([sys.executable, "-m", "snapshot_svc.admin_cli", "user", "add", email],
                         env={**__import__("os").environ, **stack.env}, capture_output=True, text=True, check=True)
    other = Api(stack.gateway_url, email, out.stdout.strip().splitlines()[-1])
    snap = other.get(f"/v1/snapshots/{ids[0]}")
    assert snap.status_code == 404 and "errors" in snap.json()
    job = other.get(f"/v1/jobs/{ids[0]}")
    assert job.status_code == 404
    # Another account's chart is not a chart you can snapshot.
    refused = other.post("/v1/snapshots", json={"subject": {"chart": {"id": chart_id, "type": "line"}}})
    assert refused.status_code == 400 and "subject" in refused.json()["errors"]["params"]
    assert other.get("/v1/snapshots").json()["snapshots"] == []


def test_image_bucket_allows_no_listing(api: Api, stack) -> None:  # noqa: ANN001
    _, chart_id = api.make_chart("Public link", "line", [{"metric": "m"}])
    snap = api.post("/v1/snapshots", json={"subject": {"chart": {"id": chart_id, "type": "line"}}}).json()
    job = api.wait_for_job(snap["job_href"])
    href = job["output"]["image_href"]
    bucket_url = href.split("/chart/")[0]
    assert requests.get(bucket_url, timeout=10).status_code == 403
    assert requests.get(bucket_url + "?list-type=2&prefix=chart/", timeout=10).status_code == 403
    assert requests.get(href.replace(".png", "x.png"), timeout=10).status_code in (403, 404)
