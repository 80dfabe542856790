"""Alembic migrations, driven from code so no alembic.ini has to be found at run time."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class MigrationError(Exception):
    """The database cannot be brought to the schema this version of the tracker needs."""


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def _scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def head_revision() -> str | None:
    return _scripts().get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Apply pending migrations; returns (revision before, revision after)."""
    before = current_revision(engine)
    known = {script.revision for script in _scripts().walk_revisions()}
    if before is not None and before not in known:
        raise MigrationError(
            f"the database is at revision {before}, which this version of the tracker does not know; "
            "it was migrated by a newer version: upgrade the tracker instead"
        )
    try:
        command.upgrade(alembic_config(engine), "head")
    except Exception as error:  # alembic raises many kinds; the caller needs one
        raise MigrationError(f"migrating the database failed: {error}") from error
    return before, current_revision(engine) or ""
