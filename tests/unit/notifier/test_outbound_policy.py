"""Which addresses the notifier may send to: every internal range refused by
default, in every spelling of an address, and the operator's allow-list."""

from __future__ import annotations

import ipaddress

import pytest

from notifier_svc.outbound_policy import OutboundPolicy, denied_reason, literal_address

DEFAULT = OutboundPolicy()


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "loopback"), ("127.255.1.2", "loopback"), ("::1", "loopback"),
    ("169.254.169.254", "metadata"), ("fd00:ec2::254", "metadata"),
    ("169.254.1.1", "link-local"), ("fe80::1", "link-local"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("172.31.255.255", "private"),
    ("192.168.1.1", "private"), ("fc00::1", "private"), ("fd12:3456::1", "private"),
    ("100.64.0.1", "private"), ("100.127.255.255", "private"),
    ("0.0.0.0", "unspecified"), ("0.1.2.3", "unspecified"), ("::", "unspecified"),
    ("224.0.0.1", "multicast"), ("239.1.1.1", "multicast"), ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"), ("255.255.255.255", "reserved"), ("192.0.2.1", "reserved"),
    ("2001:db8::1", "reserved"),
    # IPv6 forms that carry an internal IPv4 address
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "metadata"), ("::ffff:10.0.0.1", "private"),
    ("64:ff9b::a00:1", "private"), ("2002:7f00:1::", "loopback"), ("::127.0.0.1", "loopback"),
])
def test_internal_addresses_are_refused_by_default(address, reason):
    assert denied_reason(ipaddress.ip_address(address)) == reason
    assert DEFAULT.refusal("x", 443, ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert DEFAULT.refusal("chat.example.com", 443, ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("spelling", ["127.0.0.1", "127.1", "0177.0.0.1", "0x7f.0.0.1", "0x7f000001",
                                      "2130706433", "017700000001", "127.0.1", "[::ffff:127.0.0.1]",
                                      "::ffff:7f00:1", "127.0.0.1."])
def test_every_spelling_of_loopback_is_the_same_address(spelling):
    assert literal_address(spelling) == ipaddress.IPv4Address("127.0.0.1")


@pytest.mark.parametrize("name", ["localhost", "hooks.slack.com", "2130706433.example", "0x7g.0.0.1"])
def test_names_are_not_addresses(name):
    assert literal_address(name) is None


def test_allow_list_entries():
    policy = OutboundPolicy.parse("chat.corp.example, 127.0.0.1:8091, 10.20.0.0/16, [::1]:9000, fd00::/8")
    loopback, ten = ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("10.20.3.4")
    assert policy.refusal("127.0.0.1", 8091, loopback) is None
    assert policy.refusal("127.1", 8091, loopback) is None, "the address, however it is spelled"
    assert policy.refusal("127.0.0.1", 8092, loopback) == "loopback", "another port of an allowed address"
    assert policy.refusal("x", 1, ten) is None and policy.refusal("x", 1, ipaddress.ip_address("10.21.0.1")) == "private"
    assert policy.refusal("x", 9000, ipaddress.ip_address("::1")) is None
    assert policy.refusal("x", 9001, ipaddress.ip_address("::1")) == "loopback"
    assert policy.refusal("x", 1, ipaddress.ip_address("fd00::5")) is None
    # A name entry trusts what the name resolves to, on any port (no port given).
    assert policy.refusal("Chat.Corp.Example.", 8443, ipaddress.ip_address("192.168.7.7")) is None
    assert policy.refusal("other.corp.example", 8443, ipaddress.ip_address("192.168.7.7")) == "private"


def test_mapped_entries_match_their_ipv4_address():
    policy = OutboundPolicy.parse("::ffff:10.0.0.0/104")
    assert policy.refusal("x", 1, ipaddress.ip_address("10.9.9.9")) is None
    assert policy.refusal("x", 1, ipaddress.ip_address("::ffff:10.9.9.9")) is None


@pytest.mark.parametrize("bad", ["127.0.0.1:0", "host:99999", "host:http", "bad_name!", "10.0.0.0/33", "[::1]x"])
def test_bad_entries_are_refused(bad):
    with pytest.raises(ValueError):
        OutboundPolicy.parse(bad)


def test_an_empty_allow_list_allows_nothing_more():
    assert OutboundPolicy.parse(" , ").allow == ()
