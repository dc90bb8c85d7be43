"""Databases for the tests: a URL migrated to this code's head, the way
`chartsnap db upgrade` migrates a real one, and the `database` dimension.

The integration and end-to-end tiers run every test that touches a database
once per backend (test ids end in `[sqlite]` / `[postgresql]`); tests there
that touch none (the render and notifier workers) run once. The unit, faults
and security tiers stay on SQLite; tests of their own cover PostgreSQL where
it matters (the migrations, the fault test). PostgreSQL is one throwaway
cluster for the run (devstack.postgres), each test or stack on a database of
its own, so no test sees another's rows."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine

from devstack.postgres import ThrowawayPostgres
from snapshot_svc import schema
from snapshot_svc.database import make_engine

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
BACKENDS = (SQLITE, POSTGRESQL)
# The tiers (folders under tests/) that run on every backend; the others on SQLite only.
EVERY_BACKEND_TIERS = frozenset({"integration", "e2e"})


def backends_for(test_file: Path) -> tuple[str, ...]:
    """The backends a test in `test_file` runs on."""
    tier = test_file.resolve().relative_to(Path(__file__).resolve().parent).parts[0]
    return BACKENDS if tier in EVERY_BACKEND_TIERS else (SQLITE,)


@dataclass
class TestDatabases:
    """Fresh, empty databases of one backend: SQLite files under `root`, or
    databases in the run's PostgreSQL cluster."""

    __test__ = False  # not a test class, whatever its name

    backend: str
    root: Path
    cluster: ThrowawayPostgres | None = None
    _numbers: Iterator[int] = field(default_factory=itertools.count)

    def new_url(self, purpose: str) -> str:
        """The URL of a new empty database, named after `purpose` (letters, digits, _)."""
        name = f"{purpose}_{next(self._numbers)}"
        if self.cluster is None:
            return f"sqlite:///{self.root / name}.sqlite"
        return self.cluster.create_database(name)


def migrated_engine(url: str) -> Engine:
    engine = make_engine(url)
    schema.upgrade(engine)
    return engine
