"""`chartsnap user …` and `chartsnap db …` on a real database (SQLite and
PostgreSQL): the real console script as a subprocess, and the account store
under it (list, rotate a token, disable; authentication refuses a disabled
account). Through the gateway, the same is tests/e2e/test_cli.py."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from chartsnap import errors
from chartsnap_cli import exit_codes
from snapshot_svc.accounts import AccountStore
from snapshot_svc.tables import accounts
from tests.conftest import repo_root
from tests.databases import migrated_engine

pytestmark = [pytest.mark.timeout(180)]

CHARTSNAP = repo_root() / ".venv" / "bin" / "chartsnap"
TOKEN = re.compile(r"[0-9a-f]{64}")
CLI_TIMEOUT_S = 60  # one command: start-up, a migration or a few statements


def chartsnap(database_url: str, data_dir: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTSNAP_")}
    env.update(CHARTSNAP_DATABASE_URL=database_url, CHARTSNAP_DATA_DIR=str(data_dir))
    return subprocess.run([str(CHARTSNAP), *argv], env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT_S)


@pytest.fixture
def store(database_url: str):  # noqa: ANN201
    engine = migrated_engine(database_url)
    yield AccountStore(engine)
    engine.dispose()


# -- the store ----------------------------------------------------------------------

def test_rotate_token_refuses_the_old_token(store: AccountStore) -> None:
    account, old = store.create("Rota@Example.com", "Rota")
    same, new = store.rotate_token(" ROTA@example.com ")
    assert same == account and TOKEN.fullmatch(new) and new != old
    assert store.authenticate("rota@example.com", new) == account
    with pytest.raises(errors.Unauthenticated, match="Authorization failed"):
        store.authenticate("rota@example.com", old)
    with pytest.raises(errors.NotFound, match="no account for nobody@example.com"):
        store.rotate_token("nobody@example.com")


def test_disable_refuses_the_token_in_the_words_of_a_wrong_one(store: AccountStore) -> None:
    account, token = store.create("off@example.com")
    other, other_token = store.create("on@example.com")
    entry = store.disable("OFF@example.com", now=1_800_000_000.0)
    assert (entry.id, entry.email, entry.disabled_at) == (account.id, "off@example.com", 1_800_000_000.0)
    with pytest.raises(errors.Unauthenticated) as disabled:
        store.authenticate("off@example.com", token)
    with pytest.raises(errors.Unauthenticated) as wrong:
        store.authenticate("on@example.com", "0" * 64)
    assert disabled.value.message == wrong.value.message == "Authorization failed"
    assert store.authenticate("on@example.com", other_token) == other  # the others are untouched
    again = store.disable("off@example.com", now=1_900_000_000.0)
    assert again.disabled_at == 1_800_000_000.0  # the first time is kept
    _, rotated = store.rotate_token("off@example.com")  # a new token does not enable it
    with pytest.raises(errors.Unauthenticated):
        store.authenticate("off@example.com", rotated)
    with pytest.raises(errors.NotFound):
        store.disable("nobody@example.com")


def test_entries_are_every_account_oldest_first(store: AccountStore) -> None:
    first, _ = store.create("first@example.com", "First")
    second, _ = store.create("second@example.com")
    store.disable("second@example.com", now=1_800_000_000.0)
    entries = store.entries()
    assert [(e.id, e.email, e.full_name) for e in entries] == [(first.id, "first@example.com", "First"),
                                                                 (second.id, "second@example.com", "")]
    assert entries[0].disabled_at is None and entries[1].disabled_at == 1_800_000_000.0
    assert abs(entries[0].created_at - time.time()) < 60
    with store.engine.connect() as conn:  # what the table holds is what is listed
        assert conn.execute(select(accounts.c.disabled_at).order_by(accounts.c.id)).scalars().all() == \
            [None, 1_800_000_000.0]


# -- the command ----------------------------------------------------------------------

def test_the_account_lifecycle_through_the_real_command(database_url: str, tmp_path: Path) -> None:
    upgraded = chartsnap(database_url, tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    current = chartsnap(database_url, tmp_path, "db", "current")
    assert current.returncode == 0 and re.fullmatch(r"database: (\w+)  head: \1\n", current.stdout), current.stdout

    loud = chartsnap(database_url, tmp_path, "user", "add", "Loud@Example.com", "--name", "Loud Person")
    assert loud.returncode == 0, loud.stderr
    lines = loud.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("created account loud@example.com (id ")
    assert TOKEN.fullmatch(lines[-1])  # the token alone on the last line

    quiet = chartsnap(database_url, tmp_path, "user", "add", "quiet@example.com", "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    assert TOKEN.fullmatch(quiet.stdout.removesuffix("\n")), repr(quiet.stdout)  # nothing else at all

    rotated = chartsnap(database_url, tmp_path, "user", "rotate-token", "quiet@example.com", "-q")
    assert rotated.returncode == 0 and TOKEN.fullmatch(rotated.stdout.removesuffix("\n"))
    assert rotated.stdout != quiet.stdout
    disabled = chartsnap(database_url, tmp_path, "user", "disable", "loud@example.com")
    assert disabled.returncode == 0 and disabled.stdout.startswith("disabled account loud@example.com")

    listed = chartsnap(database_url, tmp_path, "user", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["email"], r["name"]) for r in rows] == [("loud@example.com", "Loud Person"),
                                                      ("quiet@example.com", "")]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows[0]["disabled_at"]) and rows[1]["disabled_at"] is None
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["created_at"]) for r in rows)
    assert not any(TOKEN.search(json.dumps(r)) for r in rows)  # no token, no digest

    table = chartsnap(database_url, tmp_path, "user", "list")
    header, *body = table.stdout.splitlines()
    assert header.split() == ["ID", "EMAIL", "NAME", "CREATED", "DISABLED"]
    assert "loud@example.com" in body[0] and "Loud Person" in body[0] and body[0].split()[-1] != "-"
    assert body[1].split()[-1] == "-"

    store = AccountStore(migrated_engine(database_url))
    try:
        assert store.authenticate("quiet@example.com", rotated.stdout.strip()).email == "quiet@example.com"
        for email, token in (("quiet@example.com", quiet.stdout.strip()), ("loud@example.com", lines[-1])):
            with pytest.raises(errors.Unauthenticated):
                store.authenticate(email, token)
    finally:
        store.engine.dispose()


def test_refusals_exit_1_with_the_reason(database_url: str, tmp_path: Path) -> None:
    assert chartsnap(database_url, tmp_path, "db", "upgrade").returncode == 0
    assert chartsnap(database_url, tmp_path, "user", "add", "dup@example.com", "-q").returncode == 0
    for argv, words in ((("user", "add", "DUP@example.com"), "an account for dup@example.com already exists"),
                        (("user", "add", "not-an-email"), "email is not a valid e-mail address"),
                        (("user", "rotate-token", "ghost@example.com"), "no account for ghost@example.com"),
                        (("user", "disable", "ghost@example.com"), "no account for ghost@example.com")):
        done = chartsnap(database_url, tmp_path, *argv)
        assert done.returncode == exit_codes.REFUSED and done.stdout == "", (argv, done.stdout)
        assert done.stderr == f"chartsnap: {words}\n", (argv, done.stderr)


def test_a_schema_not_current_is_refused_and_names_the_upgrade(database_url: str, tmp_path: Path) -> None:
    done = chartsnap(database_url, tmp_path, "user", "list")
    assert done.returncode == exit_codes.REFUSED and "chartsnap db upgrade" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_database_that_cannot_be_reached_exits_3(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://chartsnap:s3cret-password@127.0.0.1:{port}/chartsnap"
    done = chartsnap(url, tmp_path, "user", "list")
    assert done.returncode == exit_codes.UNREACHABLE, done.stderr
    assert done.stderr.startswith("chartsnap: cannot reach the database: ") and "Traceback" not in done.stderr
    assert "s3cret-password" not in done.stderr


def test_bad_settings_exit_2_naming_the_variable(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTSNAP_")}
    env.update(CHARTSNAP_DATA_DIR=str(tmp_path), CHARTSNAP_DB_THREADS="many")
    bad = subprocess.run([str(CHARTSNAP), "user", "list"], env=env, capture_output=True, text=True,
                         timeout=CLI_TIMEOUT_S)
    assert bad.returncode == exit_codes.USAGE and "CHARTSNAP_DB_THREADS='many' is not an integer" in bad.stderr
