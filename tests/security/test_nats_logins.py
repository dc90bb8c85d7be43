"""NATS refuses whoever has no valid login, and each service's login reaches
only its own subjects. Real nats-server with the stack's generated config
(the `infra` fixture); every refused attempt is counted.

Bound: each refusal is seen within NATS_REPLY_TIMEOUT (a denied JetStream API
request gets no reply at all, so it ends as a timeout of that length)."""

from __future__ import annotations

import asyncio
import os
import stat

import nats
import pytest
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig

from chartsnap import nats_authorization as auth
from chartsnap import queue
from chartsnap.nats_connection import NatsLoginRefused, connect_nats, login_options
from devstack.processes import NATS_PASSWORDS_FILE
from chartsnap.settings import NatsLogin, NatsSettings

pytestmark = pytest.mark.timeout(60)

NATS_REPLY_TIMEOUT = 2.0  # seconds to wait for an answer that a denied request never gets
NO_RECONNECT = {"allow_reconnect": False, "max_reconnect_attempts": 0, "connect_timeout": 2}


@pytest.fixture(autouse=True)
def _own_nats(infra) -> None:  # noqa: ANN001
    if infra.external_nats_url:
        pytest.skip("NATS in a test container runs without the stack's logins (--infra=containers)")


def login_of(infra, user: str) -> NatsLogin:  # noqa: ANN001
    return NatsLogin(user, infra.nats_passwords[user])


async def connect_as(infra, user: str, errors: list[Exception] | None = None):  # noqa: ANN001, ANN201
    async def record(exc: Exception) -> None:
        if errors is not None:
            errors.append(exc)

    return await nats.connect(infra.nats_url, error_cb=record, **NO_RECONNECT, **login_options(login_of(infra, user)))


async def test_connections_without_a_valid_login_are_refused(infra) -> None:  # noqa: ANN001
    refused = 0
    for options in ({}, {"user": auth.RENDER_USER, "password": "wrong"},
                    {"user": "nobody", "password": infra.nats_passwords[auth.RENDER_USER]},
                    {"user": auth.ADMIN_USER, "password": infra.nats_passwords[auth.RENDER_USER]}):
        with pytest.raises(Exception) as caught:  # noqa: PT011 - nats.py raises several types for this
            nc = await nats.connect(infra.nats_url, **NO_RECONNECT, **options)
            await nc.close()
        assert "authorization" in repr(caught.value).lower() or isinstance(caught.value, nats.errors.NoServersError)
        refused += 1
    assert refused == 4
    # The shared helper stops at once on a refused login instead of waiting.
    with pytest.raises(NatsLoginRefused):
        await asyncio.wait_for(connect_nats(NatsSettings((infra.nats_url,), NatsLogin(auth.SNAPSHOT_USER, "wrong")), "test"), 10)
    # The same calls with the right password work: the refusals were the login's doing.
    for user in auth.USERS:
        nc = await connect_as(infra, user)
        await nc.close()


async def test_render_svc_cannot_read_delivery_requests(infra) -> None:  # noqa: ANN001
    """Delivery requests carry webhook URLs and tokens: the render service's
    login can neither subscribe to them, nor reach them through JetStream,
    nor read another service's inbox — while its own work still flows."""
    admin = await nats.connect(infra.nats_url, **infra.nats_admin_options)
    errors: list[Exception] = []
    render = await connect_as(infra, auth.RENDER_USER, errors)
    denied = 0
    try:
        admin_js = admin.jetstream()
        await queue.ensure_streams(admin_js)
        await admin_js.purge_stream(queue.DELIVERY_STREAM)
        await admin_js.purge_stream(queue.RENDER_STREAM)

        seen: list[bytes] = []

        async def keep(msg) -> None:  # noqa: ANN001
            seen.append(msg.data)

        for subject in (queue.DELIVERY_REQUESTS, "_INBOX.>", f"{auth.inbox_prefix(auth.NOTIFIER_USER)}.>", ">"):
            await render.subscribe(subject, cb=keep)
            denied += 1
        await render.flush()
        await admin.publish(queue.DELIVERY_REQUESTS, b"webhook-url-and-token")
        await admin.flush()
        await asyncio.sleep(1.0)
        assert seen == []
        violations = [e for e in errors if "permissions violation" in str(e).lower()]
        assert len(violations) == 4, errors

        render_js = render.jetstream(timeout=NATS_REPLY_TIMEOUT)
        for attempt in (
            render_js.pull_subscribe(queue.DELIVERY_REQUESTS, durable="spy", stream=queue.DELIVERY_STREAM),
            render_js.get_msg(queue.DELIVERY_STREAM, seq=1),
            render_js.consumer_info(queue.DELIVERY_STREAM, queue.NOTIFIER_WORKERS),
            render_js.delete_stream(queue.DELIVERY_STREAM),
        ):
            with pytest.raises((NatsTimeout, nats.errors.NoRespondersError)):
                await attempt
            denied += 1
        assert (await admin_js.stream_info(queue.DELIVERY_STREAM)).state.messages == 1, "still there, unread"

        # Its own work is allowed: take a render request, ack it.
        await admin_js.publish(queue.RENDER_REQUESTS, b"render me")
        sub = await render_js.pull_subscribe(
            queue.RENDER_REQUESTS, durable=queue.RENDER_WORKERS, stream=queue.RENDER_STREAM,
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT))
        [msg] = await sub.fetch(1, timeout=5)
        assert msg.data == b"render me"
        await msg.ack_sync(timeout=5)
        await render_js.publish(queue.RENDER_RESULTS, b"result")
    finally:
        await render.close()
        await admin.jetstream().delete_consumer(queue.RENDER_STREAM, queue.RENDER_WORKERS)
        await admin.jetstream().purge_stream(queue.DELIVERY_STREAM)
        await admin.jetstream().purge_stream(queue.RESULTS_STREAM)
        await admin.close()
    assert denied == 8


def test_passwords_and_config_are_private(infra) -> None:  # noqa: ANN001
    for path in (infra.data_dir / NATS_PASSWORDS_FILE, infra.data_dir / "nats.conf"):
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == 0o600, f"{path} is {oct(mode)}"
    passwords = infra.nats_passwords
    assert set(passwords) == set(auth.USERS) and len(set(passwords.values())) == len(auth.USERS)
