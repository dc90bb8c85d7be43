"""Every 202 ends in a terminal job state even when the render service dies
mid-burst; each snapshot still gets exactly one image."""

from __future__ import annotations

import time

import pytest
from minio import Minio

from tests.e2e.api_client import Api

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.timeout(180)]


def test_render_service_killed_mid_burst(api: Api, stack) -> None:  # noqa: ANN001
    _, chart_id = api.make_chart("Crash", "line", [{"metric": "crash.metric"}])
    api.post("/v1/measurements", json={"measurements": [
        {"name": "crash.metric", "value": i, "time": int(time.time()) - 60 * i} for i in range(30)]})
    snaps = []
    for _ in range(24):
        r = api.post("/v1/snapshots", json={"subject": {"chart": {"id": chart_id, "type": "line"}}})
        assert r.status_code == 202, r.text
        snaps.append(r.json())

    # Kill -9 while work is in flight, then bring the service back.
    render = stack.processes["render_svc"]
    render.kill()
    stack.start_render_svc()

    for snap in snaps:
        job = api.wait_for_job(snap["job_href"], timeout=120)
        assert job["state"] == "complete", job

    client = Minio(stack.s3_endpoint, access_key=stack.creds.access_key, secret_key=stack.creds.secret_key,
                   secure=False)
    keys = [o.object_name for o in client.list_objects("chartsnap", prefix="chart/")]
    for snap in snaps:
        mine = [k for k in keys if k.endswith(f"-{snap['id']}.png")]
        assert len(mine) == 1, f"snapshot {snap['id']} has images {mine}"
        assert api.get(snap["href"]).json()["image_href"].endswith(mine[0])
