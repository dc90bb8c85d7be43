"""Snapshot options and the data behind the picture, through the gateway over
HTTP: timezone, scale, theme and annotations echoed and drawn (a 2x PNG, dark
pixels); GET /v1/snapshots/:id/data answers exactly the samples drawn, the
SHA-256 of the very PNG behind image_href and the summary (also in the PNG's
text chunk); CSV by content negotiation, 406 otherwise; each bad option a 400
naming its field; another account's data a 404."""

from __future__ import annotations

import csv
import hashlib
import io
import time
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import requests
from PIL import Image

from snapshot_svc.snapshot_summary import format_number
from tests.conftest import add_account
from tests.e2e.api_client import Api, pixels

pytestmark = [pytest.mark.stack, pytest.mark.timeout(180)]

RESOLUTION = 12  # a 3600 s window on a 600 px wide chart (snapshot_svc.render_data.resolution_for)
HOSTS = ("web-1", "web-2")


def _unique(prefix: str) -> str:
    return f"{prefix}.{uuid.uuid4().hex[:8]}"


def _seed(api: Api, metric: str, end: int) -> dict[str, list[tuple[int, float]]]:
    """One sample per bucket (times on bucket starts), so each drawn point is a sample itself."""
    drawn: dict[str, list[tuple[int, float]]] = {}
    batch = []
    for n, host in enumerate(HOSTS):
        points = [(end - 3600 + RESOLUTION * i, float((i * 37 + n * 1000) % 4211) + 0.25) for i in range(300)]
        drawn[host] = points
        batch += [{"name": metric, "value": v, "time": t, "tags": {"host": host}} for t, v in points]
    response = api.post("/v1/measurements", json={"measurements": batch})
    assert response.status_code == 202, response.text
    assert response.json()["measurements"]["summary"]["accepted"] == len(batch)
    return drawn


def _breakout_chart(api: Api, metric: str) -> int:
    _, chart_id = api.make_chart("Queue depth", "line", [
        {"metric": metric, "tags": [{"name": "host", "values": ["*"]}], "group_function": "breakout"}])
    return chart_id


def _snapshot(api: Api, body: dict) -> tuple[dict, dict]:
    created = api.post("/v1/snapshots", json=body)
    assert created.status_code == 202, created.text
    snap = created.json()
    job = api.wait_for_job(snap["job_href"])
    assert job["state"] == "complete", job
    return snap, api.get(snap["href"]).json()


def _luminance(image: Image.Image) -> float:
    rgb = pixels(image)
    return float(np.mean(0.2126 * rgb[:, 0] + 0.7152 * rgb[:, 1] + 0.0722 * rgb[:, 2]))


@pytest.fixture(scope="module")
def taken(api: Api) -> dict:
    """A dark, 2x, New York snapshot with a deploy marker, and a default one of the same data."""
    metric = _unique("e2e.depth")
    end = int(time.time()) // RESOLUTION * RESOLUTION - 60
    drawn = _seed(api, metric, end)
    stream = _unique("deploys").replace(".", "-")
    marker = api.post(f"/v1/annotations/{stream}", json={"title": "v1.2 out", "start_time": end - 1800})
    assert marker.status_code == 201, marker.text
    chart_id = _breakout_chart(api, metric)
    subject = {"chart": {"id": chart_id, "type": "line"}}
    created, snap = _snapshot(api, {"subject": subject, "end_time": end, "duration": 3600,
                                    "timezone": "America/New_York", "scale": 2, "theme": "dark",
                                    "annotations": [stream]})
    _, plain = _snapshot(api, {"subject": subject, "end_time": end, "duration": 3600})
    return {"created": created, "snap": snap, "plain": plain, "drawn": drawn, "end": end, "stream": stream}


def test_the_options_are_echoed(taken: dict) -> None:
    for snap in (taken["created"], taken["snap"]):
        assert (snap["timezone"], snap["scale"], snap["theme"], snap["annotations"]) == (
            "America/New_York", 2.0, "dark", [taken["stream"]])
    plain = taken["plain"]
    assert (plain["timezone"], plain["scale"], plain["theme"], plain["annotations"]) == ("UTC", 1.0, "light", [])
    assert taken["snap"]["data_href"].endswith(f"/v1/snapshots/{taken['snap']['id']}/data")


def test_the_summary_reads_the_data_in_the_snapshots_zone(taken: dict) -> None:
    zone = datetime.fromtimestamp(taken["end"], ZoneInfo("America/New_York")).strftime("%Z")
    summary = taken["snap"]["summary"]
    assert summary and " peaked at " in summary and f" {zone}," in summary and summary.endswith("; 2 streams")
    assert " UTC," in taken["plain"]["summary"]
    peak = max(v for points in taken["drawn"].values() for _, v in points)
    assert f"peaked at {format_number(peak)} at " in summary


def test_the_data_is_exactly_what_was_drawn_with_the_pngs_digest(api: Api, taken: dict) -> None:
    snap = taken["snap"]
    response = api.get(snap["data_href"])
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    data = response.json()
    end = taken["end"]
    assert (data["start_time"], data["end_time"]) == (
        datetime.utcfromtimestamp(end - 3600).strftime("%Y-%m-%dT%H:%M:%SZ"),
        datetime.utcfromtimestamp(end).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert (data["resolution"], data["timezone"], data["chart_type"]) == (RESOLUTION, "America/New_York", "line")
    assert {s["label"]: [(p["time"], p["value"]) for p in s["measurements"]] for s in data["series"]} == taken["drawn"]
    assert {s["tags"]["host"] for s in data["series"]} == set(HOSTS)
    assert data["summary"] == snap["summary"]
    png = requests.get(snap["image_href"], timeout=30).content
    assert data["png_sha256"] == hashlib.sha256(png).hexdigest()
    # The summary travels in the PNG itself (its text chunk).
    assert snap["summary"] in Image.open(io.BytesIO(png)).text.values()


def test_scale_two_is_twice_the_pixels_and_dark_is_dark(taken: dict) -> None:
    dark = Image.open(io.BytesIO(requests.get(taken["snap"]["image_href"], timeout=30).content)).convert("RGB")
    light = Image.open(io.BytesIO(requests.get(taken["plain"]["image_href"], timeout=30).content)).convert("RGB")
    assert light.size == (600, 416) and dark.size == (1200, 832)
    assert _luminance(dark) < 90 < 170 < _luminance(light), (_luminance(dark), _luminance(light))


def test_csv_on_request_one_row_per_point(api: Api, taken: dict) -> None:
    response = api.get(taken["snap"]["data_href"], headers={"Accept": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/csv") and response.headers["Vary"] == "Accept"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == sum(len(points) for points in taken["drawn"].values())
    first = next(r for r in rows if r["series"] == "web-1")
    t, v = taken["drawn"]["web-1"][0]
    assert first == {"time": datetime.utcfromtimestamp(t).strftime("%Y-%m-%dT%H:%M:%SZ"), "series": "web-1",
                     "metric": first["metric"], "tags": "host=web-1", "value": repr(v)}
    assert first["metric"].startswith("e2e.depth.")


@pytest.mark.parametrize("accept", ["application/xml", "image/png", "text/csv;q=0, application/json;q=0"])
def test_an_accept_nothing_satisfies_is_a_406_in_the_error_shape(api: Api, taken: dict, accept: str) -> None:
    response = api.get(taken["snap"]["data_href"], headers={"Accept": accept})
    assert response.status_code == 406, response.text
    assert list(response.json()["errors"]) == ["request"]


def test_the_data_is_the_accounts_own(api: Api, taken: dict, stack) -> None:  # noqa: ANN001
    href = taken["snap"]["data_href"]
    stranger = Api(api.base, *add_account(stack))
    assert stranger.get(href).status_code == 404
    assert stranger.get(href, headers={"Accept": "application/xml"}).status_code == 404  # not a 406: nothing here
    anonymous = requests.get(href, timeout=30)
    assert anonymous.status_code == 401 and "WWW-Authenticate" in anonymous.headers
    for path in ("/v1/snapshots/99999999999/data", "/v1/snapshots/abc/data", "/v1/snapshots/-1/data"):
        assert api.get(path).status_code == 404


@pytest.mark.parametrize("field, value", [
    ("timezone", "Mars/Olympus_Mons"), ("timezone", "../../../etc/passwd"), ("timezone", "x" * 5000),
    ("timezone", ["UTC"]), ("scale", 0), ("scale", 3.5), ("scale", "big"), ("theme", "neon"), ("theme", "DARK"),
    ("annotations", ["no-such-stream-anywhere"]), ("annotations", ["*", "x"]), ("annotations", "deploys"),
    ("annotations", ["<script>"]), ("annotations", ["s"] * 51),
])
def test_a_bad_option_is_a_400_naming_it(api: Api, taken: dict, field: str, value: object) -> None:
    body = {"subject": {"chart": {"id": taken["snap"]["subject"]["chart"]["id"], "type": "line"}}, field: value}
    response = api.post("/v1/snapshots", json=body)
    assert response.status_code == 400, response.text
    params = response.json()["errors"]["params"]
    assert params and all(name.split("[")[0] == field for name in params), params
