"""How snapshot_svc takes one result message off JetStream (render and
delivery results alike): a message it cannot read is terminated, since it will
never become readable; one whose application fails (database or queue
trouble) is nak'd to come back shortly; anything else is acked. Applying is
idempotent, so a redelivered result changes nothing. The result's snapshot,
job and delivery are bound in the log context while it is applied (its
request id already is: chartsnap.pull_consumer)."""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, TypeVar

from nats.errors import Error as NatsError

from chartsnap import logs, pull_consumer, request_ids

log = logging.getLogger(__name__)

Result = TypeVar("Result")
RETRY_DELAY_S = 1.0


class Unreadable(Exception):
    """The message is not a result we know (bad bytes or an unknown state)."""


async def consume_results(js: Any, subject: str, durable: str, stream: str, read: Callable[[bytes], Result],
                          apply: Callable[[Result], Awaitable[None]], describe: Callable[[Result], str]) -> None:
    """Forever: `read` each message (raising for one it cannot), then `apply` it."""

    async def handle(msg) -> None:  # noqa: ANN001 - nats Msg
        try:
            result = read(msg.data)
        except Exception:  # noqa: BLE001 - a message we cannot read will never become readable
            log.error("dropping unreadable result message on %s", msg.subject)
            await msg.term()
            return
        with request_ids.bound(**request_ids.context_of(result)):
            try:
                await apply(result)
            except NatsError as exc:  # the queue is unreachable or electing a leader: expected, and passes
                log.warning("applying %s waits for NATS (%s); retrying in %.0f s", describe(result),
                            logs.failure(exc), RETRY_DELAY_S)
                await msg.nak(delay=RETRY_DELAY_S)
                return
            except Exception:  # noqa: BLE001 - database trouble or a bug: try again shortly, with the trace
                log.exception("applying %s failed", describe(result))
                await msg.nak(delay=RETRY_DELAY_S)
                return
            await msg.ack()

    await pull_consumer.consume_forever(js, subject, durable, stream, handle)
