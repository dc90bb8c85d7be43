"""E-mail over SMTP: SMTP reply classes, a partly refused recipient list, a
missing image, a stalled server, and STARTTLS with AUTH."""

from __future__ import annotations

from dataclasses import replace
from typing import AsyncIterator

import pytest

from tests.integration.notifier.conftest import smtp_server_of
from tests.integration.notifier.harness import R, delivery_request, publish
from tests.peers.smtp import SmtpPeer

pytestmark = pytest.mark.timeout(30)


async def test_4xx_then_success(notifier, js, results, smtp_peer, stored_png):
    smtp_peer.fail_next(1, 451, "4.3.0 Mailbox busy, try later")
    req = delivery_request("mail", {"addresses": "ops@example.com"}, image_key=stored_png[0])
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.DELIVERED, 2)
    assert len(smtp_peer.messages) == 1


async def test_5xx_is_permanent_with_the_servers_words(notifier, js, results, smtp_peer, stored_png):
    smtp_peer.fail_next(1, 554, "5.7.1 Message rejected as spam", stage="DATA")
    req = delivery_request("mail", {"addresses": "ops@example.com"}, image_key=stored_png[0])
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.FAILED, 1)
    assert result.error == "smtp server answered 554 5.7.1 Message rejected as spam"
    assert smtp_peer.messages == []


async def test_every_recipient_refused_is_permanent(notifier, js, results, smtp_peer, stored_png):
    smtp_peer.fail_next(1, 550, "5.1.1 No such user", stage="RCPT")
    req = delivery_request("mail", {"addresses": "nobody@example.com"}, image_key=stored_png[0])
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.FAILED, 1)
    assert result.error == "smtp server refused every recipient: nobody@example.com: 550 5.1.1 No such user"


async def test_one_refused_recipient_does_not_stop_the_others(notifier, js, results, smtp_peer, stored_png):
    smtp_peer.fail_next(1, 550, "5.1.1 No such user", stage="RCPT")
    req = delivery_request("mail", {"addresses": "gone@example.com, ops@example.com"}, image_key=stored_png[0])
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.DELIVERED, 1)
    assert result.error == "refused: gone@example.com: 550 5.1.1 No such user"
    assert smtp_peer.messages[0].rcpt_tos == ["ops@example.com"]


async def test_missing_image_is_permanent(notifier, js, results, smtp_peer):
    req = delivery_request("mail", {"addresses": "ops@example.com"}, image_key="chart/never-stored.png")
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.FAILED, 1)
    assert result.error == "the image chart/never-stored.png is not in the store"
    assert smtp_peer.messages == []


async def test_stalled_server_times_out_and_is_retried(notifier, js, results, smtp_peer, stored_png):
    smtp_peer.hang_next(1, seconds=4)
    req = delivery_request("mail", {"addresses": "ops@example.com"}, image_key=stored_png[0])
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.DELIVERED, 2)
    assert len(smtp_peer.messages) == 1


@pytest.fixture
async def secure_smtp() -> AsyncIterator[SmtpPeer]:
    async with SmtpPeer(starttls=True, user="mailer", password="s3cret-Pa55word") as peer:
        yield peer


async def test_starttls_and_auth(start_notifier, js, results, secure_smtp, stored_png):
    await start_notifier(secure_smtp)
    key, png = stored_png
    req = delivery_request("mail", {"addresses": "ops@example.com"}, image_key=key)
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts, result.error) == (R.DELIVERED, 1, "")
    [mail] = secure_smtp.messages
    assert mail.tls and mail.authenticated_as == "mailer"
    assert mail.part("image/png").get_content() == png


async def test_wrong_password_is_permanent_and_not_repeated_back(start_notifier, js, results, secure_smtp,
                                                                  stored_png, caplog):
    wrong = replace(smtp_server_of(secure_smtp), password="not-the-Pa55word")
    await start_notifier(secure_smtp, smtp=wrong)
    req = delivery_request("mail", {"addresses": "ops@example.com"}, image_key=stored_png[0])
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.FAILED, 1)
    assert result.error.startswith("smtp server refused the login: 535")
    assert "not-the-Pa55word" not in result.error
    assert "not-the-Pa55word" not in caplog.text
    # smtplib tries each mechanism the server offers (PLAIN, LOGIN) within the one attempt.
    assert secure_smtp.auth_attempts and all(a == ("mailer", False) for a in secure_smtp.auth_attempts)
    assert secure_smtp.messages == []


async def test_plain_client_against_a_starttls_server_is_permanent(start_notifier, js, results, secure_smtp,
                                                                    stored_png):
    await start_notifier(secure_smtp, smtp=replace(smtp_server_of(secure_smtp), starttls=False, user="",
                                                   password=""))
    req = delivery_request("mail", {"addresses": "ops@example.com"}, image_key=stored_png[0])
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts) == (R.FAILED, 1)
    assert result.error.startswith("smtp server answered 530")


async def test_a_chart_name_with_cr_lf_is_one_mail_with_no_extra_header(notifier, js, results, smtp_peer, stored_png):
    req = delivery_request("mail", {"addresses": "ops@example.com"}, image_key=stored_png[0],
                           chart_name="a\r\nBcc: evil@x")
    await publish(js, req)
    result = await results.result(req.delivery_id)
    assert (result.state, result.attempts, result.error) == (R.DELIVERED, 1, "")
    [mail] = smtp_peer.messages
    assert mail.rcpt_tos == ["ops@example.com"], "no one else was sent it"
    assert mail.message["Bcc"] is None
    assert mail.message["Subject"] == "Snapshot of a Bcc: evil@x from Ada Lovelace"
    headers = mail.raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    assert b"\nBcc:" not in headers and not headers.startswith(b"Bcc:")
