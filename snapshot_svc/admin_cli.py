"""`chartsnap` — administration commands.

    chartsnap user add EMAIL [--name "Full Name"]

prints the new account's API token alone on the last line of stdout. The
command writes to the snapshot service's database directly (the snapshot
service owns the accounts table, so its admin tool lives here), using the
same CHARTSNAP_* settings. Installed as the `chartsnap` console script."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from chartsnap import errors
from chartsnap.settings import SettingsError
from snapshot_svc.accounts import AccountStore
from snapshot_svc.database import make_engine
from snapshot_svc.settings import SnapshotSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chartsnap")
    sub = parser.add_subparsers(dest="command", required=True)
    user = sub.add_parser("user", help="manage accounts").add_subparsers(dest="action", required=True)
    add = user.add_parser("add", help="create an account and print its API token")
    add.add_argument("email")
    add.add_argument("--name", default="", help="full name shown as the sender of snapshots")
    args = parser.parse_args(argv)
    try:
        settings = SnapshotSettings.from_env()
    except SettingsError as exc:
        print(f"chartsnap: {exc}", file=sys.stderr)
        return 2
    if settings.database_url.startswith("sqlite:///"):
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    store = AccountStore(make_engine(settings.database_url))
    try:
        account, token = store.create(args.email, args.name)
    except errors.ChartsnapError as exc:
        print(f"chartsnap: {exc.message}", file=sys.stderr)
        return 1
    print(f"created account {account.email} (id {account.id}); its API token:")
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
