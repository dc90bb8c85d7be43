"""The vendor peers themselves hold the line the real services hold: auth,
required fields, size limits, and their own error bodies. (If a peer were
lenient, the notifier's caps and error handling would go untested.)"""

from __future__ import annotations

import asyncio
import base64
import smtplib
from typing import Any

import aiohttp
import pytest

from tests.peers.campfire import CampfirePeer
from tests.peers.flowdock import FlowdockPeer
from tests.peers.hipchat import HipChatPeer
from tests.peers.slack import SlackPeer
from tests.peers.smtp import SmtpPeer

pytestmark = pytest.mark.timeout(20)


async def call(method: str, url: str, **kw: Any) -> tuple[int, str, dict]:
    async with aiohttp.ClientSession() as s, s.request(method, url, **kw) as r:
        return r.status, await r.text(), dict(r.headers)


async def test_slack_webhook_rules():
    async with SlackPeer() as p:
        assert (await call("POST", p.webhook_url, json={"text": "hi"}))[:2] == (200, "ok")
        assert (await call("POST", p.webhook_url, data=b"{not json",
                           headers={"Content-Type": "application/json"}))[:2] == (400, "invalid_payload")
        assert (await call("POST", p.webhook_url, json={"username": "x"}))[:2] == (400, "no_text")
        assert (await call("POST", p.webhook_url.replace(p.secret, "nope"), json={"text": "x"}))[:2] == (
            403, "invalid_token")
        assert (await call("POST", p.webhook_url.replace(p.bot, "BOTHER"), json={"text": "x"}))[:2] == (
            404, "no_service")
        assert (await call("POST", p.webhook_url, data={"payload": '{"text": "form"}'}))[:2] == (200, "ok")
        p.fail_next(1, 429, retry_after=7)
        status, body, headers = await call("POST", p.webhook_url, json={"text": "x"})
        assert (status, body, headers["Retry-After"]) == (429, "rate_limited", "7")
        assert [m.body.get("text") for m in p.messages] == ["hi", "form"]


async def test_hipchat_rules():
    async with HipChatPeer() as p:
        url = f"{p.server_url}/v2/room/{p.room_id}/notification"
        auth = {"Authorization": f"Bearer {p.token}"}
        assert (await call("POST", url, json={"message": "hi"}, headers=auth))[0] == 204
        status, body, _ = await call("POST", url, json={"message": "x" * 10_001}, headers=auth)
        assert status == 400 and "between 1 and 10000" in body and '"type": "Bad Request"' in body
        assert (await call("POST", url, json={"message": "x" * 10_000}, headers=auth))[0] == 204
        assert (await call("POST", url, json={"notify": True}, headers=auth))[0] == 400
        assert (await call("POST", url, json={"message": "x", "color": "pink"}, headers=auth))[0] == 400
        status, body, _ = await call("POST", url, json={"message": "x"}, headers={"Authorization": "Bearer no"})
        assert status == 401 and "Invalid OAuth session" in body
        assert (await call("POST", url, json={"message": "x"}))[0] == 401
        assert (await call("POST", f"{p.server_url}/v2/room/Ops/notification", json={"message": "by name"},
                           headers=auth))[0] == 204
        assert (await call("POST", f"{p.server_url}/v2/room/9/notification", json={"message": "x"},
                           headers=auth))[0] == 404
        p.fail_next(1, 503, retry_after=3)
        status, body, headers = await call("POST", url, json={"message": "x"}, headers=auth)
        assert status == 503 and headers["Retry-After"] == "3" and '"code": 503' in body
        assert len(p.messages) == 3


async def test_flowdock_rules():
    async with FlowdockPeer() as p:
        url = f"{p.server_url}/v1/messages/chat/{p.token}"
        ok = {"content": "hi", "external_user_name": "bot"}
        assert (await call("POST", url, json=ok))[:2] == (200, "{}")
        status, body, _ = await call("POST", url, json={**ok, "content": "x" * 8097})
        assert status == 400 and "maximum is 8096" in body
        assert (await call("POST", url, json={**ok, "content": "x" * 8096}))[0] == 200
        assert (await call("POST", url, json={**ok, "external_user_name": "two words"}))[0] == 400
        assert (await call("POST", url, json={**ok, "external_user_name": "x" * 16}))[0] == 400
        assert (await call("POST", url, json={"external_user_name": "bot"}))[0] == 400
        status, body, _ = await call("POST", f"{p.server_url}/v1/messages/chat/wrong", json=ok)
        assert status == 404 and '"message"' in body
        assert len(p.messages) == 2


async def test_campfire_rules():
    async with CampfirePeer() as p:
        auth = {"Authorization": "Basic " + base64.b64encode(f"{p.token}:X".encode()).decode()}
        status, body, _ = await call("GET", f"{p.server_url}/rooms.json", headers=auth)
        assert status == 200 and '"name": "Ops"' in body
        status, _, headers = await call("GET", f"{p.server_url}/rooms.json")
        assert status == 401 and headers["WWW-Authenticate"].startswith("Basic")
        bad = {"Authorization": "Basic " + base64.b64encode(b"nope:X").decode()}
        assert (await call("GET", f"{p.server_url}/rooms.json", headers=bad))[0] == 401
        speak = f"{p.server_url}/room/630291/speak.json"
        status, body, _ = await call("POST", speak, json={"message": {"body": "hi"}}, headers=auth)
        assert status == 201 and '"type": "TextMessage"' in body
        assert (await call("POST", speak, json={"message": {"body": ""}}, headers=auth))[0] == 422
        assert (await call("POST", f"{p.server_url}/room/1/speak.json", json={"message": {"body": "x"}},
                           headers=auth))[0] == 404
        assert len(p.messages) == 1 and p.messages[0].room == "630291"


async def test_hang_outlasts_a_short_read_timeout():
    async with SlackPeer() as p:
        p.hang_next(1, seconds=3)
        with pytest.raises(aiohttp.ServerTimeoutError):
            await call("POST", p.webhook_url, json={"text": "x"}, timeout=aiohttp.ClientTimeout(sock_read=0.3))
        assert p.messages == []


async def test_smtp_auth_and_starttls_are_required_when_configured():
    async with SmtpPeer(starttls=True, user="u", password="p") as p:
        def plain() -> None:
            with smtplib.SMTP(p.host, p.port, timeout=5) as s:
                s.sendmail("a@example.com", ["b@example.com"], b"Subject: x\r\n\r\nbody")

        with pytest.raises(smtplib.SMTPResponseException) as err:
            await asyncio.to_thread(plain)
        assert err.value.smtp_code == 530
        assert p.messages == []


def test_peers_run_in_the_background_for_synchronous_callers():
    import requests

    from tests.peers.background import PeersInBackground

    with PeersInBackground(SlackPeer(), SmtpPeer()) as (slack, smtp):
        assert requests.post(slack.webhook_url, json={"text": "sync"}, timeout=5).text == "ok"
        with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as s:
            s.sendmail("a@example.com", ["b@example.com"], b"Subject: hello\r\n\r\nbody")
        assert [m.body["text"] for m in slack.messages] == ["sync"]
        assert smtp.messages[0].message["Subject"] == "hello"
        listed = requests.get(f"{slack.server_url}/_peer/messages", timeout=5).json()
        assert listed["count"] == 1
