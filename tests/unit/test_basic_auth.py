"""chartsnap.basic_auth: HTTP Basic credentials."""

from __future__ import annotations

import base64

import pytest

from chartsnap.basic_auth import basic_header, parse_basic


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_round_trip():
    assert parse_basic(basic_header("alice@example.com", "s3cret")) == ("alice@example.com", "s3cret")


def test_header_format():
    assert basic_header("u", "p") == "Basic dTpw"


@pytest.mark.parametrize("header", ["basic " + _b64(b"u:p"), "BASIC " + _b64(b"u:p"), "  Basic  " + _b64(b"u:p") + " "])
def test_scheme_is_case_insensitive_and_whitespace_tolerated(header):
    assert parse_basic(header) == ("u", "p")


def test_password_may_contain_colons():
    assert parse_basic("Basic " + _b64(b"u:pa:ss:")) == ("u", "pa:ss:")


def test_utf8_credentials():
    assert parse_basic(basic_header("jürgen@example.com", "pässwörd")) == ("jürgen@example.com", "pässwörd")


@pytest.mark.parametrize("header", [
    None, "", "   ",
    "Basic", "Basic ", "Basic    ",
    "Bearer " + _b64(b"u:p"),
    "Digest username=u",
    "Basic !!!not-base64!!!",
    "Basic " + _b64(b"u:p")[:-1],          # bad padding
    "Basic " + _b64(b"u:p") + "@",          # trailing junk
    "Basic " + _b64(b"nocolon"),            # missing colon
    "Basic " + _b64(b"user:"),              # empty password
    "Basic " + _b64(b":password"),          # empty user
    "Basic " + _b64(b":"),
    "Basic " + _b64(b"\xff\xfe:\xff"),      # not UTF-8
])
def test_malformed_headers_give_none(header):
    assert parse_basic(header) is None
