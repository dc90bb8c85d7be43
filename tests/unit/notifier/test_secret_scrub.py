"""Secrets are replaced wherever they appear: whole, URL-quoted, as a URL path."""

from __future__ import annotations

import pytest

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


TOKEN = "cAmpf1reT0ken-0123456789abcdef"


def _every_form(secret: str) -> dict[str, str]:
    import base64
    import json
    from urllib.parse import quote, quote_plus

    b64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
    return {
        "raw": secret,
        "basic token:X": b64(f"{secret}:X"),
        "basic header": f"Authorization: Basic {b64(f'{secret}:X')}",
        "urlsafe base64": base64.urlsafe_b64encode(f"{secret}:X".encode()).decode().rstrip("="),
        "base64 inside a larger blob": b64(f'{{"user": "{secret}", "x": 1}}'),
        "base64 after 1 byte": b64(f"a{secret}"),
        "base64 after 2 bytes": b64(f"ab{secret}"),
        "percent": quote(f"/{secret}/", safe=""),
        "percent lower": quote(f"/{secret}/", safe="").lower(),
        "plus": quote_plus(f"{secret} x"),
        "json": json.dumps({"token": secret}),
        "upper case": secret.upper(),
    }


@pytest.mark.parametrize("form", list(_every_form(TOKEN)))
def test_a_token_is_caught_in_every_form_a_peer_may_echo(form):
    text = f"campfire answered 401: {_every_form(TOKEN)[form]}"
    scrubbed = Scrubber([TOKEN], [(TOKEN, "X")])(text)
    assert REDACTED in scrubbed
    for name, value in _every_form(TOKEN).items():
        assert value not in scrubbed, f"the {name} form survived"
    assert "cAmpf1reT0ken" not in scrubbed


def test_smtp_auth_plain_and_basic_user_password():
    import base64

    scrub = Scrubber([], [("mailer", "s3cret-Pa55word")])
    for blob in (b"\0mailer\0s3cret-Pa55word", b"mailer:s3cret-Pa55word"):
        encoded = base64.b64encode(blob).decode()
        assert scrub(f"535 bad {encoded}") == f"535 bad {REDACTED}"


def test_json_escaped_url():
    import json

    url = "https://hooks.example.com/services/T1/B2/s3cr3t/Path"
    assert "s3cr3t" not in Scrubber([url])(json.dumps({"url": url}, ensure_ascii=True).replace("/", "\\/"))


def test_ordinary_text_is_left_alone():
    scrub = Scrubber([TOKEN], [(TOKEN, "X")])
    text = "campfire answered 503; gave up after 9 attempts within 60 s"
    assert scrub(text) == text
