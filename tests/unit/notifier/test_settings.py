"""NotifierSettings from CHARTSNAP_* variables: defaults, parsing, fail-fast."""

from __future__ import annotations

import pytest

from chartsnap.settings import SettingsError
from notifier_svc.settings import NotifierSettings


def test_defaults():
    s = NotifierSettings.from_env({})
    assert s.health_addr == "127.0.0.1:50053"
    assert s.s3.bucket == "chartsnap"
    assert s.concurrency == 16
    assert (s.smtp.host, s.smtp.port, s.smtp.user, s.smtp.starttls) == ("127.0.0.1", 2525, "", False)
    assert s.smtp.sender == "chartsnap <snapshots@chartsnap.local>"
    assert s.smtp.envelope_sender == "snapshots@chartsnap.local"
    assert (s.retry.max_attempts, s.retry.max_total_seconds, s.retry.base_backoff) == (None, 60.0, 0.5), \
        "no count cap by default: the time budget decides"
    assert s.outbound.allow == (), "nothing beyond public addresses by default"
    assert (s.timeouts.connect, s.timeouts.read, s.timeouts.total) == (2.0, 6.0, 20.0)


def test_values_are_read():
    s = NotifierSettings.from_env({
        "CHARTSNAP_NATS_URL": "nats://nats:4222", "CHARTSNAP_NOTIFIER_HEALTH_ADDR": "0.0.0.0:9",
        "CHARTSNAP_NOTIFIER_CONCURRENCY": "4", "CHARTSNAP_SMTP_HOST": "mail.example.com",
        "CHARTSNAP_SMTP_PORT": "587", "CHARTSNAP_SMTP_USER": "bot", "CHARTSNAP_SMTP_PASSWORD": "pw",
        "CHARTSNAP_SMTP_STARTTLS": "true", "CHARTSNAP_SMTP_FROM": "Charts <charts@example.com>",
        "CHARTSNAP_NOTIFY_MAX_ATTEMPTS": "3", "CHARTSNAP_NOTIFY_MAX_TOTAL_SECONDS": "10",
        "CHARTSNAP_NOTIFY_BASE_BACKOFF": "0.1",
    })
    assert s.nats.servers == ("nats://nats:4222",) and s.health_addr == "0.0.0.0:9" and s.concurrency == 4
    assert (s.smtp.host, s.smtp.port, s.smtp.user, s.smtp.password, s.smtp.starttls) == (
        "mail.example.com", 587, "bot", "pw", True)
    assert s.smtp.envelope_sender == "charts@example.com"
    assert (s.retry.max_attempts, s.retry.max_total_seconds, s.retry.base_backoff) == (3, 10.0, 0.1)


def test_every_bad_value_is_reported_at_once():
    with pytest.raises(SettingsError) as err:
        NotifierSettings.from_env({
            "CHARTSNAP_NOTIFIER_CONCURRENCY": "0", "CHARTSNAP_SMTP_PORT": "smtp",
            "CHARTSNAP_OUTBOUND_ALLOW": "127.0.0.1:99999", "CHARTSNAP_NOTIFY_BASE_BACKOFF": "0",
            "CHARTSNAP_SMTP_STARTTLS": "maybe", "CHARTSNAP_SMTP_FROM": "nobody",
            "CHARTSNAP_NOTIFY_MAX_ATTEMPTS": "-1",
            "CHARTSNAP_NOTIFIER_HEALTH_ADDR": "nowhere", "CHARTSNAP_SMTP_USER": "bot",
            "CHARTSNAP_SMTP_CA_FILE": "/no/such/ca.pem",
        })
    text = str(err.value)
    for name in ("NOTIFIER_CONCURRENCY", "SMTP_PORT", "SMTP_STARTTLS", "SMTP_FROM", "NOTIFY_MAX_ATTEMPTS",
                 "NOTIFY_BASE_BACKOFF", "NOTIFIER_HEALTH_ADDR", "SMTP_PASSWORD", "SMTP_CA_FILE",
                 "OUTBOUND_ALLOW"):
        assert f"CHARTSNAP_{name}" in text


def test_secrets_stay_out_of_repr():
    s = NotifierSettings.from_env({"CHARTSNAP_SMTP_USER": "bot", "CHARTSNAP_SMTP_PASSWORD": "hunter2-secret",
                                   "CHARTSNAP_S3_SECRET_KEY": "s3-very-secret"})
    assert "hunter2-secret" not in repr(s) and "s3-very-secret" not in repr(s)


def test_outbound_allow_list_is_read():
    s = NotifierSettings.from_env({"CHARTSNAP_OUTBOUND_ALLOW": " chat.corp.example:8443, 10.1.0.0/16 ,[::1]:8091"})
    assert len(s.outbound.allow) == 3
    assert s.outbound.allow[0].name == "chat.corp.example" and s.outbound.allow[0].port == 8443


def test_an_attempt_cap_is_optional():
    assert NotifierSettings.from_env({"CHARTSNAP_NOTIFY_MAX_ATTEMPTS": "7"}).retry.max_attempts == 7
    assert NotifierSettings.from_env({"CHARTSNAP_NOTIFY_MAX_ATTEMPTS": "0"}).retry.max_attempts is None
