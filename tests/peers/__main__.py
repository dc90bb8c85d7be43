"""`python -m tests.peers` (from the repo root): every vendor peer at once, in
the foreground, on fixed ports, for a manual check with `make run`.

Prints the CHARTSNAP_SMTP_* variables for the notifier and, per chat type,
the `POST /v1/services` body that points a service at its peer. Each
accepted message is logged; `GET <server_url>/_peer/messages` on an HTTP
peer lists what it holds. Ctrl-C stops everything."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shlex
import signal

from tests.peers.campfire import CampfirePeer
from tests.peers.flowdock import FlowdockPeer
from tests.peers.hipchat import HipChatPeer
from tests.peers.slack import SlackPeer
from tests.peers.smtp import SmtpPeer

# Fixed credentials, so services created once keep working across restarts.
SLACK_SECRET = "local0slack0webhook0secret"
HIPCHAT_TOKEN = "local0hipchat0token"
FLOWDOCK_TOKEN = "local0flowdock0token"
CAMPFIRE_TOKEN = "local0campfire0token"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.peers", description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--smtp-port", type=int, default=2525)
    p.add_argument("--slack-port", type=int, default=8091)
    p.add_argument("--hipchat-port", type=int, default=8092)
    p.add_argument("--flowdock-port", type=int, default=8093)
    p.add_argument("--campfire-port", type=int, default=8094)
    p.add_argument("--smtp-starttls", action="store_true", help="offer and require STARTTLS (self-signed)")
    p.add_argument("--smtp-user", help="require AUTH as this user")
    p.add_argument("--smtp-password", help="the AUTH password (default: random, printed)")
    return p.parse_args()


async def main(args: argparse.Namespace) -> None:
    smtp = SmtpPeer(args.host, args.smtp_port, starttls=args.smtp_starttls, user=args.smtp_user,
                    password=args.smtp_password)
    chats = [
        SlackPeer(args.host, args.slack_port, secret=SLACK_SECRET),
        HipChatPeer(args.host, args.hipchat_port, token=HIPCHAT_TOKEN),
        FlowdockPeer(args.host, args.flowdock_port, token=FLOWDOCK_TOKEN),
        CampfirePeer(args.host, args.campfire_port, token=CAMPFIRE_TOKEN),
    ]
    started = []
    try:
        for peer in (smtp, *chats):
            await peer.start()
            started.append(peer)
        print("peers ready. For the notifier (before `make run`):", flush=True)
        for name, value in smtp.env().items():
            print(f"  export {name}={shlex.quote(value)}")
        allow = ",".join(f"{p.host}:{p.port}" for p in chats)   # the notifier refuses loopback otherwise
        print(f"  export CHARTSNAP_OUTBOUND_ALLOW={shlex.quote(allow)}")
        print("Services (POST /v1/services):")
        print(f"  mail      {json.dumps({'title': 'peer mail', 'type': 'mail', 'settings': {'addresses': 'ops@example.com'}})}")
        for peer in chats:
            body = {"title": f"peer {peer.name}", "type": peer.name, "settings": peer.settings()}
            print(f"  {peer.name:<9} {json.dumps(body)}")
        print("What each peer holds: GET <server_url>/_peer/messages. Ctrl-C stops.", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        for peer in reversed(started):
            await peer.stop()
        counts = ", ".join(f"{p.name} {len(p.messages)}" for p in started)
        print(f"\nstopped; messages received: {counts}", flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)   # aiosmtpd's per-command chatter
    asyncio.run(main(parse_args()))
