"""Which answers are transient, which permanent, and what words are kept."""

from __future__ import annotations

import smtplib
import ssl

import pytest

from notifier_svc.campfire_notifier import campfire_words
from notifier_svc.flowdock_notifier import flowdock_words
from notifier_svc.hipchat_notifier import hipchat_words
from notifier_svc.slack_notifier import slack_words
from notifier_svc.notifier import PermanentDeliveryError, TransientDeliveryError
from notifier_svc.smtp_sender import ConnectTimeout, classify_smtp_error
from notifier_svc.vendor_http import AttemptTimeouts, VendorReply, raise_for_reply

T = AttemptTimeouts()


@pytest.mark.parametrize("status", [200, 201, 204])
def test_2xx_is_success(status):
    raise_for_reply("slack", VendorReply(status, ""), "")


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses(status):
    with pytest.raises(TransientDeliveryError):
        raise_for_reply("slack", VendorReply(status, "x"), "x")


@pytest.mark.parametrize("status", [301, 400, 401, 403, 404, 410, 413, 422])
def test_permanent_statuses(status):
    with pytest.raises(PermanentDeliveryError) as err:
        raise_for_reply("slack", VendorReply(status, "channel_not_found"), "channel_not_found")
    assert err.value.message == f"slack answered {status}: channel_not_found"


def test_retry_after_is_carried():
    with pytest.raises(TransientDeliveryError) as err:
        raise_for_reply("hipchat", VendorReply(429, "", {"Retry-After": "12"}), "slow down")
    assert err.value.retry_after == 12.0
    assert err.value.message == "hipchat answered 429: slow down"


def test_peer_words_are_one_bounded_line():
    with pytest.raises(PermanentDeliveryError) as err:
        raise_for_reply("slack", VendorReply(400, ""), "line one\n\nline two " + "x" * 1000)
    assert "\n" not in err.value.message and len(err.value.message) < 350


def test_vendor_words_from_json_bodies():
    assert hipchat_words(VendorReply(401, '{"error": {"code": 401, "message": "Invalid OAuth session", '
                                          '"type": "Unauthorized"}}')) == "Invalid OAuth session"
    assert hipchat_words(VendorReply(502, "<html>bad gateway</html>")) == "", "not HipChat's format: no words"
    assert flowdock_words(VendorReply(400, '{"message": "Validation error", "errors": '
                                           '{"content": ["can\'t be blank"]}}')) == \
        "Validation error (content can't be blank)"


@pytest.mark.parametrize(("exc", "kind", "words"), [
    (smtplib.SMTPResponseException(550, b"5.1.1 No such user"), PermanentDeliveryError, "550 5.1.1 No such user"),
    (smtplib.SMTPDataError(554, b"5.7.1 Spam"), PermanentDeliveryError, "554 5.7.1 Spam"),
    (smtplib.SMTPDataError(451, b"4.3.0 Later"), TransientDeliveryError, "451 4.3.0 Later"),
    (smtplib.SMTPAuthenticationError(535, b"5.7.8 Bad credentials"), PermanentDeliveryError, "refused the login"),
    (smtplib.SMTPSenderRefused(553, b"5.7.1 Not yours", "x@y"), PermanentDeliveryError, "553"),
    (smtplib.SMTPRecipientsRefused({"a@x.com": (550, b"no"), "b@x.com": (550, b"no")}), PermanentDeliveryError,
     "refused every recipient: a@x.com: 550 no; b@x.com: 550 no"),
    (smtplib.SMTPRecipientsRefused({"a@x.com": (550, b"no"), "b@x.com": (452, b"full")}), TransientDeliveryError,
     "452 full"),
    (smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."), PermanentDeliveryError,
     "STARTTLS"),
    (smtplib.SMTPServerDisconnected("gone"), TransientDeliveryError, "closed the connection"),
    (ConnectTimeout(), TransientDeliveryError, "could not connect within 2 s"),
    (TimeoutError(), TransientDeliveryError, "no answer within 6 s"),
    (ConnectionRefusedError(111, "Connection refused"), TransientDeliveryError, "Connection refused"),
    (ssl.SSLError(1, "handshake"), TransientDeliveryError, "TLS failed"),
])
def test_smtp_classification(exc, kind, words):
    err = classify_smtp_error(exc, T)
    assert type(err) is kind
    assert words in err.message


# An internal server's reply (an S3 listing, a metrics page, an admin JSON)
# must never reach a job's error text: only each vendor's documented error
# format gives words, anything else gives just the status.
FOREIGN_BODIES = [
    '<?xml version="1.0"?><ListBucketResult><Key>chart/secret.png</Key></ListBucketResult>',
    "# HELP process_cpu_seconds_total\nprocess_cpu_seconds_total 12.5",
    '{"status": "ok", "admin": true, "users": ["root"]}',
    "Internal Server Error",
    "",
]


@pytest.mark.parametrize("body", FOREIGN_BODIES)
def test_a_body_in_no_vendor_format_gives_no_words(body):
    reply = VendorReply(500, body)
    assert slack_words(reply) == hipchat_words(reply) == flowdock_words(reply) == campfire_words(reply) == ""
    with pytest.raises(TransientDeliveryError) as err:
        raise_for_reply("slack", reply, slack_words(reply))
    assert err.value.message == "slack answered 500"


@pytest.mark.parametrize(("words_of", "body", "words"), [
    (slack_words, "invalid_token", "invalid_token"),
    (slack_words, "channel_not_found\n", "channel_not_found"),
    (slack_words, "Invalid token", ""),
    (hipchat_words, '{"error": {"code": 404, "message": "Room not found", "type": "Not Found"}}', "Room not found"),
    (hipchat_words, '{"error": "flat"}', ""),
    (flowdock_words, '{"message": "Flow not found"}', "Flow not found"),
    (flowdock_words, '{"message": ["not", "a", "string"]}', ""),
    (campfire_words, "HTTP Basic: Access denied.\n", "HTTP Basic: Access denied."),
    (campfire_words, '{"errors": ["Body can\'t be blank"]}', "Body can't be blank"),
    (campfire_words, "Not Found", ""),
])
def test_each_vendors_documented_error_words(words_of, body, words):
    assert words_of(VendorReply(400, body)) == words


def test_peer_words_lose_control_characters():
    with pytest.raises(PermanentDeliveryError) as err:
        raise_for_reply("hipchat", VendorReply(400, ""), "bad\x1b[31m\x00room\u2028")
    assert err.value.message == "hipchat answered 400: bad [31m room"
