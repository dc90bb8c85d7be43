"""Who may do what on NATS: one user per service, each allowed only the
subjects its work needs, and the nats-server `authorization` block that says
so. `make run`, the tests and the Kubernetes config (deploy/kubernetes/components/nats-authorization/authorization.conf)
all use this one table, so they cannot drift.

Why passwords, not nkeys: the Python client needs the `nkeys` package (not in
the lock file) to sign nkey challenges, and a Kubernetes Secret carries a
password as easily as a seed. Each service has its own random password, so
one leaked password exposes one service's subjects only.

Why per-user inboxes: JetStream delivers pulled messages and API replies to
the requester's inbox. With the default shared `_INBOX.>` any user allowed to
read replies could read every other service's (delivery requests carry
webhook URLs and tokens); each user reads only `_INBOX_<user>.>`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from chartsnap import queue
from chartsnap.queue import DELIVERY_LEDGER_BUCKET

SNAPSHOT_USER = "snapshot_svc"
RENDER_USER = "render_svc"
NOTIFIER_USER = "notifier_svc"
ADMIN_USER = "chartsnap_admin"  # tests and operators: everything
SERVICE_USERS = (SNAPSHOT_USER, RENDER_USER, NOTIFIER_USER)
USERS = (*SERVICE_USERS, ADMIN_USER)

JS_API = "$JS.API"
STREAM_NAMES = tuple(config.name for config in queue.STREAMS)


def inbox_prefix(user: str) -> str:
    """The reply-subject prefix a user's client must use (its only inbox)."""
    return f"_INBOX_{user}"


@dataclass(frozen=True)
class Permissions:
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]


def _stream_upkeep() -> tuple[str, ...]:
    # Every service creates or updates every stream at start, then waits until
    # each is led (queue.ensure_streams).
    return tuple(f"{JS_API}.STREAM.{verb}.{name}" for name in STREAM_NAMES for verb in ("CREATE", "UPDATE", "INFO"))


def _pull_consumer(stream: str, durable: str) -> tuple[str, ...]:
    """What a durable pull consumer's owner needs: look it up, create or
    update it, pull from it, and ack/nak/term/in-progress its messages."""
    consumer = f"{stream}.{durable}"
    return (
        f"{JS_API}.STREAM.INFO.{stream}",
        f"{JS_API}.CONSUMER.INFO.{consumer}",
        f"{JS_API}.CONSUMER.CREATE.{consumer}",
        f"{JS_API}.CONSUMER.CREATE.{consumer}.>",
        f"{JS_API}.CONSUMER.DURABLE.CREATE.{consumer}",
        f"{JS_API}.CONSUMER.MSG.NEXT.{consumer}",
        f"$JS.ACK.{consumer}.>",
    )


def _key_value(bucket: str) -> tuple[str, ...]:
    stream = f"KV_{bucket}"
    return (
        f"{JS_API}.STREAM.INFO.{stream}",
        f"{JS_API}.STREAM.CREATE.{stream}",
        f"{JS_API}.STREAM.MSG.GET.{stream}",
        f"{JS_API}.DIRECT.GET.{stream}",
        f"{JS_API}.DIRECT.GET.{stream}.>",
        f"$KV.{bucket}.>",
    )


def _unique(*subjects: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(subjects))


def permissions_of(user: str) -> Permissions:
    inbox = f"{inbox_prefix(user)}.>"
    if user == SNAPSHOT_USER:
        # The orchestrator: it already holds every tenant's data in SQL, so
        # narrowing its JetStream API use buys nothing. It watches advisories
        # (e.g. a render request that ran out of deliveries).
        return Permissions(
            publish=(queue.RENDER_REQUESTS, queue.DELIVERY_REQUESTS, f"{JS_API}.>", "$JS.ACK.>"),
            subscribe=(inbox, "$JS.EVENT.ADVISORY.>"),
        )
    if user == RENDER_USER:
        return Permissions(
            publish=_unique(queue.RENDER_RESULTS, f"{JS_API}.INFO", *_stream_upkeep(),
                            *_pull_consumer(queue.RENDER_STREAM, queue.RENDER_WORKERS)),
            subscribe=(inbox,),
        )
    if user == NOTIFIER_USER:
        return Permissions(
            publish=_unique(queue.DELIVERY_RESULTS, f"{JS_API}.INFO", *_stream_upkeep(),
                            *_pull_consumer(queue.DELIVERY_STREAM, queue.NOTIFIER_WORKERS),
                            *_key_value(DELIVERY_LEDGER_BUCKET)),
            subscribe=(inbox,),
        )
    if user == ADMIN_USER:
        return Permissions(publish=(">",), subscribe=(">",))
    raise KeyError(f"no NATS user {user!r}")


def password_variable(user: str) -> str:
    """The environment variable a deployed nats-server reads `user`'s password from."""
    return f"NATS_PASSWORD_{user.upper()}"


def authorization_block(password_of: Callable[[str], str]) -> str:
    """The nats-server `authorization { users = [...] }` block. `password_of`
    gives each user's password as config text: a quoted literal, or
    `$NATS_PASSWORD_<USER>` for the server to take from its environment.
    No `no_auth_user`: a connection without a valid login is refused."""
    def quoted(subjects: tuple[str, ...]) -> str:
        return ", ".join(f'"{s}"' for s in subjects)

    users = []
    for user in USERS:
        perms = permissions_of(user)
        users.append(
            f'    {{user: "{user}", password: {password_of(user)}, permissions: {{\n'
            f"      publish: {{allow: [{quoted(perms.publish)}]}}\n"
            f"      subscribe: {{allow: [{quoted(perms.subscribe)}]}}\n"
            f"    }}}}")
    return "authorization {\n  users = [\n" + "\n".join(users) + "\n  ]\n}\n"


def literal_password(passwords: dict[str, str]) -> Callable[[str], str]:
    return lambda user: f'"{passwords[user]}"'


def password_from_environment(user: str) -> str:
    return f"${password_variable(user)}"
