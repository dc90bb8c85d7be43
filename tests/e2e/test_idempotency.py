"""Idempotency-Key on POST /v1/snapshots, through the gateway: a client that
lost its 202 retries with the same key and body and gets the same snapshot —
no second job, render or message; the same key with another body is a 422;
a bad key is a 400 naming the header; concurrent duplicates make one snapshot."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.api_client import Api

pytestmark = [pytest.mark.stack, pytest.mark.timeout(120)]

HEADER = "Idempotency-Key"
REUSED = {"errors": {"request": ["Idempotency-Key reused with a different request"]}}


def _key() -> str:
    return f"retry-{uuid.uuid4()}"


def _total(api: Api) -> int:
    listed = api.get("/v1/snapshots")
    assert listed.status_code == 200, listed.text
    return listed.json()["query"]["total"]


@pytest.fixture(scope="module")
def chart_id(api: Api) -> int:
    return api.make_chart("Idempotent", "line", [{"metric": "idem.metric"}])[1]


def test_a_retry_with_the_same_key_answers_the_same_snapshot(api: Api, chart_id: int) -> None:
    body = {"subject": {"chart": {"id": chart_id, "type": "line"}}, "duration": 600}
    key, before = _key(), _total(api)
    first = api.post("/v1/snapshots", json=body, headers={HEADER: key})
    assert first.status_code == 202, first.text
    again = api.post("/v1/snapshots", json=body, headers={HEADER: key})
    assert again.status_code == 202, again.text
    assert again.json()["href"] == first.json()["href"] and again.json()["job_href"] == first.json()["job_href"]
    assert again.headers["Location"] == first.headers["Location"] == f"/v1/snapshots/{first.json()['href'].rsplit('/', 1)[1]}"
    job = api.wait_for_job(first.json()["job_href"])
    assert job["state"] == "complete", job
    # After the render the retry still names the same snapshot, now with its image.
    third = api.post("/v1/snapshots", json=body, headers={HEADER: key})
    assert third.status_code == 202 and third.json()["href"] == first.json()["href"]
    assert third.json()["image_href"] == job["output"]["image_href"]
    assert _total(api) == before + 1
    # Without a key, the same body is a new snapshot, as before.
    plain = api.post("/v1/snapshots", json=body)
    assert plain.status_code == 202 and plain.json()["href"] != first.json()["href"]


def test_the_same_key_with_another_body_is_refused(api: Api, chart_id: int) -> None:
    key = _key()
    body = {"subject": {"chart": {"id": chart_id, "type": "line"}}}
    assert api.post("/v1/snapshots", json=body, headers={HEADER: key}).status_code == 202
    before = _total(api)
    other = api.post("/v1/snapshots", json={**body, "duration": 7200}, headers={HEADER: key})
    assert other.status_code == 422, other.text
    assert other.json() == REUSED
    assert _total(api) == before


def test_keys_belong_to_one_account(api: Api, stack, chart_id: int) -> None:  # noqa: ANN001
    import os
    import subprocess
    import sys

    from tests.conftest import unique_email

    email = unique_email()
    out = subprocess.run([sys.executable, "-m", "snapshot_svc.admin_cli", "user", "add", email],
                         env={**os.environ, **stack.env}, capture_output=True, text=True, check=True, timeout=60)
    other = Api(stack.gateway_url, email, out.stdout.strip().splitlines()[-1])
    _, other_chart = other.make_chart("Theirs", "line", [{"metric": "m"}])
    key = _key()
    mine = api.post("/v1/snapshots", json={"subject": {"chart": {"id": chart_id, "type": "line"}}},
                    headers={HEADER: key})
    theirs = other.post("/v1/snapshots", json={"subject": {"chart": {"id": other_chart, "type": "line"}}},
                        headers={HEADER: key})
    assert mine.status_code == theirs.status_code == 202
    assert mine.json()["href"] != theirs.json()["href"]


@pytest.mark.parametrize("key", [b"", b"x" * 256, "caf\u00e9".encode(), b"\xff\xfe"],
                         ids=["empty", "256 chars", "utf-8", "bytes"])
def test_a_bad_key_is_a_400_naming_the_header(api: Api, chart_id: int, key: bytes) -> None:
    before = _total(api)
    r = api.post("/v1/snapshots", json={"subject": {"chart": {"id": chart_id, "type": "line"}}},
                 headers={HEADER: key})
    assert r.status_code == 400, r.text
    assert list(r.json()["errors"]["params"]) == [HEADER], r.json()
    assert _total(api) == before


def test_the_longest_key_is_accepted(api: Api, chart_id: int) -> None:
    key = "k" * 250 + uuid.uuid4().hex[:5]
    body = {"subject": {"chart": {"id": chart_id, "type": "line"}}}
    first = api.post("/v1/snapshots", json=body, headers={HEADER: key})
    again = api.post("/v1/snapshots", json=body, headers={HEADER: key})
    assert first.status_code == again.status_code == 202
    assert first.json()["href"] == again.json()["href"]


def test_ten_concurrent_duplicates_make_one_snapshot_one_job_one_message(api: Api, chart_id: int, peers) -> None:  # noqa: ANN001
    """10 identical POSTs at once (the count is asserted) → one snapshot, one
    job, and the Slack room gets one message."""
    service = api.post("/v1/services", json={"title": "idempotent room", "type": "slack",
                                             "settings": peers.slack.settings()})
    assert service.status_code == 201, service.text
    body = {"subject": {"chart": {"id": chart_id, "type": "line"}}, "services": [service.json()["id"]],
            "message": "sent once"}
    key, before = _key(), _total(api)
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda _: api.post("/v1/snapshots", json=body, headers={HEADER: key}), range(10)))
    assert len(answers) == 10
    assert [a.status_code for a in answers] == [202] * 10, [a.text for a in answers]
    assert len({a.json()["href"] for a in answers}) == 1
    assert len({a.json()["job_href"] for a in answers}) == 1
    assert len({a.headers["Location"] for a in answers}) == 1
    assert _total(api) == before + 1
    job = api.wait_for_job(answers[0].json()["job_href"])
    assert job["state"] == "complete", job
    assert [s["state"] for s in job["output"]["services"]] == ["delivered"]
    image_href = job["output"]["image_href"]
    assert len([m for m in peers.slack.messages if image_href in str(m.body)]) == 1
