"""Alembic migrations, driven from code so no alembic.ini has to be found at run time."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest revision in migrations/versions (tests/test_migrations.py keeps the two
# equal). Every command checks the database first; one already there is seen with a
# single SELECT, without importing Alembic, which costs more than a whole 304 cycle.
HEAD_REVISION = "0005"


class MigrationError(Exception):
    """The database cannot be brought to the schema this version of the tracker needs."""


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def _scripts() -> ScriptDirectory:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def head_revision() -> str | None:
    return _scripts().get_current_head()


def known_revisions() -> set[str]:
    return {script.revision for script in _scripts().walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Apply pending migrations; returns (revision before, revision after)."""
    if _recorded_revisions(engine) == [HEAD_REVISION]:
        return HEAD_REVISION, HEAD_REVISION
    from alembic import command

    before = current_revision(engine)
    if before is not None and before not in known_revisions():
        raise MigrationError(
            f"the database is at revision {before}, which this version of the tracker does not know; "
            "it was migrated by a newer version: upgrade the tracker instead"
        )
    try:
        command.upgrade(alembic_config(engine), "head")
    except Exception as error:  # alembic raises many kinds; the caller needs one
        raise MigrationError(f"migrating the database failed: {error}") from error
    return before, current_revision(engine) or ""


def _recorded_revisions(engine: Engine) -> list[str] | None:
    """The revisions in alembic_version, or None when there is no such table (yet)."""
    try:
        with engine.connect() as connection:
            return [row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))]
    except DBAPIError:
        return None
