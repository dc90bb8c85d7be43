"""Secrets are replaced wherever they appear: whole, URL-quoted, as a URL path."""

from __future__ import annotations

from notifier_svc.secret_scrub import REDACTED, Scrubber


def test_token_is_replaced():
    assert Scrubber(["abcd1234token"])("bad token abcd1234token!") == f"bad token {REDACTED}!"


def test_webhook_url_its_path_and_its_secret_segment():
    url = "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX"
    scrub = Scrubber([url])
    assert scrub(f"POST {url} failed") == f"POST {REDACTED} failed"
    assert scrub("path /services/T000/B000/XXXXsecretXXXX") == f"path {REDACTED}"
    assert "XXXXsecretXXXX" not in scrub("the secret is XXXXsecretXXXX")
    assert scrub("hooks.slack.com answered 404") == "hooks.slack.com answered 404", "the host is no secret"


def test_quoted_form_and_short_values():
    scrub = Scrubber(["a b/c+token", "x", ""])
    assert scrub("a%20b%2Fc%2Btoken") == REDACTED
    assert scrub("x marks the spot") == "x marks the spot", "too short to be worth hunting"
