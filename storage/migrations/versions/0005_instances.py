"""instance registry, each lease's holder, fetches counted by outcome

Revision ID: 0005
Revises: 0004
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401


revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'instance',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('host', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('pid_started', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('process_space', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('command', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('tick_seconds', sa.Float(), nullable=False),
        sa.Column('last_tick_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_tick_seconds', sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    for table in ('feed', 'delivery'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('lease_holder', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    with op.batch_alter_table('feed') as batch:
        for column in ('fetches_ok', 'fetches_not_modified', 'fetches_failed'):
            batch.add_column(sa.Column(column, sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('feed') as batch:
        for column in ('fetches_failed', 'fetches_not_modified', 'fetches_ok'):
            batch.drop_column(column)
    for table in ('delivery', 'feed'):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('lease_holder')
    op.drop_table('instance')
