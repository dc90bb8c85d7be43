"""No credential leaves the notifier in any form it was sent in.

Each destination type is configured with a distinctive secret (Slack's
webhook path, HipChat's Bearer token, Flowdock's token in the URL path,
Campfire's token inside `Basic base64(token:X)`, the SMTP password inside
AUTH PLAIN / LOGIN), and every delivery fails: peers that answer 401 or 500
echoing back the request line, every header and the body (wrapped in the
vendor's own error format, so the echo does reach the error words), refused
connections, and timeouts.

Bound: none of the secrets, in any form (raw, base64 alone, base64 of
`token:X` / `user:password` / `\\0user\\0password`, percent-encoded,
JSON-escaped), appears in the delivery results published on NATS (what the
job's `output.services[].error` is made from), in the delivery journal kept
in NATS, or in any line the notifier logged. Each test counts the failing
deliveries it made (4 chat types x 4 ways, 4 ways for mail)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from urllib.parse import quote, quote_plus

import pytest

from chartsnap import queue
from devstack.processes import free_port
from notifier_svc.delivery_ledger import DeliveryLedger, open_bucket
from notifier_svc.outbound_policy import OutboundPolicy
from notifier_svc.retry_policy import RetryPolicy
from notifier_svc.service import start_notifier_service
from notifier_svc.smtp_sender import SmtpServer
from tests.integration.notifier.conftest import (TEST_TIMEOUTS, image_store, js, nc, results,  # noqa: F401
                                                 settings_for, smtp_peer, start_notifier, stored_png)
from tests.integration.notifier.harness import R, delivery_request, publish
from tests.peers.echo import EchoPeer

pytestmark = pytest.mark.timeout(90)

# Distinctive, and with characters that get percent- and JSON-escaped.
SECRETS = {
    "slack": "sl4ckW3bh00kS3cretPart+x",
    "hipchat": "h1pch4t+B34rer/T0ken=val",
    "flowdock": "fl0wd0ck+Fl0w/T0ken=abc",
    "campfire": "c4mpf1reAp1T0ken/xyz+123",
}
SMTP_USER, SMTP_PASSWORD = "mailer", "Sm7p+P4ssw0rd/S3cret"
SHORT_BUDGET = RetryPolicy(max_total_seconds=1.0, base_backoff=0.05, max_backoff=0.5)


def b64(text: str) -> list[str]:
    raw = text.encode()
    std, url = base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()
    return [std, std.rstrip("="), url, url.rstrip("=")]


def forms(secret: str, user: str | None = None) -> dict[str, str]:
    """Every form in which `secret` could travel or be echoed."""
    found = {"raw": secret, "percent": quote(secret, safe=""), "percent-lower": quote(secret, safe="").lower(),
             "plus": quote_plus(secret), "json": json.dumps(secret)[1:-1],
             "json-slash": json.dumps(secret)[1:-1].replace("/", "\\/")}
    for i, v in enumerate(b64(secret)):
        found[f"base64-{i}"] = v
    for i, v in enumerate(b64(f"{secret}:X")):
        found[f"basic-token-X-{i}"] = v
    if user is not None:
        for i, v in enumerate(b64(f"{user}:{secret}") + b64(f"\0{user}\0{secret}")):
            found[f"basic-user-password-{i}"] = v
    return found


def chat_settings(kind: str, base: str) -> dict[str, str]:
    secret = SECRETS[kind]
    return {
        "slack": {"url": f"{base}/services/T1/B2/{secret}"},
        "hipchat": {"auth_token": secret, "room_id": "42", "server_url": base},
        "flowdock": {"api_token": secret, "server_url": base},
        "campfire": {"subdomain": "x", "token": secret, "room": "Ops", "server_url": base},
    }[kind]


class RawResults:
    """Every byte published on the delivery-results subject."""

    def __init__(self) -> None:
        self.data: list[bytes] = []

    async def start(self, nc) -> "RawResults":  # noqa: ANN001
        async def keep(msg) -> None:  # noqa: ANN001
            self.data.append(msg.data)

        self.sub = await nc.subscribe(queue.DELIVERY_RESULTS, cb=keep)
        await nc.flush()
        return self


async def assert_nowhere(secret_forms: dict[str, dict[str, str]], ids: list[str], results, raw: RawResults,  # noqa: ANN001
                         js, caplog) -> None:  # noqa: ANN001
    ledger = DeliveryLedger(await open_bucket(js))
    journal = []
    for delivery_id in ids:
        record, _ = await ledger.read(delivery_id)
        assert record is not None and record.ended
        journal.append(record.to_bytes().decode())
    errors = [(await results.result(i)).error for i in ids]
    places = {
        "a delivery result's error": "\n".join(errors),
        "a message on the results subject": b"\n".join(raw.data).decode("utf-8", "replace"),
        "the delivery journal": "\n".join(journal),
        "the notifier's log": "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records),
    }
    for owner, named in secret_forms.items():
        for form, value in named.items():
            for place, text in places.items():
                assert value not in text, f"{owner}'s secret ({form}) is in {place}"
    assert caplog.records, "the log was captured"


async def test_chat_secrets_in_no_error_log_or_message(start_notifier, nc, js, results, caplog):
    raw = await RawResults().start(nc)
    async with EchoPeer(status=401) as p401, EchoPeer(status=500) as p500, EchoPeer(status=200) as hanging:
        hanging.hang_next(1000, seconds=TEST_TIMEOUTS.read * 3)
        dead = f"http://127.0.0.1:{free_port()}"
        ways = {"401 echo": p401, "500 echo": p500, "refused": None, "timeout": hanging}
        with caplog.at_level(logging.DEBUG):
            await start_notifier(outbound=OutboundPolicy.parse("127.0.0.1"), retry=SHORT_BUDGET, concurrency=32)
            requests = [delivery_request(kind, chat_settings(kind, peer.server_url if peer else dead))
                        for kind in SECRETS for peer in ways.values()]
            # Echo peers answer in one vendor's format at a time: one type per round.
            ids = []
            for kind in SECRETS:
                for peer in (p401, p500):
                    peer.echo_format = kind
                round_ = [r for r in requests if r.type == kind]
                for req in round_:
                    await publish(js, req)
                for req in round_:
                    await results.result(req.delivery_id, timeout=30)
                ids += [r.delivery_id for r in round_]
        got = [await results.result(i) for i in ids]
        echoed = len(p401.requests) + len(p500.requests)

    assert len(got) == 4 * len(ways) == 16, "every failing delivery was made"
    assert all(r.state == R.FAILED for r in got)
    assert echoed >= 8 and len(hanging.requests) >= 4, "the echo peers did see (and echo) the secrets"
    assert any("[redacted]" in r.error for r in got), "the vendor-format echoes reached the words, scrubbed"
    await assert_nowhere({kind: forms(secret) for kind, secret in SECRETS.items()}, ids, results, raw, js, caplog)


class SmtpEcho:
    """An SMTP server that refuses every login with `code`, echoing back the
    AUTH lines it got and their base64-decoded content; or, with hang=True,
    never sends its greeting."""

    def __init__(self, code: int = 535, hang: bool = False) -> None:
        self.code, self.hang = code, hang
        self.lines: list[str] = []

    async def __aenter__(self) -> "SmtpEcho":
        self.server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self.hang:
                await asyncio.sleep(TEST_TIMEOUTS.read * 3)
                return
            writer.write(b"220 echo ESMTP\r\n")
            login = False
            while line := await reader.readline():
                text = line.decode("utf-8", "replace").rstrip("\r\n")
                self.lines.append(text)
                words = text.split()
                verb = words[0].upper() if words else ""
                if verb in ("EHLO", "HELO"):
                    writer.write(b"250-echo\r\n250 AUTH PLAIN LOGIN\r\n")
                elif verb == "AUTH" and len(words) >= 2 and words[1].upper() == "LOGIN":
                    login = True
                    writer.write(b"334 UGFzc3dvcmQ6\r\n")
                elif verb == "QUIT":
                    writer.write(b"221 bye\r\n")
                    break
                elif verb == "AUTH" or login:
                    login = False
                    try:
                        decoded = base64.b64decode(words[-1]).decode("latin-1")
                    except Exception:  # noqa: BLE001
                        decoded = "?"
                    writer.write(f"{self.code} 5.7.8 refused {text} = {decoded!r}\r\n".encode())
                else:
                    writer.write(b"502 5.5.2 what\r\n")
                await writer.drain()
        finally:
            writer.close()


async def test_the_smtp_password_in_no_error_log_or_message(infra, nc, js, results, stored_png, smtp_peer,
                                                            caplog):
    raw = await RawResults().start(nc)
    ids = []
    async with SmtpEcho(535) as refusing, SmtpEcho(454) as busy, SmtpEcho(hang=True) as silent:
        ways = {"535 echo": refusing.port, "454 echo": busy.port, "refused": free_port(), "timeout": silent.port}
        with caplog.at_level(logging.DEBUG):
            for port in ways.values():
                smtp = SmtpServer(host="127.0.0.1", port=port, user=SMTP_USER, password=SMTP_PASSWORD)
                service = await start_notifier_service(settings_for(infra, smtp_peer, smtp=smtp, retry=SHORT_BUDGET))
                try:
                    req = delivery_request("mail", {"addresses": "ops@example.com"}, image_key=stored_png[0])
                    await publish(js, req)
                    await results.result(req.delivery_id, timeout=30)
                    ids.append(req.delivery_id)
                finally:
                    await service.stop(grace=2.0)
        echoed = [line for line in refusing.lines + busy.lines if line.upper().startswith("AUTH")]

    got = [await results.result(i) for i in ids]
    assert len(got) == len(ways) == 4 and all(r.state == R.FAILED for r in got)
    assert len(echoed) >= 2, "the servers saw (and echoed) AUTH PLAIN and AUTH LOGIN"
    assert got[0].error.startswith("smtp server refused the login: 535") and "[redacted]" in got[0].error
    await assert_nowhere({"smtp": forms(SMTP_PASSWORD, SMTP_USER)}, ids, results, raw, js, caplog)
