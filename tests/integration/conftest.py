"""Fixtures of the integration tier's root modules."""

from __future__ import annotations

import nats
import pytest

from chartsnap import queue


@pytest.fixture
async def js(infra):  # noqa: ANN001, ANN201
    """JetStream of the module's NATS with every stream made anew: a test's own
    database numbers snapshots from 1 again, so an old duplicate window would
    drop its render requests."""
    nc = await nats.connect(infra.nats_url, **infra.nats_admin_options)
    js = nc.jetstream()
    await queue.ensure_streams(js)
    for config in queue.STREAMS:
        await js.delete_stream(config.name)
    await queue.ensure_streams(js)
    yield js
    await nc.close()
