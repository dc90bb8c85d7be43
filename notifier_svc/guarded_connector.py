"""The aiohttp adapter of `outbound_policy`: a connector that checks every
address it is about to connect to.

aiohttp turns a URL host into the addresses it connects to in one place,
`TCPConnector._resolve_host` (IP literals there skip the resolver, so a
custom resolver alone would miss them). The override below resolves as
aiohttp does, then keeps only the addresses the policy allows; those are
exactly the ones aiohttp connects to, so a DNS answer cannot change between
the check and the connection (no rebinding window). Redirects are never
followed (`allow_redirects=False` in vendor_http), so there is no second hop
to check."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import aiohttp

from notifier_svc.outbound_policy import OutboundPolicy, literal_address


class DestinationRefused(OSError):
    """Every address of the destination is outside the policy; `reason`
    names the range (e.g. "loopback")."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the destination address is not allowed ({reason})")
        self.reason = reason


class GuardedConnector(aiohttp.TCPConnector):
    def __init__(self, policy: OutboundPolicy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.policy = policy

    async def _resolve_host(self, host: str, port: int, traces: Any = None) -> list[Any]:
        literal = literal_address(host)
        if literal is not None:
            # Spelled as an address (in any form the C library accepts): no
            # DNS, and the canonical address is what we connect to.
            reason = self.policy.refusal(host, port, literal)
            if reason is not None:
                raise DestinationRefused(reason)
            family = socket.AF_INET if literal.version == 4 else socket.AF_INET6
            return [{"hostname": host, "host": str(literal), "port": port, "family": family,
                     "proto": 0, "flags": socket.AI_NUMERICHOST}]
        resolved = await super()._resolve_host(host, port, traces=traces)
        allowed, reasons = [], []
        for entry in resolved:
            try:
                address = ipaddress.ip_address(str(entry["host"]).split("%", 1)[0])
            except ValueError:
                reasons.append("not an address")
                continue
            reason = self.policy.refusal(host, port, address)
            if reason is None:
                allowed.append(entry)
            else:
                reasons.append(reason)
        if not allowed:
            raise DestinationRefused(reasons[0] if reasons else "no address")
        return allowed
