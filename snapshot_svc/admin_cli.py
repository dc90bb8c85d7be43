"""`chartsnap user …` and `chartsnap db …` — the administration commands.

    chartsnap db upgrade                  migrate the database to this version's schema
    chartsnap db current                  print the database's schema revision and the head
    chartsnap user add EMAIL [--name "Full Name"] [--quiet]
    chartsnap user list [--json]
    chartsnap user rotate-token EMAIL [--quiet]
    chartsnap user disable EMAIL [--quiet]

`user add` and `user rotate-token` print the account's API token alone on the
last line of stdout (`--quiet`: nothing else). After `rotate-token` or
`disable` the old token is refused by every snapshot service once its cache
of recently checked credentials lets go of it (snapshot_svc.grpc_api's
Authenticator.TTL, 10 s). The commands work on the
snapshot service's database directly (the snapshot service owns it, so its
admin tool lives here), using the same CHARTSNAP_* settings. The `chartsnap`
console script (chartsnap_cli) hands these two commands to `main` here.

Exit codes are those of chartsnap_cli.exit_codes: 0 done, 1 refused (no such
account, one that exists already, a schema not current), 2 usage or settings,
3 the database cannot be reached."""

from __future__ import annotations

import argparse
import json
import sys
import time

from sqlalchemy.exc import OperationalError

from chartsnap import errors
from chartsnap.settings import SettingsError
from snapshot_svc import schema
from snapshot_svc.accounts import AccountEntry, AccountStore
from snapshot_svc.database import make_engine
from snapshot_svc.settings import SnapshotSettings

# The same numbers as chartsnap_cli.exit_codes (tests/unit/test_cli.py
# holds them equal); not imported, so that the service needs nothing of the client.
OK, REFUSED, USAGE, UNREACHABLE = 0, 1, 2, 3


def parser(prog: str = "chartsnap") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Administration: accounts and the database schema, "
                                     "on the snapshot service's database (its CHARTSNAP_* settings).")
    sub = parser.add_subparsers(dest="command", required=True)
    add_commands(sub)
    return parser


def add_commands(sub: "argparse._SubParsersAction") -> None:
    """The `db` and `user` commands, under any parser's subcommands."""
    db = sub.add_parser("db", help="the database schema (admin)").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply every migration not yet applied (safe to run again)")
    db.add_parser("current", help="print the database's schema revision and this version's head")
    user = sub.add_parser("user", help="manage accounts (admin)").add_subparsers(dest="action", required=True)
    add = user.add_parser("add", help="create an account and print its API token")
    add.add_argument("email")
    add.add_argument("--name", default="", help="full name shown as the sender of snapshots")
    add.add_argument("--quiet", "-q", action="store_true", help="print the token only")
    listing = user.add_parser("list", help="every account: id, e-mail, name, created, disabled")
    listing.add_argument("--json", action="store_true", help="a JSON array instead of a table")
    rotate = user.add_parser("rotate-token", help="give the account a new API token (the old one is refused)")
    rotate.add_argument("email")
    rotate.add_argument("--quiet", "-q", action="store_true", help="print the token only")
    disable = user.add_parser("disable", help="refuse the account's token from now on (its data stays)")
    disable.add_argument("email")
    disable.add_argument("--quiet", "-q", action="store_true", help="print nothing")


def main(argv: list[str] | None = None) -> int:
    return run(parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    try:
        settings = SnapshotSettings.from_env()
    except SettingsError as exc:
        print(f"chartsnap: {exc}", file=sys.stderr)
        return USAGE
    engine = make_engine(settings.database_url, settings.pool)
    try:
        if args.command == "db":
            return _db(args.action, engine)
        schema.require_current(engine)
        return _user(args, AccountStore(engine))
    except schema.SchemaNotCurrent as exc:
        print(f"chartsnap: {exc}", file=sys.stderr)
        return REFUSED
    except errors.ChartsnapError as exc:
        print(f"chartsnap: {exc.message}", file=sys.stderr)
        return REFUSED
    except OperationalError as exc:
        # The driver's first line names the cause (refused, no such file, bad password), not the password.
        print(f"chartsnap: cannot reach the database: {str(exc.orig).splitlines()[0]}", file=sys.stderr)
        return UNREACHABLE
    finally:
        engine.dispose()


def _user(args: argparse.Namespace, store: AccountStore) -> int:
    if args.action == "add":
        account, token = store.create(args.email, args.name)
        if not args.quiet:
            print(f"created account {account.email} (id {account.id}); its API token:")
        print(token)
    elif args.action == "rotate-token":
        account, token = store.rotate_token(args.email)
        if not args.quiet:
            print(f"new API token of {account.email} (id {account.id}); the old one is refused:")
        print(token)
    elif args.action == "disable":
        entry = store.disable(args.email)
        if not args.quiet:
            print(f"disabled account {entry.email} (id {entry.id}) since {_utc(entry.disabled_at)}; "
                  "its token is refused")
    else:
        entries = store.entries()
        print(json.dumps([_as_json(e) for e in entries], indent=2) if args.json else _table(entries))
    return OK


def _as_json(entry: AccountEntry) -> dict:
    return {"id": entry.id, "email": entry.email, "name": entry.full_name, "created_at": _utc(entry.created_at),
            "disabled_at": _utc(entry.disabled_at) if entry.disabled_at is not None else None}


def _table(entries: list[AccountEntry]) -> str:
    rows = [("ID", "EMAIL", "NAME", "CREATED", "DISABLED")] + [
        (str(e.id), e.email, e.full_name, _utc(e.created_at), _utc(e.disabled_at) if e.disabled_at else "-")
        for e in entries]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def _utc(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _db(action: str, engine) -> int:  # noqa: ANN001 - a SQLAlchemy Engine
    if action == "current":
        print(f"database: {schema.current(engine) or '(none)'}  head: {schema.head()}")
        return OK
    before, after = schema.upgrade(engine)
    print(f"database schema: {before or '(none)'} -> {after}" if before != after
          else f"database schema: already at {after}")
    return OK


if __name__ == "__main__":
    sys.exit(main())
