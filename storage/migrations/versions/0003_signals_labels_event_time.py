"""signal confidence and labels on evidence, event time on history, umbrella parents, trained models

Revision ID: 0003
Revises: 0002
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)


revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('evidence') as batch:
        batch.add_column(sa.Column('change', sa.Float(), nullable=True))
        batch.add_column(sa.Column('confidence', sa.Float(), nullable=False, server_default='1.0'))
        batch.add_column(sa.Column('signal_source', sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default='rule'))
        batch.add_column(sa.Column('needs_review', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('label_signal', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch.add_column(sa.Column('labelled_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch.add_column(sa.Column('labelled_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('label_note', sa.Text(), nullable=True))
    with op.batch_alter_table('status_change') as batch:
        batch.add_column(sa.Column('event_at', sa.DateTime(timezone=True), nullable=True))
    # History recorded before event time was kept: its record time is the best we know.
    op.execute("UPDATE status_change SET event_at = changed_at WHERE event_at IS NULL")
    with op.batch_alter_table('commitment') as batch:
        batch.add_column(sa.Column('parent_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch.create_index('ix_commitment_parent_id', ['parent_id'])
    op.create_table('signal_model',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trained_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('examples', sa.Integer(), nullable=False),
    sa.Column('labels', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('signal_model')
    with op.batch_alter_table('commitment') as batch:
        batch.drop_index('ix_commitment_parent_id')
        batch.drop_column('parent_id')
    with op.batch_alter_table('status_change') as batch:
        batch.drop_column('event_at')
    with op.batch_alter_table('evidence') as batch:
        for column in ('label_note', 'labelled_at', 'labelled_by', 'label_signal', 'needs_review', 'signal_source', 'confidence', 'change'):
            batch.drop_column(column)
