"""item hashes per feed, and the last parse's path and time

Revision ID: 0004
Revises: 0003
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401


revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('feed') as batch:
        batch.add_column(sa.Column('item_hashes', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('last_parse_path', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch.add_column(sa.Column('last_parse_seconds', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('feed') as batch:
        for column in ('last_parse_seconds', 'last_parse_path', 'item_hashes'):
            batch.drop_column(column)
