"""Which network destinations the notifier may send to.

A service's `url` / `server_url` is chosen by any account, so by default
only public addresses are allowed: loopback, link-local, private (RFC 1918,
IPv6 unique-local, CGNAT 100.64/10), unspecified, multicast, cloud metadata
and every other non-global range are refused. The operator opens on-premises
chat servers with CHARTSNAP_OUTBOUND_ALLOW (comma-separated `host[:port]`,
IP[:port] or CIDR entries).

The rule is applied to the address actually connected to (see
`guarded_connector`), never to the URL's spelling: `127.1`, `0177.0.0.1`,
`2130706433`, `0x7f000001` and `::ffff:127.0.0.1` are all 127.0.0.1 here.
Pure: no sockets are opened."""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# (reason, ranges), checked in this order: the first match names the refusal.
DENIED_RANGES: tuple[tuple[str, tuple[IPNetwork, ...]], ...] = tuple(
    (reason, tuple(ipaddress.ip_network(n) for n in nets)) for reason, nets in (
        ("metadata", ("169.254.169.254/32", "fd00:ec2::254/128", "100.100.100.200/32")),
        ("unspecified", ("0.0.0.0/8", "::/128")),
        ("loopback", ("127.0.0.0/8", "::1/128")),
        ("link-local", ("169.254.0.0/16", "fe80::/10")),
        ("private", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")),
        ("multicast", ("224.0.0.0/4", "ff00::/8")),
    ))
NOT_GLOBAL = "reserved"   # anything else outside the public internet (240/4, 2001:db8::/32, …)

# IPv6 prefixes that carry an IPv4 address in their low 32 bits: NAT64 and
# the deprecated IPv4-compatible form. (Mapped ::ffff:a.b.c.d and 6to4 are
# read by ipaddress itself.)
_EMBEDDING_V4 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("::/96"))
_LEGACY_V4 = re.compile(r"^(0[xX][0-9a-fA-F]+|[0-9]+)(\.(0[xX][0-9a-fA-F]+|[0-9]+)){0,3}$")
_HOST_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")


def canonical(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one stands for, when it embeds one."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        for prefix in _EMBEDDING_V4:
            if address in prefix and int(address) > 1:   # :: and ::1 are IPv6's own
                return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return address


def literal_address(host: str) -> IPAddress | None:
    """The address a URL host spells directly, in any form the C library
    accepts (dotted quad, `127.1`, octal, hex, a 32-bit number, IPv6 with
    or without brackets); None for a name that needs DNS."""
    host = host.strip().strip("[]").rstrip(".")
    try:
        return canonical(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        pass
    if _LEGACY_V4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def denied_reason(address: IPAddress) -> str | None:
    """Why this address is refused by default, or None when it is public."""
    address = canonical(address)
    for reason, networks in DENIED_RANGES:
        if any(address in net for net in networks if net.version == address.version):
            return reason
    return None if address.is_global else NOT_GLOBAL


@dataclass(frozen=True)
class AllowEntry:
    """One CHARTSNAP_OUTBOUND_ALLOW entry: a network (any port), or an
    address or host name with an optional port."""

    network: IPNetwork | None = None
    address: IPAddress | None = None
    name: str = ""
    port: int | None = None

    def matches(self, host: str, port: int, address: IPAddress) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return address.version == self.network.version and address in self.network
        if self.address is not None:
            return address == self.address
        return normal_host(host) == self.name


def normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def parse_allow_entry(text: str) -> AllowEntry:
    """`10.0.0.0/8`, `fd00::/8`, `192.168.1.5`, `[::1]:8091`, `127.0.0.1:8091`,
    `chat.corp.example`, `chat.corp.example:8443`; ValueError otherwise."""
    entry = text.strip()
    if "/" in entry:
        network = ipaddress.ip_network(entry, strict=False)
        mapped = canonical(network.network_address)
        if mapped.version != network.version:  # ::ffff:10.0.0.0/104 → 10.0.0.0/8
            network = ipaddress.ip_network(f"{mapped}/{max(0, network.prefixlen - 96)}", strict=False)
        return AllowEntry(network=network)
    host, port = entry, None
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{text!r} is not host[:port]")
            port = _port(rest[1:], text)
    elif entry.count(":") == 1:
        host, _, raw_port = entry.partition(":")
        port = _port(raw_port, text)
    address = literal_address(host) if host else None
    if address is not None:
        return AllowEntry(address=address, port=port)
    name = normal_host(host)
    if not _HOST_NAME.match(name):
        raise ValueError(f"{text!r} is not a host name, an address or a CIDR network")
    return AllowEntry(name=name, port=port)


def _port(raw: str, text: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ValueError(f"{text!r} has no valid port")
    return int(raw)


@dataclass(frozen=True)
class OutboundPolicy:
    allow: tuple[AllowEntry, ...] = ()

    @classmethod
    def parse(cls, text: str) -> "OutboundPolicy":
        """The policy of a CHARTSNAP_OUTBOUND_ALLOW value; ValueError naming
        the first bad entry."""
        return cls(tuple(parse_allow_entry(piece) for piece in text.split(",") if piece.strip()))

    def refusal(self, host: str, port: int, address: IPAddress) -> str | None:
        """None when (host, port) may be reached at `address`; otherwise the
        reason, e.g. "loopback"."""
        address = canonical(address)
        reason = denied_reason(address)
        if reason is None:
            return None
        if any(entry.matches(host, port, address) for entry in self.allow):
            return None
        return reason
