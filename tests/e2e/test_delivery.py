"""One snapshot naming five services ends in five rooms and inboxes."""

from __future__ import annotations

import time

import pytest
import requests

from tests.e2e.api_client import Api

pytestmark = [pytest.mark.stack, pytest.mark.timeout(120)]


def make_services(api: Api, peers, mail_to: str = "team@example.com,oncall@example.org") -> dict[str, str]:  # noqa: ANN001
    settings = {"mail": {"addresses": mail_to}}
    settings |= {kind: peer.settings() for kind, peer in peers.chat.items()}
    ids = {}
    for kind, values in settings.items():
        r = api.post("/v1/services", json={"title": f"{kind} room", "type": kind, "settings": values})
        assert r.status_code == 201, r.text
        ids[kind] = r.json()["id"]
    return ids


def test_snapshot_to_five_services(api: Api, peers) -> None:  # noqa: ANN001
    for peer in (peers.smtp, *peers.chat.values()):
        peers.running.run(_reset(peer))
    now = int(time.time())
    api.post("/v1/measurements", json={"measurements": [
        {"name": "queue.depth", "value": 10 + i % 7, "time": now - 3600 + 60 * i, "tags": {"q": "jobs"}}
        for i in range(60)]})
    _, chart_id = api.make_chart("Queue depth", "line", [{"metric": "queue.depth", "color": "#ff7f0e"}])
    services = make_services(api, peers)
    created = api.post("/v1/snapshots", json={
        "subject": {"chart": {"id": chart_id, "type": "line"}},
        "services": list(services.values()), "message": "Queue backed up after the 14:05 deploy"})
    assert created.status_code == 202, created.text
    job = api.wait_for_job(created.json()["job_href"])
    assert job["state"] == "complete", job
    outcomes = {o["type"]: o for o in job["output"]["services"]}
    assert set(outcomes) == set(services)
    for kind, outcome in outcomes.items():
        assert outcome == {"service_id": services[kind], "type": kind, "state": "delivered",
                           "attempts": 1, "error": None}, outcome
    image_href = job["output"]["image_href"]
    png = requests.get(image_href, timeout=10).content

    # Mail: one message to both addresses, naming the chart, the PNG inline by cid.
    [mail] = peers.smtp.messages
    assert sorted(mail.rcpt_tos) == ["oncall@example.org", "team@example.com"]
    message = mail.message
    assert "Queue depth" in message["Subject"]
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "Queue backed up after the 14:05 deploy" in text and "Test Person" in text
    assert image_href in text
    images = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0].get_payload(decode=True) == png
    assert f"cid:{images[0]['Content-ID'].strip('<>')}" in html

    # Chat peers: exactly one message with the image each.
    for kind, peer in peers.chat.items():
        with_image = [m for m in peer.messages if image_href in str(m.body)]
        assert len(with_image) == 1, (kind, [m.body for m in peer.messages])
        everything = " ".join(str(m.body) for m in peer.messages)
        assert "Queue depth" in everything and "Queue backed up" in everything, (kind, everything)


def test_one_failing_destination_does_not_hold_up_the_others(api: Api, peers) -> None:  # noqa: ANN001
    for peer in (peers.smtp, *peers.chat.values()):
        peers.running.run(_reset(peer))
    _, chart_id = api.make_chart("Mixed", "line", [{"metric": "m"}])
    services = make_services(api, peers)
    peers.hipchat.fail_next(1, 401, words="Invalid OAuth session")
    peers.slack.fail_next(1, 503, retry_after=1)
    created = api.post("/v1/snapshots", json={"subject": {"chart": {"id": chart_id, "type": "line"}},
                                              "services": list(services.values())})
    job = api.wait_for_job(created.json()["job_href"])
    assert job["state"] == "complete", job
    outcomes = {o["type"]: o for o in job["output"]["services"]}
    assert outcomes["hipchat"]["state"] == "failed" and outcomes["hipchat"]["attempts"] == 1
    assert "Invalid OAuth session" in outcomes["hipchat"]["error"]
    assert peers.hipchat.settings()["auth_token"] not in outcomes["hipchat"]["error"]
    assert outcomes["slack"]["state"] == "delivered" and outcomes["slack"]["attempts"] == 2
    for kind in ("mail", "flowdock", "campfire"):
        assert outcomes[kind]["state"] == "delivered" and outcomes[kind]["attempts"] == 1


async def _reset(peer) -> None:  # noqa: ANN001
    peer.messages.clear()
    if hasattr(peer, "reset"):
        peer.reset()
