"""chartsnap.request_ids: which client request ids are carried, and the log
context that follows the work (tasks, threads) it was bound for."""

from __future__ import annotations

import asyncio
import re

import pytest

from chartsnap import request_ids

pytestmark = pytest.mark.timeout(10)


@pytest.mark.parametrize("value", ["a", "test-0f3c", "abc.DEF_123:456-7", "x" * request_ids.MAX_LENGTH,
                                   "0123456789abcdef0123456789abcdef", b"bytes-are-fine"])
def test_sane_ids_are_kept(value):
    assert request_ids.sane(value) == (value.decode() if isinstance(value, bytes) else value)
    assert request_ids.from_client(value) == request_ids.sane(value)


@pytest.mark.parametrize("value", [
    None, "", " ", "x" * (request_ids.MAX_LENGTH + 1), "x" * 10_000,
    "abc\r\nX-Injected: 1", "abc\n{\"level\": \"CRITICAL\"}", "abc\x00", "tab\there", "with space",
    "café", "id\u2028next", "\u202eevil", "quote\"d", "back\\slash", "semi;colon", "a/b", "<script>",
    b"\xff\xfe", "a\u00a0b", 12345, ["abc"],
])
def test_anything_else_is_replaced_never_kept(value):
    assert request_ids.sane(value) is None
    made = request_ids.from_client(value)
    assert made != value and request_ids.sane(made) == made


def test_made_ids_are_distinct_and_sane():
    made = {request_ids.new() for _ in range(1000)}
    assert len(made) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{32}", m) for m in made)


def test_bound_fields_hold_for_the_block_and_nest():
    assert request_ids.current() == {}
    with request_ids.bound(request_id="outer", snapshot_id=7):
        assert request_ids.current() == {"request_id": "outer", "snapshot_id": 7}
        with request_ids.bound(job_id=9, snapshot_id=None):   # None leaves what is bound
            assert request_ids.current() == {"request_id": "outer", "snapshot_id": 7, "job_id": 9}
        assert request_ids.current_request_id() == "outer"
        assert "job_id" not in request_ids.current()
    assert request_ids.current() == {} and request_ids.current_request_id() is None


def test_only_context_fields_can_be_bound():
    with pytest.raises(TypeError, match="password"):
        with request_ids.bound(password="x"):
            pass


def test_headers_and_metadata_carry_only_a_bound_id():
    assert request_ids.grpc_metadata() == () and request_ids.nats_headers() == {}
    with request_ids.bound(request_id="r-1"):
        assert request_ids.grpc_metadata() == (("x-request-id", "r-1"),)
        assert request_ids.nats_headers() == {"Chartsnap-Request-Id": "r-1"}
    assert request_ids.from_nats_headers({"Chartsnap-Request-Id": "r-1"}) == "r-1"
    assert request_ids.from_nats_headers({"Chartsnap-Request-Id": "r-1\r\nx"}) is None
    assert request_ids.from_nats_headers(None) is None


def test_context_of_a_message_names_what_it_has():
    from chartsnap.v1 import delivery_pb2, render_pb2

    assert request_ids.context_of(render_pb2.RenderRequest(snapshot_id=3, job_id=4)) == {"snapshot_id": 3,
                                                                                        "job_id": 4}
    assert request_ids.context_of(delivery_pb2.DeliveryResult(delivery_id="3:9", snapshot_id=3)) == {
        "snapshot_id": 3, "delivery_id": "3:9"}
    assert request_ids.context_of(render_pb2.RenderResult()) == {}


async def test_the_context_follows_tasks_and_threads_started_within_it_and_no_other():
    seen: dict[str, object] = {}

    async def handle(name: str) -> None:
        request_ids.bind(request_id=name)
        await asyncio.sleep(0)
        seen[name] = request_ids.current_request_id()
        seen[f"{name} thread"] = await asyncio.to_thread(request_ids.current_request_id)
        child = asyncio.create_task(asyncio.sleep(0, result=None))
        await child
        seen[f"{name} child"] = await asyncio.create_task(_current())

    async def _current() -> str | None:
        return request_ids.current_request_id()

    await asyncio.gather(handle("one"), handle("two"))
    assert seen == {"one": "one", "one thread": "one", "one child": "one",
                    "two": "two", "two thread": "two", "two child": "two"}
    assert request_ids.current_request_id() is None
