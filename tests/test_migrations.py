"""Migrations bring an empty database to the current schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from storage.engine import make_engine
from storage.migrate import MigrationError, current_revision, head_revision, upgrade

TABLES = {"feed", "entry", "entry_feed", "commitment", "evidence", "status_change", "delivery", "alembic_version"}


def test_an_empty_sqlite_file_is_migrated_to_the_head(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    before, after = upgrade(engine)
    assert before is None and after == head_revision()
    assert TABLES <= set(inspect(engine).get_table_names())
    assert upgrade(engine) == (head_revision(), head_revision())  # idempotent


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_a_database_from_a_newer_version_is_refused_with_a_clear_message(tmp_path, cli):
    engine = make_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'from-the-future'"))
    with pytest.raises(MigrationError, match="newer version"):
        upgrade(engine)
    (tmp_path / "config.toml").write_text("", encoding="utf-8")
    result = cli("--config", str(tmp_path / "config.toml"), "status")
    assert result.exit_code == 2 and "from-the-future" in result.stderr


def test_db_upgrade_reports_the_revision(tmp_path, cli):
    (tmp_path / "config.toml").write_text("", encoding="utf-8")
    result = cli("--config", str(tmp_path / "config.toml"), "db", "upgrade")
    assert result.exit_code == 0 and head_revision() in result.stdout


@pytest.mark.postgres
def test_an_empty_postgres_database_is_migrated_to_the_head(postgres_database):
    engine = make_engine(postgres_database)
    before, after = upgrade(engine)
    assert before is None and after == head_revision() == current_revision(engine)
    assert TABLES <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_the_shortcut_head_is_the_newest_migration():
    from storage.migrate import HEAD_REVISION

    assert HEAD_REVISION == head_revision()


def test_a_database_at_the_head_is_checked_without_loading_alembic(tmp_path):
    """Every command checks the schema; when nothing is to do, that is one SELECT."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    upgrade(make_engine(url))
    probe = (
        "import sys; from storage.engine import make_engine; from storage.migrate import upgrade; "
        f"print(upgrade(make_engine({url!r})), 'alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    from storage.migrate import HEAD_REVISION

    assert out.strip() == f"('{HEAD_REVISION}', '{HEAD_REVISION}') False"


def test_the_migrations_build_the_schema_the_tables_describe(tmp_path):
    """A column added to storage/tables.py without a migration (or the other way) fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import storage.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    upgrade(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert [difference for difference in differences if difference[0] not in ("remove_index", "add_index")] == []
