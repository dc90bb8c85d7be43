"""SSRF: a service's `url` / `server_url` pointed at an internal address.

The notifier runs in-process against real NATS and the real S3 store, with
the default outbound policy (nothing allowed beyond public addresses) unless
a test says otherwise. A canary HTTP server on 127.0.0.1 records anything
that reaches it.

Bound: every hostile delivery ends `failed` after 1 attempt (permanent, no
retry) with our own words "<type>: the destination address is not allowed
(<range>)", and the canary and the S3 store receive 0 requests from them.
Each test counts the hostile deliveries it made."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver

from notifier_svc.guarded_connector import DestinationRefused, GuardedConnector
from notifier_svc.outbound_policy import OutboundPolicy
from tests.integration.notifier.conftest import (js, nc, results, slack, smtp_peer,  # noqa: F401 - fixtures
                                                 start_notifier)
from tests.integration.notifier.harness import R, delivery_request, publish
from tests.peers.echo import EchoPeer

pytestmark = pytest.mark.timeout(60)

NO_ALLOW = OutboundPolicy()

# (host as written in the URL, the range we refuse it as). The canary's port
# is appended to each, so a request that got through would be counted.
LOOPBACK_SPELLINGS = ["127.0.0.1", "127.1", "0177.0.0.1", "0x7f.0.0.1", "0x7f000001", "2130706433",
                      "127.0.1", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::1]", "localhost", "LOCALHOST",
                      "[::127.0.0.1]", "[2002:7f00:1::]"]
OTHER_INTERNAL = [("169.254.169.254", "metadata"), ("[fd00:ec2::254]", "metadata"), ("[::ffff:169.254.169.254]", "metadata"),
                  ("169.254.1.1", "link-local"), ("[fe80::1]", "link-local"),
                  ("10.0.0.1", "private"), ("172.16.0.1", "private"), ("192.168.0.1", "private"),
                  ("100.64.0.1", "private"), ("[fd12::1]", "private"),
                  ("0.0.0.0", "unspecified"), ("0", "unspecified"), ("[::]", "unspecified"),
                  ("224.0.0.1", "multicast"), ("240.0.0.1", "reserved")]
TARGETS = [(host, "loopback") for host in LOOPBACK_SPELLINGS] + OTHER_INTERNAL


def hostile_settings(kind: str, base: str) -> dict[str, str]:
    """Settings of each chat type that send to `base` (scheme://host:port)."""
    return {
        "slack": {"url": f"{base}/services/T1/B2/hostile"},
        "hipchat": {"auth_token": "hostile-token", "room_id": "1", "server_url": base},
        "flowdock": {"api_token": "hostile-token", "server_url": base},
        "campfire": {"subdomain": "x", "token": "hostile-token", "room": "Ops", "server_url": base},
    }[kind]


@pytest.fixture
async def canary():
    async with EchoPeer(status=200) as peer:
        yield peer


async def deliver_all(js, results, requests):  # noqa: ANN001
    for req in requests:
        await publish(js, req)
    return [await results.result(req.delivery_id, timeout=30) for req in requests]


async def test_every_internal_target_is_refused_for_every_type(start_notifier, js, results, canary, infra):
    await start_notifier(outbound=NO_ALLOW)
    cases = [(kind, f"{host}:{canary.port}", reason) for host, reason in TARGETS
             for kind in ("slack", "hipchat", "flowdock", "campfire")]
    # The S3 store is a real internal service on loopback.
    cases += [(kind, infra.s3_endpoint, "loopback") for kind in ("slack", "campfire")]
    requests = [delivery_request(kind, hostile_settings(kind, f"http://{where}")) for kind, where, _ in cases]
    got = await deliver_all(js, results, requests)

    assert len(got) == len(cases) == 4 * len(TARGETS) + 2, "every hostile delivery was made"
    for (kind, host, reason), result in zip(cases, got):
        assert (result.state, result.attempts) == (R.FAILED, 1), (kind, host, result)
        assert result.error == f"{kind}: the destination address is not allowed ({reason})", (kind, host)
    assert canary.requests == [], "nothing reached the internal server"


async def test_an_allowed_peer_is_reached_and_its_neighbour_is_not(start_notifier, js, results, slack, canary):
    await start_notifier(outbound=OutboundPolicy.parse(f"127.0.0.1:{slack.port}"))
    good = delivery_request("slack", slack.settings())
    neighbour = delivery_request("slack", {"url": f"http://127.0.0.1:{canary.port}/services/T1/B2/x"})
    respelled = delivery_request("slack", {"url": f"http://127.1:{slack.port}/services/{slack.team}/{slack.bot}/"
                                                  f"{slack.secret}"})
    got = await deliver_all(js, results, [good, neighbour, respelled])
    assert [r.state for r in got] == [R.DELIVERED, R.FAILED, R.DELIVERED]
    assert got[1].error == "slack: the destination address is not allowed (loopback)"
    assert len(slack.messages) == 2 and canary.requests == []


@pytest.mark.parametrize("kind", ["slack", "hipchat", "flowdock", "campfire"])
async def test_an_allowed_internal_reply_is_never_echoed(start_notifier, js, results, kind):
    """An allowed address that is not the vendor (it answers an S3 listing)
    gives its status only: nothing of its body reaches the error."""
    async with EchoPeer(status=403, echo_format="raw") as internal:
        await start_notifier(outbound=OutboundPolicy.parse(f"127.0.0.1:{internal.port}"))
        req = delivery_request(kind, hostile_settings(kind, internal.server_url))
        [result] = await deliver_all(js, results, [req])
    assert (result.state, result.attempts) == (R.FAILED, 1)
    assert result.error == f"{kind} answered 403"
    assert len(internal.requests) == 1, "one hostile request made, one answered"


async def test_redirects_are_not_followed(start_notifier, js, results, canary):
    """A 302 to an internal address is a failure, not a second request."""
    from aiohttp import web

    from tests.peers.http_peer import HttpPeer

    class Redirector(HttpPeer):
        def add_routes(self, app: web.Application) -> None:
            async def go(request: web.Request) -> web.Response:
                return web.Response(status=302, headers={"Location": f"http://127.0.0.1:{canary.port}/stolen"})
            app.router.add_route("*", "/{tail:.*}", go, name="redirect")

    async with Redirector() as redirector:
        await start_notifier(outbound=OutboundPolicy.parse(f"127.0.0.1:{redirector.port}"))
        req = delivery_request("slack", {"url": f"{redirector.server_url}/services/T1/B2/x"})
        [result] = await deliver_all(js, results, [req])
    assert (result.state, result.error) == (R.FAILED, "slack answered 302")
    assert len(redirector.requests) == 1 and canary.requests == []


class ScriptedDns(AbstractResolver):
    """A DNS server's answers, as a rebinding attacker would give them: the
    name looks public, the answer is whatever the attacker likes."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.lookups = 0

    async def resolve(self, host: str, port: int = 0, family: Any = 0) -> list[dict]:
        self.lookups += 1
        return [{"hostname": host, "host": a, "port": port, "family": 10 if ":" in a else 2, "proto": 0,
                 "flags": 0} for a in self.answers[host]]

    async def close(self) -> None:
        pass


async def test_a_name_is_checked_on_the_address_it_resolves_to_at_connect_time(canary):
    """DNS rebinding: the check is made on the very answer aiohttp connects
    to, for each connection (no cache), so a name that turns internal is
    refused; an answer mixing internal and allowed addresses connects only to
    the allowed one."""
    dns = ScriptedDns({"rebind.example": ["127.0.0.1"], "mixed.example": ["10.255.255.1", "127.0.0.1"]})
    policy = OutboundPolicy.parse(f"127.0.0.1:{canary.port}")
    connector = GuardedConnector(OutboundPolicy(), resolver=dns, use_dns_cache=False)
    timeout = aiohttp.ClientTimeout(total=5, connect=1)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        for _ in range(3):
            with pytest.raises(aiohttp.ClientConnectorError) as err:
                await session.get(f"http://rebind.example:{canary.port}/")
            assert isinstance(err.value.os_error, DestinationRefused)
            assert err.value.os_error.reason == "loopback"
    assert dns.lookups == 3 and canary.requests == []

    connector = GuardedConnector(policy, resolver=dns, use_dns_cache=False)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        async with session.get(f"http://mixed.example:{canary.port}/") as resp:
            assert resp.status == 200, "10.255.255.1 was dropped, 127.0.0.1 (allowed) was used"
    assert len(canary.requests) == 1


def test_the_default_policy_refuses_what_the_issue_names():
    """169.254.169.254, fd00:ec2::254, ::ffff:127.0.0.1 and 100.64/10 by name."""
    for address, reason in [("169.254.169.254", "metadata"), ("fd00:ec2::254", "metadata"),
                            ("::ffff:127.0.0.1", "loopback"), ("100.64.1.1", "private")]:
        assert NO_ALLOW.refusal("x", 80, ipaddress.ip_address(address)) == reason


@pytest.mark.stack
def test_through_the_api_internal_services_are_refused_and_nothing_is_echoed(stack, account):
    """The whole product: services created over the REST API aiming at the
    stack's own gateway, S3 store and metrics ports, and the metadata
    address. The snapshot completes; each of its deliveries failed after 1
    attempt with our words only."""
    from tests.e2e.api_client import Api

    api = Api(stack.gateway_url, *account)
    env = stack.env
    internal = {
        "gateway": stack.gateway_url,
        "s3": f"http://{stack.s3_endpoint}",
        "snapshot metrics": f"http://{env['CHARTSNAP_SNAPSHOT_METRICS_ADDR']}",
        "render metrics": f"http://{env['CHARTSNAP_RENDER_METRICS_ADDR']}",
        "metadata": "http://169.254.169.254",
    }
    kinds = ["slack", "hipchat", "flowdock", "campfire"]
    services = {}
    for i, (name, base) in enumerate(internal.items()):
        kind = kinds[i % len(kinds)]
        r = api.post("/v1/services", json={"title": f"ssrf {name}", "type": kind,
                                           "settings": hostile_settings(kind, base)})
        assert r.status_code == 201, r.text
        services[r.json()["id"]] = (name, kind)
    _, chart_id = api.make_chart("SSRF", "line", [{"metric": "ssrf.m"}])
    created = api.post("/v1/snapshots", json={"subject": {"chart": {"id": chart_id, "type": "line"}},
                                              "services": list(services)})
    assert created.status_code == 202, created.text
    job = api.wait_for_job(created.json()["job_href"])
    assert job["state"] == "complete", job
    outcomes = {o["service_id"]: o for o in job["output"]["services"]}
    assert len(outcomes) == len(services) == len(internal), "every hostile service was tried"
    for service_id, (name, kind) in services.items():
        reason = "metadata" if name == "metadata" else "loopback"
        assert outcomes[service_id] == {"service_id": service_id, "type": kind, "state": "failed", "attempts": 1,
                                        "error": f"{kind}: the destination address is not allowed ({reason})"}, name
