"""The database schema under migrations (Alembic, snapshot_svc/migrations).

`chartsnap db upgrade` applies them; `make run` and the Kubernetes deployment
run it before the service starts. The service itself never changes the
schema: it checks at start that the database is at this code's head and
stops, naming the command, when it is not — two replicas starting on a fresh
database no longer race to create it."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from chartsnap.service_main import StartRefused
from snapshot_svc.database import migrating
from snapshot_svc.migrations import baseline_tables

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The revision every database made by create_all() before migrations existed
# matches once its missing tables and columns are added (baseline_tables).
BASELINE = "0001"
UPGRADE_COMMAND = "chartsnap db upgrade"


class SchemaNotCurrent(StartRefused):
    """The database is not at the revision this code needs."""


def _config(connection=None) -> Config:  # noqa: ANN001 - a SQLAlchemy Connection
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The revision this code needs (there is one head)."""
    heads = ScriptDirectory.from_config(_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads ({', '.join(heads)}); merge them")
    return heads[0]


def current(engine: Engine) -> str | None:
    """The database's revision; None when it has none (empty, or made before migrations)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate the database to `revision`; returns (before, after). A database
    made before migrations existed gets its missing tables and columns, is
    recorded at the baseline, then migrated like any other. One transaction,
    under a lock: replicas that each run `chartsnap db upgrade` as they start
    take turns, and all but the first find nothing to do."""
    with migrating(engine) as conn:
        before = MigrationContext.configure(conn).get_current_revision()
        if before is None and set(inspect(conn).get_table_names()) & set(baseline_tables.metadata.tables):
            baseline_tables.bring_to_baseline(conn)  # what start-up used to do, then its column upgrade
            command.stamp(_config(conn), BASELINE)
        command.upgrade(_config(conn), revision)
        after = MigrationContext.configure(conn).get_current_revision()
    return before, after


def require_current(engine: Engine) -> str:
    """The database's revision if it is this code's head; else SchemaNotCurrent
    saying what to run."""
    have, need = current(engine), head()
    if have == need:
        return have
    if have is None:
        state = "has no chartsnap schema"
    elif have in {rev.revision for rev in ScriptDirectory.from_config(_config()).walk_revisions()}:
        state = f"is at schema revision {have}, behind {need}"
    else:
        raise SchemaNotCurrent(f"the database is at schema revision {have}, which this version does not know "
                               f"(it needs {need}): it was migrated by a newer chartsnap")
    raise SchemaNotCurrent(f"the database {state}: run `{UPGRADE_COMMAND}` (with the same CHARTSNAP_DATABASE_URL) "
                           "first")
