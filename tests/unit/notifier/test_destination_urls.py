"""Where each type sends: defaults, `server_url` overrides, journal keys."""

from __future__ import annotations

import pytest

from notifier_svc.delivery_journal import DeliveryRecord
from notifier_svc.delivery_ledger import ledger_key
from notifier_svc.slack_notifier import webhook_target

HOOK = "https://hooks.slack.com/services/T1/B2/secret"


def test_slack_posts_to_the_webhook_itself_by_default():
    assert webhook_target(HOOK) == HOOK


@pytest.mark.parametrize(("server_url", "expected"), [
    ("http://127.0.0.1:8091", "http://127.0.0.1:8091/services/T1/B2/secret"),
    ("http://proxy.internal/slack/", "http://proxy.internal/slack/services/T1/B2/secret"),
])
def test_slack_server_url_replaces_scheme_and_host(server_url, expected):
    assert webhook_target(HOOK, server_url) == expected


@pytest.mark.parametrize(("delivery_id", "key"), [("12:34", "12.34"), ("12:svc-a_b", "12.svc-a_b")])
def test_ledger_keys(delivery_id, key):
    assert ledger_key(delivery_id) == key


def test_ledger_key_of_an_odd_id_is_a_hash():
    key = ledger_key("12:svc with spaces/ü")
    assert key.startswith("h.") and len(key) == 66
    assert key != ledger_key("12:svc with spaces/u")


def test_record_round_trip():
    record = DeliveryRecord("waiting", 2, 1.5, 2.5, not_before=3.5, error="busy", steps_done=("text",))
    assert DeliveryRecord.from_bytes(record.to_bytes()) == record
