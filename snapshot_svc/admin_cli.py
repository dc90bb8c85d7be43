"""`chartsnap` — administration commands.

    chartsnap db upgrade            migrate the database to this version's schema
    chartsnap db current            print the database's schema revision and the head
    chartsnap user add EMAIL [--name "Full Name"]

`user add` prints the new account's API token alone on the last line of
stdout. The commands work on the snapshot service's database directly (the
snapshot service owns it, so its admin tool lives here), using the same
CHARTSNAP_* settings. Installed as the `chartsnap` console script."""

from __future__ import annotations

import argparse
import sys

from chartsnap import errors
from chartsnap.settings import SettingsError
from snapshot_svc import schema
from snapshot_svc.accounts import AccountStore
from snapshot_svc.database import make_engine
from snapshot_svc.settings import SnapshotSettings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chartsnap")
    sub = parser.add_subparsers(dest="command", required=True)
    db = sub.add_parser("db", help="the database schema").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply every migration not yet applied (safe to run again)")
    db.add_parser("current", help="print the database's schema revision and this version's head")
    user = sub.add_parser("user", help="manage accounts").add_subparsers(dest="action", required=True)
    add = user.add_parser("add", help="create an account and print its API token")
    add.add_argument("email")
    add.add_argument("--name", default="", help="full name shown as the sender of snapshots")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = SnapshotSettings.from_env()
    except SettingsError as exc:
        print(f"chartsnap: {exc}", file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url, settings.pool)
    try:
        if args.command == "db":
            return _db(args.action, engine)
        schema.require_current(engine)
        account, token = AccountStore(engine).create(args.email, args.name)
    except schema.SchemaNotCurrent as exc:
        print(f"chartsnap: {exc}", file=sys.stderr)
        return 1
    except errors.ChartsnapError as exc:
        print(f"chartsnap: {exc.message}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"created account {account.email} (id {account.id}); its API token:")
    print(token)
    return 0


def _db(action: str, engine) -> int:  # noqa: ANN001 - a SQLAlchemy Engine
    if action == "current":
        print(f"database: {schema.current(engine) or '(none)'}  head: {schema.head()}")
        return 0
    before, after = schema.upgrade(engine)
    print(f"database schema: {before or '(none)'} -> {after}" if before != after
          else f"database schema: already at {after}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
