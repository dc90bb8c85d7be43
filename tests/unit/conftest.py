"""Fixtures for the unit tier: a real SQLite database in a temp dir, with accounts."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import Engine

from snapshot_svc.accounts import AccountStore
from snapshot_svc.database import make_engine
from tests.databases import migrated_engine


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """One SQLite file migrated to head; each test gets a copy (migrating
    each test's database would cost more than the test)."""
    path = tmp_path_factory.mktemp("schema") / "head.db"
    migrated_engine(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture
def db_engine(tmp_path, migrated_sqlite: Path) -> Iterator[Engine]:
    shutil.copyfile(migrated_sqlite, tmp_path / "t.db")
    engine = make_engine("sqlite:///" + str(tmp_path / "t.db"))
    yield engine
    engine.dispose()


@pytest.fixture
def acct(db_engine: Engine) -> int:
    """Id of an account row (the stores' foreign keys need one)."""
    account, _token = AccountStore(db_engine).create("owner@example.com", "Owner")
    return account.id


@pytest.fixture
def other_acct(db_engine: Engine) -> int:
    account, _token = AccountStore(db_engine).create("intruder@example.com", "Intruder")
    return account.id
