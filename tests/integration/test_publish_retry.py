"""chartsnap.queue.publish against a real NATS server: a "no responders"
answer (a stream that is electing its leader, or whose interest has not yet
reached this node) is retried for PUBLISH_NO_RESPONDERS_RETRY_S and no longer.

Bound: the failing publish gives up within the retry time plus one publish
timeout (PUBLISH_TIMEOUT_S), and not before the retry time less one wait."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from nats.js.api import StreamConfig
from nats.js.errors import NoStreamResponseError

from chartsnap import queue

pytestmark = [pytest.mark.timeout(60)]


async def test_a_publish_no_stream_answers_is_retried_for_its_time_then_raises(js) -> None:  # noqa: ANN001
    subject = f"chartsnap-test.nowhere.{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    with pytest.raises(NoStreamResponseError):
        await queue.publish(js, subject, b"x", "nowhere-1")
    took = time.monotonic() - started
    print(f"gave up after {took:.2f}s (retry time {queue.PUBLISH_NO_RESPONDERS_RETRY_S}s)")
    assert queue.PUBLISH_NO_RESPONDERS_RETRY_S - queue.PUBLISH_RETRY_WAIT_S <= took
    assert took <= queue.PUBLISH_NO_RESPONDERS_RETRY_S + queue.PUBLISH_TIMEOUT_S


async def test_a_stream_that_answers_while_the_publish_retries_gets_the_message_once(js) -> None:  # noqa: ANN001
    name = f"CHARTSNAP_TEST_{uuid.uuid4().hex[:8].upper()}"
    subject = f"chartsnap-test.late.{name.lower()}"

    async def stream_appears() -> None:
        # The scenario, not a synchronisation: the stream starts answering one
        # retry wait after the publish began, well inside its retry time.
        await asyncio.sleep(queue.PUBLISH_RETRY_WAIT_S)
        await js.add_stream(StreamConfig(name=name, subjects=[subject]))

    try:
        appearing = asyncio.create_task(stream_appears())
        ack = await queue.publish(js, subject, b"late", "late-1")
        await appearing
        assert ack.stream == name
        assert (await js.stream_info(name)).state.messages == 1
        assert (await js.get_last_msg(name, subject)).data == b"late"
        # Published again with its id (a caller that lost the ack): dropped, one copy.
        again = await queue.publish(js, subject, b"late", "late-1")
        assert again.duplicate and again.seq == ack.seq
        assert (await js.stream_info(name)).state.messages == 1
    finally:
        await js.delete_stream(name)
